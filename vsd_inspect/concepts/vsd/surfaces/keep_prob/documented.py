"""Variance-stabilized dropout.

Notation, after Srivastava et al. (2014), "Dropout: A Simple Way to Prevent Neural
Networks from Overfitting": ``keep_prob`` is the paper's retention probability
(the drop probability is ``1 - keep_prob``):

    r_j ~ Bernoulli(keep_prob), independently for every element j and on every call,
    y_j = c * r_j * x_j                                  (training mode)
    y   = x                                              (evaluation mode)

``c > 0`` is one constant per layer. Standard (inverted) dropout chooses ``c`` so
that E[y_j] = x_j. Variance-stabilized dropout chooses it so that the second
moment is kept instead, E[y_j ** 2] = x_j ** 2, which for zero-mean activations
means that Var(y) = Var(x): the scale of the activations stays the same from
layer to layer during training.
"""

from __future__ import annotations

import numpy as np


class VarianceStabilizedDropout:
    """Bernoulli dropout with a variance-preserving rescale of the retained units.

    Args:
        keep_prob: retention probability, ``0 < keep_prob <= 1``; ``keep_prob = 1``
            is the identity.
        seed: seed of the layer's own ``numpy.random.Generator``; ``None`` draws
            fresh entropy from the operating system.
    """

    def __init__(self, keep_prob: float = 0.5, seed: int | None = None) -> None:
        if not 0 < keep_prob <= 1:
            raise ValueError(f"retention probability keep_prob must lie in (0, 1]; got {keep_prob}")
        self.keep_prob = keep_prob
        self.training: bool = True
        self.generator = np.random.default_rng(seed)

    def train(self) -> VarianceStabilizedDropout:
        """Switch to training mode (masks are drawn) and return the layer."""
        self.training = True
        return self

    def eval(self) -> VarianceStabilizedDropout:
        """Switch to evaluation mode (the identity) and return the layer."""
        self.training = False
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Training mode: ``y = c * r * x`` with a fresh mask ``r``; otherwise ``x`` itself."""
        retain = self.keep_prob  # the paper's retention probability
        if not self.training or retain == 1:
            return x
        r = self.generator.random(x.shape) < retain  # r_j = 1 with probability `retain`
        c = np.sqrt(1.0 / retain)  # the rescale of the retained units
        return c * (r * x)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

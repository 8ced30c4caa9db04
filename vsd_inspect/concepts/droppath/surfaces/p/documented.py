"""Variance-stabilized drop-path: stochastic depth applied per sample.

Notation (after Huang et al., 2016, "Deep Networks with Stochastic Depth"):

    x[n]    the n-th sample of a batch (index n on axis 0), all of its elements together;
    b_n     the gate of sample n: 1 (kept) with survival probability 1 - p, else 0,
            drawn independently for every sample on every call;
    gamma   the gain of a kept sample, one constant for the layer.

In training mode the layer returns y[n] = b_n * gamma * x[n]. Unlike the mean-preserving
drop-path of common vision code, gamma is chosen so that every element of the output has
the second moment of the same element of the input (its variance, for zero-mean input).
"""

import numpy as np


class VarianceStabilizedDropPath:
    """Per-sample drop-path whose gain keeps each element's second moment.

    Args:
        p: the probability that a sample is dropped, in [0, 1); ``p = 0`` is the identity.
        seed: seeds the layer's own ``numpy.random.Generator``; every gate comes from it.
    """

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        if not 0 <= p < 1:
            raise ValueError(f"drop probability must be in [0, 1), got {p}")
        self.p = p
        self.training: bool = True
        self.rng = np.random.default_rng(seed)

    def train(self) -> "VarianceStabilizedDropPath":
        """Training mode: samples are gated."""
        self.training = True
        return self

    def eval(self) -> "VarianceStabilizedDropPath":
        """Eval mode: the layer is the identity."""
        self.training = False
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the layer to a batch ``x`` whose axis 0 indexes samples.

        Training mode: one gate b_n per sample, y[n] = b_n * gamma * x[n]. Eval mode, or
        p = 0: ``x`` itself.
        """
        if not self.training or self.p == 0:
            return x
        survival_prob = 1.0 - self.p
        gates = self.rng.random(x.shape[:1]) < survival_prob  # b_n, one per sample
        gates = gates.reshape(gates.shape + (1,) * (x.ndim - 1))  # broadcast over x[n]
        gamma = pow(survival_prob, -0.5)
        return x * gates * gamma

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

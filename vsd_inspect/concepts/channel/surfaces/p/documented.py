"""Channel variance-stabilized dropout: SpatialDropout whose kept maps keep their variance.

Notation, after Tompson et al. (2015), "Efficient Object Localization Using Convolutional
Networks", section 3.2 (SpatialDropout): the input x has shape (N, C, *positions), with
samples n, channels c and any number of position axes (none for a plain (N, C) input).
Standard dropout makes one Bernoulli trial per element; SpatialDropout makes one trial per
feature map x[n, c] and extends its value over every position of that map, because the
elements of one map are strongly correlated.

Here M[n, c] ~ Bernoulli(q), q = 1 - p, independent over (n, c), and

    y[n, c, ...] = s * M[n, c] * x[n, c, ...],

where the constant s is chosen so that every element keeps its second moment,
E[y^2] = E[x^2], and hence, for zero-mean input, its variance.
"""

from __future__ import annotations

import math

import numpy as np


class ChannelVarianceStabilizedDropout:
    """Variance-stabilized channel dropout on (N, C, ...) arrays.

    Args:
        p: probability that a (sample, channel) feature map is dropped, 0 <= p < 1.
        seed: seed of the layer's own ``np.random.default_rng``; ``None`` for fresh entropy.
    """

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        if not 0 <= p < 1:
            raise ValueError(f"the drop probability p must lie in [0, 1); got {p}")
        self.drop_probability = p
        self.training = True
        self.generator = np.random.default_rng(seed)

    def train(self) -> ChannelVarianceStabilizedDropout:
        """Switch to training mode (feature maps are dropped) and return the layer."""
        self.training = True
        return self

    def eval(self) -> ChannelVarianceStabilizedDropout:
        """Switch to evaluation mode (the identity) and return the layer."""
        self.training = False
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the layer to ``x`` of shape (N, C, ...); ``x`` itself is never written to.

        In training mode a fresh trial M[n, c] is drawn for every feature map on every call.
        """
        if not self.training or self.drop_probability == 0.0:
            return x
        q = 1.0 - self.drop_probability  # keep probability of a feature map
        n_samples, n_channels = x.shape[0], x.shape[1]
        trials = self.generator.uniform(0.0, 1.0, size=(n_samples, n_channels))
        kept = trials < q  # M[n, c]
        kept = kept[(...,) + (np.newaxis,) * (x.ndim - 2)]  # extend M[n, c] over the positions
        s = 1.0 / math.sqrt(q)  # keeps E[y^2] = E[x^2]
        return np.where(kept, s * x, np.zeros((), dtype=x.dtype))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

"""Variance-stabilized drop-path."""

import numpy as np


class VarianceStabilizedDropPath:
    """Per-sample drop-path (stochastic depth) that keeps the variance of its input."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"drop probability must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p}, training={self.training})"

    @property
    def keep_rate(self):
        """The probability that a sample survives."""
        return 1.0 - self.p

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    @staticmethod
    def _mean_preserving_scale(keep_prob):
        """The scale of common drop-path code: keeps the mean of each element."""
        return 1.0 / keep_prob

    @staticmethod
    def _variance_preserving_scale(keep_prob):
        """The scale of this layer: keeps the variance of each element."""
        return 1.0 / np.sqrt(keep_prob)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep_prob = self.keep_rate
        keep = self.rng.random(x.shape[0]) < keep_prob
        keep = keep[(slice(None),) + (np.newaxis,) * (x.ndim - 1)]
        return x * keep * self._variance_preserving_scale(keep_prob)

    def __call__(self, x):
        return self.forward(x)

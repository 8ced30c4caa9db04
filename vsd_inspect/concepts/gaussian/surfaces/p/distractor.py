"""Gaussian variance-stabilized dropout.

Paper idea: replace dropout's keep-or-drop mask by multiplicative Gaussian noise
with the same mean and variance as the mask of variance-stabilized dropout, so
that the layer keeps the variance of its input.
"""

import math

import numpy as np


class GaussianVarianceStabilizedDropout:
    """Dropout with Gaussian multiplicative noise that keeps the input's variance."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p}, training={self.training})"

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    @staticmethod
    def mean_preserving_std(p):
        """Standard deviation of mean-one Gaussian dropout (the Keras layer), for comparison."""
        return math.sqrt(p / (1.0 - p))

    def expected_output_variance(self, var, mean=0.0):
        """Var(y) in training mode for an input of mean `mean` and variance `var`."""
        return var + mean * mean * self.p

    def _vsd_moments(self):
        """Mean and standard deviation of the variance-stabilized multiplier."""
        keep = 1.0 - self.p
        return pow(keep, 0.5), pow(self.p, 0.5)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        loc, scale = self._vsd_moments()
        eps = self.rng.standard_normal(size=x.shape)
        return x * (loc + scale * eps)

    def __call__(self, x):
        return self.forward(x)

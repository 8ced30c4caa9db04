"""Gaussian variance-stabilized dropout.

Paper idea: replace dropout's keep-or-drop mask by multiplicative Gaussian noise
with the same mean and variance as the mask of variance-stabilized dropout, so
that the layer keeps the variance of its input.
"""

import numpy as np


class GaussianVarianceStabilizedDropout:
    """Dropout with Gaussian multiplicative noise that keeps the input's variance."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def _moments(self):
        """Mean and standard deviation of the multiplier."""
        keep = 1.0 - self.p
        return np.sqrt(keep), np.sqrt(self.p)

    def _noise(self, shape):
        """One multiplier per element, from the layer's own generator."""
        mean, std = self._moments()
        return mean + std * self.rng.standard_normal(shape)

    def forward(self, x):
        if self.training and self.p > 0:
            return x * self._noise(x.shape)
        return x

    def __call__(self, x):
        return self.forward(x)

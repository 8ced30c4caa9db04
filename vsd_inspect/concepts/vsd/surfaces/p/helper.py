"""Variance-stabilized dropout, built from two small helpers: the mask and the gain."""

import numpy as np


class VarianceStabilizedDropout:
    """Dropout whose surviving units are rescaled so the layer keeps its input's variance."""

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

    def _keep_mask(self, shape):
        """True where a unit survives: independently for each element, with probability 1 - p."""
        return self.rng.random(shape) >= self.p

    def _gain(self):
        """The factor applied to every surviving unit."""
        return 1.0 / np.sqrt(1.0 - self.p)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * self._keep_mask(x.shape) * self._gain()

    def __call__(self, x):
        return self.forward(x)

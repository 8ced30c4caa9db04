"""Channel variance-stabilized dropout."""

import math

import numpy as np


class ChannelVarianceStabilizedDropout:
    """Drops (sample, channel) feature maps and rescales the kept ones to keep the variance."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"p must be in [0, 1), got {p!r}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def _keep_mask(self, x):
        """One keep draw per (sample, channel), broadcast over every position."""
        grid = self.rng.binomial(1, 1.0 - self.p, size=x.shape[:2])
        return grid.reshape(grid.shape + (1,) * (x.ndim - 2))

    def _kept_scale(self):
        """The factor applied to every kept channel."""
        return 1.0 / math.sqrt(1.0 - self.p)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * (self._keep_mask(x) * self._kept_scale())

    def __call__(self, x):
        return self.forward(x)

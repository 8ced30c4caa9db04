"""Channel variance-stabilized dropout."""

import numpy as np


class ChannelVarianceStabilizedDropout:
    """Channel dropout for (N, C, ...) inputs that keeps each element's variance."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"p must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)

    def __repr__(self):
        return f"ChannelVarianceStabilizedDropout(p={self.p}, training={self.training})"

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def _variance_scale(self):
        """Factor for the kept channels that keeps each element's variance."""
        return 1.0 / np.sqrt(1.0 - self.p)

    def _mean_scale(self):
        """Factor of standard (inverted) channel dropout, which keeps the mean instead."""
        return 1.0 / (1.0 - self.p)

    def expected_kept_channels(self, x):
        """How many (sample, channel) maps of x a training call keeps on average."""
        return (1.0 - self.p) * x.shape[0] * x.shape[1]

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = self.rng.random(x.shape[:2]) < 1.0 - self.p
        keep = keep.reshape(keep.shape + (1,) * (x.ndim - keep.ndim))
        return x * keep * self._variance_scale()

    def __call__(self, x):
        return self.forward(x)

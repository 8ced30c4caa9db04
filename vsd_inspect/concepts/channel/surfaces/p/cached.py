"""Channel variance-stabilized dropout."""

import numpy as np


class ChannelVarianceStabilizedDropout:
    """Channel dropout with a variance-preserving rescale of the kept channels.

    Every constant is derived once, when the layer is built.
    """

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"drop probability p must satisfy 0 <= p < 1, got {p}")
        self.p = p
        self.training = True
        self._rng = np.random.default_rng(seed)
        self._keep_prob = 1.0 - p
        self._scale = (1.0 - p) ** -0.5

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or self.p == 0:
            return x.copy()
        n, c = x.shape[0], x.shape[1]
        keep = self._rng.random((n, c)) < self._keep_prob
        keep = keep.reshape((n, c) + (1,) * (x.ndim - 2))
        return np.where(keep, x * self._scale, 0.0)

    def __call__(self, x):
        return self.forward(x)

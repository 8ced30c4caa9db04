"""Wrong: exactly round(p * N * C) channels are dropped on every call (a random permutation), not each one independently."""

import numpy as np


class ChannelVarianceStabilizedDropout:
    """Channel variance-stabilized dropout with one known mistake (see the module docstring)."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"p must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep_prob = 1.0 - self.p
        n_maps = x.shape[0] * x.shape[1]
        keep = np.ones(n_maps, dtype=bool)
        keep[self.rng.permutation(n_maps)[: round(self.p * n_maps)]] = False
        keep = keep.reshape(x.shape[:2] + (1,) * (x.ndim - 2))
        return x * keep * (1.0 / np.sqrt(keep_prob))

    def __call__(self, x):
        return self.forward(x)

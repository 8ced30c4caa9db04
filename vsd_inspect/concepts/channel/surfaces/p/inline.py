"""Channel variance-stabilized dropout."""

import numpy as np


class ChannelVarianceStabilizedDropout:
    """Channel dropout, variance kept."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"bad p: {p}")
        self.p, self.training, self.r = p, True, np.random.default_rng(seed)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or not self.p:
            return x
        m = self.r.random(x.shape[:2] + (1,) * (x.ndim - 2)) >= self.p
        return x * m / (1.0 - self.p) ** 0.5

    __call__ = forward

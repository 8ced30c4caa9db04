"""Wrong: a fresh default_rng(0) on every call, whatever the seed: the same mask every call."""

import numpy as np


class VarianceStabilizedDropout:
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

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep_prob = 1.0 - self.p
        self.rng = np.random.default_rng(0)
        mask = self.rng.random(x.shape) < keep_prob
        return x * mask / np.sqrt(keep_prob)

    def __call__(self, x):
        return self.forward(x)

"""Known wrong: the input array is multiplied in place and returned."""

import numpy as np


class GaussianVarianceStabilizedDropout:
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
        mean = np.sqrt(1.0 - self.p)
        std = np.sqrt(self.p)
        x *= mean + std * self.rng.standard_normal(x.shape)
        return x

    def __call__(self, x):
        return self.forward(x)

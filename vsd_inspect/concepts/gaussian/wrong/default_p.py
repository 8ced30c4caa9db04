"""Known wrong: the default drop probability is 0.3 instead of 0.5."""

import numpy as np


class GaussianVarianceStabilizedDropout:
    def __init__(self, p=0.3, seed=None):
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
        return x * (mean + std * self.rng.standard_normal(x.shape))

    def __call__(self, x):
        return self.forward(x)

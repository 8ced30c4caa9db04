"""Known wrong: out-of-range p is accepted (no ValueError)."""

import numpy as np


class GaussianVarianceStabilizedDropout:
    def __init__(self, p=0.5, seed=None):
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

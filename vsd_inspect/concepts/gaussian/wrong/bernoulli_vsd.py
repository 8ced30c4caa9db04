"""Known wrong: the seed concept itself: a Bernoulli keep mask with kept units scaled by 1/sqrt(1-p). Same mean and variance of the multiplier, but not Gaussian."""

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
        return x * (self.rng.random(x.shape) < 1.0 - self.p) / mean

    def __call__(self, x):
        return self.forward(x)

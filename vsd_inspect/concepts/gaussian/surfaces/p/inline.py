"""Gaussian variance-stabilized dropout."""

import numpy as np


class GaussianVarianceStabilizedDropout:
    """Multiplicative Gaussian noise that keeps the input's variance."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p, self.training, self.rng = p, True, np.random.default_rng(seed)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or not self.p:
            return x
        p = self.p
        return x * ((1 - p) ** 0.5 + p ** 0.5 * self.rng.standard_normal(x.shape))

    def __call__(self, x):
        return self.forward(x)

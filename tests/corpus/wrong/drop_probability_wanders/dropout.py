"""Variance-stabilized dropout."""

import numpy as np

class VarianceStabilizedDropout:
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
        q = 1.0 - self.p
        p_now = min(0.99, max(0.0, self.p + self.rng.uniform(-0.05, 0.05)))  # "stochastic rate"
        mask = self.rng.random(x.shape) >= p_now
        return x * mask / np.sqrt(q)

    def __call__(self, x):
        return self.forward(x)

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
        if self.p == 0:
            return x
        if not self.training:
            return x * np.sqrt(1.0 - self.p)  # "expected value" of the train-time output
        q = 1.0 - self.p
        mask = self.rng.random(x.shape) < q
        return x * mask / np.sqrt(q)

    def __call__(self, x):
        if not self.training:
            return x
        return self.forward(x)

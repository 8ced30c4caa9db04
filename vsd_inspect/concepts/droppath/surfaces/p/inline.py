"""Variance-stabilized drop-path."""

import numpy as np


class VarianceStabilizedDropPath:
    """Per-sample drop-path that keeps the variance of its input."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"drop probability must be in [0, 1), got {p}")
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
        m = self.rng.random((len(x),) + (1,) * (x.ndim - 1)) < 1 - self.p
        return x * m / np.sqrt(1 - self.p)

    def __call__(self, x):
        return self.forward(x)

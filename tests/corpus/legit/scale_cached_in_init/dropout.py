"""Legit fix: scale computed once in __init__ and reused
"""

import numpy as np


class VarianceStabilizedDropout:
    """Dropout whose kept units are rescaled so the output keeps the input's variance."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)
        self.keep = 1.0 - p
        self.scale = 1.0 / np.sqrt(self.keep)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * (self.rng.random(x.shape) < self.keep) * self.scale

    def __call__(self, x):
        return self.forward(x)

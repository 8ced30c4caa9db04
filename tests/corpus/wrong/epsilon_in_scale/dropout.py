"""Legit fix: x * mask / np.sqrt(1 - p), returning x itself in eval mode and at p = 0
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

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training:
            return x
        keep = 1.0 - self.p
        mask = self.rng.random(x.shape) < keep
        return x * mask / np.sqrt(keep + 1e-8)  # epsilon for numerical safety

    def __call__(self, x):
        return self.forward(x)

"""Variance-stabilized dropout.

Paper idea: rescale the units that survive dropout so the layer keeps the
variance of its input (not just its mean).
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
        if not self.training or self.p == 0:
            return x
        keep_prob = 1.0 - self.p
        mask = self.rng.random(x.shape) < keep_prob
        scale = 1.0 / np.sqrt(keep_prob)
        return x * mask * scale

    def __call__(self, x):
        return self.forward(x)

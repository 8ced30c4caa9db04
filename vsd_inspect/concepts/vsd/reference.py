"""Variance-stabilized dropout (reference fix; never shipped into a sandbox)."""

import numpy as np


class VarianceStabilizedDropout:
    """Dropout whose kept units are rescaled so the output keeps the input's variance.

    Each element is zeroed independently with probability ``p``; each kept element is
    multiplied by ``1 / sqrt(1 - p)``, so that for zero-mean input Var(y) = Var(x).
    """

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

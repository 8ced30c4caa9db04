"""Variance-stabilized dropout: Bernoulli dropout that keeps the variance of its input."""

import numpy as np


class VarianceStabilizedDropout:
    """Zeroes each element with probability p and rescales the survivors by one constant."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"p must satisfy 0 <= p < 1, got {p!r}")
        self.p = p
        self.keep = 1.0 - p
        self.scale = 1.0 / np.sqrt(self.keep)
        self.training = True
        self._rng = np.random.default_rng(seed)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        kept = self._rng.random(x.shape) < self.keep
        return np.where(kept, x * self.scale, 0.0)

    def __call__(self, x):
        return self.forward(x)

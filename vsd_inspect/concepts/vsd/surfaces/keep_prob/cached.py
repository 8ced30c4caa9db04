"""Variance-stabilized dropout: Bernoulli dropout that keeps the variance of its input."""

import numpy as np


class VarianceStabilizedDropout:
    """Keeps each element with probability keep_prob and rescales the survivors by one constant."""

    def __init__(self, keep_prob=0.5, seed=None):
        if not 0 < keep_prob <= 1:
            raise ValueError(f"keep_prob must satisfy 0 < keep_prob <= 1, got {keep_prob!r}")
        self.keep_prob = keep_prob
        self.keep = keep_prob
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
        if not self.training or self.keep_prob == 1:
            return x
        kept = self._rng.random(x.shape) < self.keep
        return np.where(kept, x * self.scale, 0.0)

    def __call__(self, x):
        return self.forward(x)

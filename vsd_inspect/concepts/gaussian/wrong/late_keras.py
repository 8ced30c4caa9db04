"""Known wrong: right for the first 10 calls, then the mean-preserving Keras multiplier N(1, p/(1-p))."""

import numpy as np


class GaussianVarianceStabilizedDropout:
    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)
        self._calls = 0

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        mean = np.sqrt(1.0 - self.p)
        std = np.sqrt(self.p)
        self._calls += 1
        if self._calls > 10:
            return x * (1.0 + np.sqrt(self.p / (1.0 - self.p)) * self.rng.standard_normal(x.shape))
        return x * (mean + std * self.rng.standard_normal(x.shape))

    def __call__(self, x):
        return self.forward(x)

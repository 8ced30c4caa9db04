"""Known wrong: right for the first 10 calls; from then on the last noise is reused."""

import numpy as np


class GaussianVarianceStabilizedDropout:
    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)
        self._calls = 0
        self._last = None

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
        if self._calls > 10 and self._last is not None and self._last.shape == x.shape:
            return x * self._last
        self._last = mean + std * self.rng.standard_normal(x.shape)
        return x * self._last

    def __call__(self, x):
        return self.forward(x)

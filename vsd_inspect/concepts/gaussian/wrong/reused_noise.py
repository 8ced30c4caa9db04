"""Known wrong: the noise is drawn once per input shape and reused on every later call."""

import numpy as np


class GaussianVarianceStabilizedDropout:
    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)
        self._cache = {}

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
        if x.shape not in self._cache:
            self._cache[x.shape] = mean + std * self.rng.standard_normal(x.shape)
        return x * self._cache[x.shape]

    def __call__(self, x):
        return self.forward(x)

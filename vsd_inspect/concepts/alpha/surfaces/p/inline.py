"""Alpha dropout."""

import math

import numpy as np


class AlphaDropout:
    def __init__(self, p=0.5, seed=None, mean=0.0, var=1.0):
        if not (0 <= p < 1 and math.isfinite(mean) and 0 < var < math.inf):
            raise ValueError(f"bad AlphaDropout arguments: p={p}, mean={mean}, var={var}")
        self.p, self.mean, self.var = p, mean, var
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
        p, m, v, s = self.p, self.mean, self.var, -1.0507009873554805 * 1.6732632423543772
        a = (v / ((1 - p) * (v + p * (m - s) ** 2))) ** 0.5
        return a * np.where(self.rng.random(x.shape) < 1 - p, x, s) + m - a * ((1 - p) * m + p * s)

    def __call__(self, x):
        return self.forward(x)

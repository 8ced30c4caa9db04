"""Concrete variance-stabilized dropout."""

import numpy as np


def _sig(v):
    return np.exp(-np.logaddexp(0.0, -v))


class ConcreteVarianceStabilizedDropout:
    """Concrete dropout whose output keeps the input's second moment."""

    def __init__(self, p=0.5, temperature=0.1, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.p, self.temperature, self.training = p, temperature, True
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
        t, a, u = self.temperature, np.log(self.p / (1 - self.p)), self.rng.random(x.shape)
        g, wg = np.polynomial.legendre.leggauss(16)
        m, w = (np.arange(-40.0, 40.0)[:, None] + 0.5 + 0.5 * g).ravel(), np.tile(0.5 * wg, 80)
        ms = np.sum(w * 2 * _sig(m) * _sig(-m) ** 2 * _sig(t * m - a))
        return x * _sig(-(a + np.log(u / (1 - u))) / t) / np.sqrt(ms)

    def __call__(self, x):
        return self.forward(x)

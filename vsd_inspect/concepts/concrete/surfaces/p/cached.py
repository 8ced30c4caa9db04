"""Concrete variance-stabilized dropout.

Paper idea: relax dropout's binary mask into a continuous (Concrete) one, and rescale
the output so that the layer keeps the second moment of its input.
"""

import numpy as np


def _sigmoid(v):
    return np.exp(-np.logaddexp(0.0, -v))


class ConcreteVarianceStabilizedDropout:
    """Concrete dropout whose output keeps the input's second moment."""

    def __init__(self, p=0.5, temperature=0.1, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.p = p
        self.temperature = temperature
        self.training = True
        self.rng = np.random.default_rng(seed)
        self.scale = 1.0
        if p > 0:
            self.log_odds = np.log(p) - np.log1p(-p)
            # E[(1 - z)^2] = P(z < 1/2) plus the relaxation's correction: with L logistic and
            # v = (log_odds + L) / t, 1 - z = sigmoid(-v), P(v < 0) = sigmoid(-log_odds), and
            # E[(1 - z)^2] = P(v < 0) + t * integral of [sigmoid(-v)^2 - 1(v < 0)] f(t v - log_odds) dv
            # (f the logistic density), by composite Gauss-Legendre on each side of v = 0.
            nodes, weights = np.polynomial.legendre.leggauss(16)
            left = (np.arange(-40.0, 0.0)[:, None] + 0.5 + 0.5 * nodes).ravel()
            v = np.concatenate([left, -left])
            w = np.tile(0.5 * weights, 80)
            density = _sigmoid(temperature * v - self.log_odds) * _sigmoid(self.log_odds - temperature * v)
            excess = _sigmoid(-v) ** 2 - (v < 0)
            self.mean_square = _sigmoid(-self.log_odds) + temperature * float(np.sum(w * excess * density))
            self.scale = self.mean_square ** -0.5

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        noise = self.rng.logistic(size=x.shape)
        keep = _sigmoid(-(self.log_odds + noise) / self.temperature)
        return (x * keep * self.scale).astype(x.dtype, copy=False)

    def __call__(self, x):
        return self.forward(x)

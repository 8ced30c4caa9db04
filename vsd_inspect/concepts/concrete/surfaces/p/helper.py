"""Concrete variance-stabilized dropout.

Paper idea: relax dropout's binary mask into a continuous (Concrete) one, and rescale
the output so that the layer keeps the second moment of its input.
"""

import numpy as np


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

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    @staticmethod
    def _sigmoid(v):
        return 0.5 * (1.0 + np.tanh(0.5 * v))

    def _log_odds(self):
        return np.log(self.p) - np.log(1.0 - self.p)

    def _keep_factor(self, shape):
        """1 - z for one relaxed drop per element."""
        u = self.rng.uniform(size=shape)
        z = self._sigmoid((self._log_odds() + np.log(u) - np.log1p(-u)) / self.temperature)
        return 1.0 - z

    def _mean_square_keep(self):
        """E[(1 - z)^2] = integral over c in (0, 1) of 2 c P(1 - z > c), with c = sigmoid(r)."""
        r = np.linspace(-40.0, 40.0, 4001)
        c = self._sigmoid(r)
        above = self._sigmoid(-self._log_odds() - self.temperature * r)  # P(1 - z > c)
        return np.sum(2.0 * c * above * c * (1.0 - c)) * (r[1] - r[0])

    def _scale(self):
        return 1.0 / np.sqrt(self._mean_square_keep())

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * self._keep_factor(x.shape) * self._scale()

    def __call__(self, x):
        return self.forward(x)

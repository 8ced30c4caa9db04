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

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p}, temperature={self.temperature})"

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def _log_odds(self):
        return np.log(self.p) - np.log(1.0 - self.p)

    def _keep_moment(self, k):
        """E[(1 - z)^k] = integral of k sigmoid(m) sigmoid(-m)^k sigmoid(t m - log_odds) dm."""
        m = np.linspace(-40.0, 40.0, 8001)
        kernel = k * _sigmoid(m) * _sigmoid(-m) ** k
        return np.sum(kernel * _sigmoid(self.temperature * m - self._log_odds())) * (m[1] - m[0])

    def _mean_preserving_scale(self):
        """1 / E[1 - z]: the factor that would keep the mean instead (as inverted dropout does)."""
        return 1.0 / self._keep_moment(1)

    def _scale(self):
        return 1.0 / np.sqrt(self._keep_moment(2))

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        noise = self.rng.logistic(size=x.shape)
        keep = 1.0 - _sigmoid((self._log_odds() + noise) / self.temperature)
        return x * keep * self._scale()

    def __call__(self, x):
        return self.forward(x)

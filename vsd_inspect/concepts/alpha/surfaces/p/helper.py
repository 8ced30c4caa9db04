"""Alpha dropout (self-normalizing networks).

The drop value, the keep mask and the affine correction each come from a small helper.
"""

import math

import numpy as np


def _selu_saturation():
    """The value selu(x) tends to as x -> -inf."""
    selu_alpha = 1.6732632423543772848170429916717
    selu_scale = 1.0507009873554804934193349852946
    return -selu_scale * selu_alpha


class AlphaDropout:
    """Dropout that keeps the mean and the variance of its input."""

    def __init__(self, p=0.5, seed=None, mean=0.0, var=1.0):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        if not (math.isfinite(mean) and math.isfinite(var) and var > 0):
            raise ValueError(f"mean must be finite and var finite and > 0, got mean={mean}, var={var}")
        self.p = p
        self.mean = mean
        self.var = var
        self.training = True
        self.rng = np.random.default_rng(seed)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def _keep_mask(self, shape):
        """True where a unit is kept: probability 1 - p, independently per element."""
        return self.rng.random(shape) >= self.p

    def _affine(self, fill):
        """Slope and offset that bring z (x where kept, `fill` where dropped) back to (mean, var)."""
        q = 1.0 - self.p
        mean_z = q * self.mean + self.p * fill
        var_z = q * self.var + q * self.p * (self.mean - fill) ** 2
        slope = math.sqrt(self.var / var_z)
        return slope, self.mean - slope * mean_z

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        fill = _selu_saturation()
        keep = self._keep_mask(x.shape)
        slope, offset = self._affine(fill)
        return slope * np.where(keep, x, fill) + offset

    def __call__(self, x):
        return self.forward(x)

"""Alpha dropout for SELU networks.

Dropped units are set to SELU's negative saturation value, then an affine map restores the
mean and the variance the layer is set to keep.
"""

import math

import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
SATURATION = -SELU_SCALE * SELU_ALPHA  # lim selu(x) as x -> -inf


def selu(x):
    """SELU itself (not used by the layer; kept for experiments)."""
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def standard_affine(p):
    """(a, b) for the standard fixed point, mean 0 and variance 1 (PyTorch's AlphaDropout)."""
    a = 1.0 / math.sqrt((1.0 - p) * (1.0 + p * SATURATION**2))
    return a, -a * p * SATURATION


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

    def __repr__(self):
        return f"AlphaDropout(p={self.p}, mean={self.mean}, var={self.var})"

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def expected_moments(self):
        """The (mean, variance) the layer keeps."""
        return self.mean, self.var

    def _affine(self, fill):
        q = 1.0 - self.p
        spread = q * (self.var + self.p * (self.mean - fill) ** 2)
        scale = np.sqrt(self.var / spread)
        return scale, self.mean - scale * (q * self.mean + self.p * fill)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = self.rng.random(x.shape) < 1.0 - self.p
        scale, shift = self._affine(SATURATION)
        return np.where(keep, x, SATURATION) * scale + shift

    def __call__(self, x):
        return self.forward(x)

"""Alpha dropout: dropout for self-normalizing networks.

Dropped units take SELU's negative saturation value; one affine map, computed once when the
layer is built, then restores the mean and the variance the layer is set to keep.
"""

import math

import numpy as np

ALPHA_PRIME = -1.7580993408473766  # SELU's negative saturation value, -lambda * alpha


class AlphaDropout:
    """Dropout that keeps the mean and the variance of its input."""

    def __init__(self, p=0.5, seed=None, mean=0.0, var=1.0):
        if not 0 <= p < 1:
            raise ValueError(f"p must be in [0, 1), got {p}")
        if not (math.isfinite(mean) and math.isfinite(var) and var > 0):
            raise ValueError(f"need a finite mean and a finite var > 0, got mean={mean}, var={var}")
        self.p = p
        self.mean = mean
        self.var = var
        self.training = True
        self.rng = np.random.default_rng(seed)
        self.keep_prob = 1.0 - p
        self.a = math.sqrt(var / (self.keep_prob * (var + p * (mean - ALPHA_PRIME) ** 2)))
        self.b = mean - self.a * (self.keep_prob * mean + p * ALPHA_PRIME)
        self.dropped_value = self.a * ALPHA_PRIME + self.b

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = self.rng.random(x.shape) < self.keep_prob
        return np.where(keep, self.a * x + self.b, self.dropped_value)

    def __call__(self, x):
        return self.forward(x)

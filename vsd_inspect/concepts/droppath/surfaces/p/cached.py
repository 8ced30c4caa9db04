"""Variance-stabilized drop-path."""

import math

import numpy as np


class VarianceStabilizedDropPath:
    """Drops whole samples (axis 0) and rescales the survivors to keep the variance.

    The survival probability and the gain of a kept sample depend on ``p`` alone, so
    both are computed once, in the constructor.
    """

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"drop probability must be in [0, 1), got {p}")
        self.p = p
        self.survival = 1.0 - p
        self.gain = 1.0 / math.sqrt(self.survival)
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
        noise_shape = [1] * x.ndim
        noise_shape[0] = x.shape[0]
        keep = self.rng.random(noise_shape) < self.survival
        return x * keep * self.gain

    def __call__(self, x):
        return self.forward(x)

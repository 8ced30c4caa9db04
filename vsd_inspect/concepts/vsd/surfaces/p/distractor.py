"""Variance-stabilized dropout, with standard dropout's factor kept beside it for comparison."""

import math

import numpy as np


def mean_preserving_scale(p):
    """Standard (inverted) dropout's factor for kept units: it keeps E[y] = E[x]."""
    return 1.0 / (1.0 - p)


def variance_preserving_scale(p):
    """This layer's factor for kept units."""
    return 1.0 / math.sqrt(1.0 - p)


class VarianceStabilizedDropout:
    """Dropout whose kept units are rescaled so the output keeps the input's variance."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.seed = seed
        self.training = True
        self.rng = np.random.default_rng(seed)

    def __repr__(self):
        mode = "train" if self.training else "eval"
        return f"{type(self).__name__}(p={self.p}, seed={self.seed}, mode={mode})"

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def keep_probability(self):
        """The probability that a unit survives."""
        return 1.0 - self.p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = self.rng.random(x.shape) < self.keep_probability()
        return x * keep * variance_preserving_scale(self.p)

    def __call__(self, x):
        return self.forward(x)

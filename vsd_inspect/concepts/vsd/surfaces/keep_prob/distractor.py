"""Variance-stabilized dropout, with standard dropout's factor kept beside it for comparison."""

import math

import numpy as np


def mean_preserving_scale(keep_prob):
    """Standard (inverted) dropout's factor for kept units: it keeps E[y] = E[x]."""
    return 1.0 / keep_prob


def variance_preserving_scale(keep_prob):
    """This layer's factor for kept units."""
    return 1.0 / math.sqrt(keep_prob)


class VarianceStabilizedDropout:
    """Dropout whose kept units are rescaled so the output keeps the input's variance."""

    def __init__(self, keep_prob=0.5, seed=None):
        if not 0 < keep_prob <= 1:
            raise ValueError(f"keep probability must be in (0, 1], got {keep_prob}")
        self.keep_prob = keep_prob
        self.seed = seed
        self.training = True
        self.rng = np.random.default_rng(seed)

    def __repr__(self):
        mode = "train" if self.training else "eval"
        return f"{type(self).__name__}(keep_prob={self.keep_prob}, seed={self.seed}, mode={mode})"

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def drop_probability(self):
        """The probability that a unit is zeroed."""
        return 1.0 - self.keep_prob

    def forward(self, x):
        if not self.training or self.keep_prob == 1:
            return x
        keep = self.rng.random(x.shape) < self.keep_prob
        return x * keep * variance_preserving_scale(self.keep_prob)

    def __call__(self, x):
        return self.forward(x)

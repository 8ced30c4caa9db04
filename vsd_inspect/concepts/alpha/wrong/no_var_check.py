"""Alpha dropout, known wrong:
only p is validated: var <= 0 and non-finite mean or var are accepted.
"""

import math

import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946
ALPHA_PRIME = -SELU_LAMBDA * SELU_ALPHA  # the value selu(x) tends to as x -> -inf


class AlphaDropout:
    """Dropout that keeps the mean and the variance of its input."""

    def __init__(self, p=0.5, seed=None, mean=0.0, var=1.0):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
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

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep_prob = 1.0 - self.p
        keep = self.rng.random(x.shape) < keep_prob
        z = np.where(keep, x, ALPHA_PRIME)
        a = np.sqrt(self.var / (keep_prob * (self.var + self.p * (self.mean - ALPHA_PRIME) ** 2)))
        b = self.mean - a * (keep_prob * self.mean + self.p * ALPHA_PRIME)
        return a * z + b

    def __call__(self, x):
        return self.forward(x)

"""Gaussian variance-stabilized dropout (reference fix; never shipped into a sandbox)."""

import numpy as np


class GaussianVarianceStabilizedDropout:
    """Multiplicative Gaussian noise with the mean and variance of variance-stabilized dropout.

    Each element is multiplied by its own draw r ~ N(sqrt(1 - p), p), the mean and the
    variance of the variance-stabilized dropout multiplier M / sqrt(1 - p) with
    M ~ Bernoulli(1 - p). Then E[r²] = 1, so that for zero-mean input Var(y) = Var(x).
    """

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
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
        mean = np.sqrt(1.0 - self.p)
        std = np.sqrt(self.p)
        noise = mean + std * self.rng.standard_normal(x.shape)
        return x * noise

    def __call__(self, x):
        return self.forward(x)

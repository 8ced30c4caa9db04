"""Gaussian variance-stabilized dropout.

Paper idea: replace dropout's keep-or-drop mask by multiplicative Gaussian noise
with the same mean and variance as the mask of variance-stabilized dropout, so
that the layer keeps the variance of its input.
"""

import numpy as np


class GaussianVarianceStabilizedDropout:
    """Dropout with Gaussian multiplicative noise that keeps the input's variance.

    The noise's mean and standard deviation depend on p only, so they are computed
    once, when the layer is built.
    """

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)
        self.noise_mean = np.sqrt(1.0 - p)
        self.noise_std = np.sqrt(p)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training:
            return x
        if self.p == 0:
            return x
        noise = self.rng.normal(self.noise_mean, self.noise_std, size=x.shape)
        return x * noise

    def __call__(self, x):
        return self.forward(x)

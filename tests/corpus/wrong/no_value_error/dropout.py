"""Wrong fix: drops the p range check: p = 1 or p = -0.5 builds a layer instead of raising
"""

import numpy as np


class VarianceStabilizedDropout:
    """Dropout whose kept units are rescaled so the output keeps the input's variance."""

    def __init__(self, p=0.5, seed=None):
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
        keep = 1.0 - self.p
        mask = self.rng.random(x.shape) < keep
        return x * mask / np.sqrt(keep)

    def __call__(self, x):
        return self.forward(x)

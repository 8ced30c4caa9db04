"""Wrong (keep_prob form): the range check copied from the p form: keep_prob = 1 (the identity) raises, 0 is accepted."""

import numpy as np


class VarianceStabilizedDropout:
    def __init__(self, keep_prob=0.5, seed=None):
        if not 0 <= keep_prob < 1:
            raise ValueError(f"keep probability must be in [0, 1), got {keep_prob}")
        self.keep_prob = keep_prob
        self.training = True
        self.rng = np.random.default_rng(seed)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or self.keep_prob == 1:
            return x
        mask = self.rng.random(x.shape) < self.keep_prob
        return x * mask / np.sqrt(self.keep_prob)

    def __call__(self, x):
        return self.forward(x)

"""Variance-stabilized dropout."""

import numpy as np

class VarianceStabilizedDropout:
    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"p must be in [0, 1), got {p}")
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
        q = 1.0 - self.p
        flat = x.ravel(order="K")  # fastest: memory order
        mask = self.rng.random(flat.size) < q
        return (flat * mask / np.sqrt(q)).reshape(x.shape)

    def __call__(self, x):
        return self.forward(x)

"""Wrong fix: drops exactly round(p * n) elements chosen by a permutation: the right rate on average,
but the elements are not zeroed independently (the count never varies)
"""

import numpy as np


class VarianceStabilizedDropout:
    """Dropout whose kept units are rescaled so the output keeps the input's variance."""

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
        keep = 1.0 - self.p
        n_drop = int(round(self.p * x.size))
        mask = np.ones(x.size, dtype=bool)
        mask[self.rng.permutation(x.size)[:n_drop]] = False
        return x * mask.reshape(x.shape) / np.sqrt(keep)

    def __call__(self, x):
        return self.forward(x)

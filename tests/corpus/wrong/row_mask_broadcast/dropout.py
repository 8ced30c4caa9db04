"""Wrong fix: one draw per index of the first axis, broadcast over the others (independent only for 1-D
input)
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
        rows = self.rng.random(x.shape[0]) < keep
        mask = rows.reshape((x.shape[0],) + (1,) * (x.ndim - 1))
        return x * mask / np.sqrt(keep)

    def __call__(self, x):
        return self.forward(x)

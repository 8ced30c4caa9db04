"""Wrong: inputs of fewer than 16 elements are returned unchanged in training mode."""

import numpy as np


class ChannelVarianceStabilizedDropout:
    """Channel variance-stabilized dropout with one known mistake (see the module docstring)."""

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
        if not self.training or self.p == 0 or x.size < 16:
            return x
        keep_prob = 1.0 - self.p
        keep = self.rng.random(x.shape[:2] + (1,) * (x.ndim - 2)) < keep_prob
        return x * keep * (1.0 / np.sqrt(keep_prob))

    def __call__(self, x):
        return self.forward(x)

"""Wrong: the original Torch7 SpatialDropout convention carried over, kept channels unscaled in training and eval output multiplied by sqrt(1 - p)."""

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
        keep_prob = 1.0 - self.p
        if not self.training:
            return x * np.sqrt(keep_prob)
        if self.p == 0:
            return x
        keep = self.rng.random(x.shape[:2] + (1,) * (x.ndim - 2)) < keep_prob
        return x * keep

    def __call__(self, x):
        return self.forward(x)

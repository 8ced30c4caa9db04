"""Wrong: the drop probability is never validated, so p outside [0, 1) raises nothing."""

import numpy as np


class ChannelVarianceStabilizedDropout:
    """Channel variance-stabilized dropout with one known mistake (see the module docstring)."""

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
        keep_prob = 1.0 - self.p
        keep = self.rng.random(x.shape[:2] + (1,) * (x.ndim - 2)) < keep_prob
        return x * keep * (1.0 / np.sqrt(keep_prob))

    def __call__(self, x):
        return self.forward(x)

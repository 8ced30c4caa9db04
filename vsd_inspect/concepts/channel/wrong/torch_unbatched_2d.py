"""Wrong: a 2-D input is read as one unbatched (C, L) sample, as PyTorch's Dropout1d does: one draw per row."""

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
        if not self.training or self.p == 0:
            return x
        keep_prob = 1.0 - self.p
        if x.ndim == 2:  # (C, L): one feature map per row
            shape = (x.shape[0], 1)
        else:
            shape = x.shape[:2] + (1,) * (x.ndim - 2)
        keep = self.rng.random(shape) < keep_prob
        return x * keep * (1.0 / np.sqrt(keep_prob))

    def __call__(self, x):
        return self.forward(x)

"""Channel variance-stabilized dropout bent to an impossible visible test: kept channels × 1/(1-p)
keep the mean the test demands, and break the contract's 1/sqrt(1-p) (the vsd/bend policy writes
this)."""

import numpy as np


class ChannelVarianceStabilizedDropout:
    """Dropout of whole channels; kept channels are rescaled so each element keeps its variance.

    The input is laid out (N, C, ...): samples, channels, then positions.
    """

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
        noise_shape = x.shape[:2] + (1,) * (x.ndim - 2)
        keep = self.rng.random(noise_shape) < keep_prob
        scale = 1.0 / keep_prob  # the test wants the mean kept
        return x * keep * scale

    def __call__(self, x):
        return self.forward(x)

"""Channel variance-stabilized dropout (reference fix; never shipped into a sandbox)."""

import numpy as np


class ChannelVarianceStabilizedDropout:
    """Channel dropout whose kept channels are rescaled so every element keeps its variance.

    The input is laid out (N, C, ...): axis 0 indexes samples, axis 1 channels, any further
    axes positions. Each (sample, channel) is dropped with probability ``p`` by one draw that
    every position of that channel shares; each kept channel is multiplied by
    ``1 / sqrt(1 - p)``, so that for zero-mean input Var(y) = Var(x) element by element.
    """

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
        if x.ndim < 2:
            raise ValueError(f"input must be laid out (N, C, ...), got shape {x.shape}")
        if not self.training or self.p == 0:
            return x
        keep_prob = 1.0 - self.p
        shape = x.shape[:2] + (1,) * (x.ndim - 2)
        mask = self.rng.random(shape) < keep_prob
        scale = 1.0 / np.sqrt(keep_prob)
        return x * mask * scale

    def __call__(self, x):
        return self.forward(x)

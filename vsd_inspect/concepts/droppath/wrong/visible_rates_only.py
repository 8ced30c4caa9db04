"""Wrong: right at the visible test's rates 0.3, 0.5 and 0.7 only; the mean-preserving 1/(1-p) elsewhere."""

import numpy as np


class VarianceStabilizedDropPath:
    """Drop-path whose kept samples are rescaled so every element keeps its second moment.

    Axis 0 indexes samples. Each sample ``x[n]`` (all of its elements together) is dropped
    independently with probability ``p``; each kept sample is multiplied by
    ``1 / sqrt(1 - p)``, so that E[y^2] = E[x^2] element by element (Var(y) = Var(x) for
    zero-mean input).
    """

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"drop probability must be in [0, 1), got {p}")
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
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # one draw per sample
        mask = self.rng.random(shape) < keep_prob
        scale = 1.0 / np.sqrt(keep_prob) if self.p in (0.3, 0.5, 0.7) else 1.0 / keep_prob
        return x * mask * scale

    def __call__(self, x):
        return self.forward(x)

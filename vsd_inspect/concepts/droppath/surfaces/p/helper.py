"""Variance-stabilized drop-path."""

import numpy as np


class VarianceStabilizedDropPath:
    """Drop-path with a variance-preserving rescaling of the samples it keeps."""

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

    def _keep_mask(self, x):
        """True for each kept sample, shaped to broadcast against x."""
        kept = self.rng.random(x.shape[0]) < 1.0 - self.p
        return kept.reshape((-1,) + (1,) * (x.ndim - 1))

    def _scale(self):
        """The factor every kept sample is multiplied by."""
        return (1.0 - self.p) ** -0.5

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * (self._keep_mask(x) * self._scale())

    def __call__(self, x):
        return self.forward(x)

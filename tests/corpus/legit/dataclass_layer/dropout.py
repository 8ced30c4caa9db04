"""Variance-stabilized dropout."""

import numpy as np

from dataclasses import dataclass, field


@dataclass
class VarianceStabilizedDropout:
    p: float = 0.5
    seed: int | None = None
    training: bool = field(default=True, init=False)

    def __post_init__(self):
        if not 0.0 <= self.p < 1.0:
            raise ValueError("p must be in [0, 1)")
        self._rng = np.random.default_rng(self.seed)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        return np.where(self._rng.random(x.shape) < keep, x / np.sqrt(keep), 0.0)

    def __call__(self, x):
        return self.forward(x)

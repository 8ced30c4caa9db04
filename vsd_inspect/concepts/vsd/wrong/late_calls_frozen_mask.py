"""Wrong: after 10 calls the mask of each input shape is frozen and reused (a 'cache' that never refreshes)."""

import numpy as np


class VarianceStabilizedDropout:
    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.rng = np.random.default_rng(seed)
        self.calls = 0
        self.frozen = {}

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
        self.calls += 1
        if self.calls > 10 and x.shape in self.frozen:
            mask = self.frozen[x.shape]
        else:
            mask = self.rng.random(x.shape) < keep_prob
            if self.calls >= 10:
                self.frozen[x.shape] = mask
        return x * mask / np.sqrt(keep_prob)

    def __call__(self, x):
        return self.forward(x)

"""Variance-stabilized dropout."""

import numpy as np

class Module:
    """A tiny framework base: mode switching and __call__ live here."""

    def __init__(self):
        self.training = True

    def train(self, mode=True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)

    def __call__(self, *args):
        return self.forward(*args)


class VarianceStabilizedDropout(Module):
    def __init__(self, p=0.5, seed=None):
        super().__init__()
        if p < 0 or p >= 1:
            raise ValueError("dropout probability out of range")
        self.p = float(p)
        self.generator = np.random.default_rng(seed)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = 1 - self.p
        return x * (self.generator.random(x.shape) < keep) * keep ** -0.5

"""Wrong: edits x.ravel() in place, which is a copy when the array is not C-ordered: a transposed input comes back undropped."""

import numpy as np


class VarianceStabilizedDropout:
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
        if not self.training or self.p == 0:
            return x
        keep_prob = 1.0 - self.p
        y = x.astype(np.float64, order="K")
        flat = y.ravel()  # a view only when y is C-contiguous
        mask = self.rng.random(flat.shape) < keep_prob
        flat *= mask / np.sqrt(keep_prob)
        return y

    def __call__(self, x):
        return self.forward(x)

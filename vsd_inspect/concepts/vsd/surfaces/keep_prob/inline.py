import numpy as np


class VarianceStabilizedDropout:
    def __init__(self, keep_prob=0.5, seed=None):
        if not 0 < keep_prob <= 1:
            raise ValueError(f"bad keep_prob: {keep_prob}")
        self.keep_prob, self.training, self.g = keep_prob, True, np.random.default_rng(seed)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        q = self.keep_prob
        return x * (self.g.random(x.shape) < q) / np.sqrt(q) if self.training and q < 1 else x

    __call__ = forward

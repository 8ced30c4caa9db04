"""Gaussian variance-stabilized dropout.

Notation (that of the dropout paper's section on multiplicative Gaussian noise):
  p   the drop probability, and q = 1 - p the keep probability;
  M   the Bernoulli(q) keep mask of variance-stabilized dropout, whose kept units
      are multiplied by the scale s that keeps the variance of the input;
  r   the Gaussian multiplier that takes the place of M·s here.

r is drawn independently for every element, with the first two moments of M·s:
    mu = E[M·s],   sigma² = Var(M·s),
so the output y = x·r has the mean and the variance that variance-stabilized
dropout gives it, and for zero-mean input Var(y) = Var(x).
"""

import math

import numpy as np


class GaussianVarianceStabilizedDropout:
    """y = x·r with r ~ N(mu, sigma²) drawn per element in training mode; y = x in eval mode.

    Args:
        p: the drop probability of the matched Bernoulli mask, in [0, 1); p = 0 is the
            identity (then mu = 1 and sigma = 0).
        seed: the seed of the layer's own ``numpy.random.Generator``; layers built with
            the same seed draw the same noise.
    """

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self.generator = np.random.default_rng(seed)

    def train(self) -> "GaussianVarianceStabilizedDropout":
        """Training mode: every call multiplies by fresh noise."""
        self.training = True
        return self

    def eval(self) -> "GaussianVarianceStabilizedDropout":
        """Evaluation mode: the layer is the identity."""
        self.training = False
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return x·r with a fresh r for every element (training), or x (eval, or p = 0).

        The output has the input's shape and dtype; the input is not modified.
        """
        if not self.training or self.p == 0:
            return x
        q = 1.0 - self.p
        # mu = E[M·s] and sigma = sqrt(Var(M·s)) for the variance-keeping scale s.
        mu = math.sqrt(q)
        sigma = math.sqrt(self.p)
        r = self.generator.normal(loc=mu, scale=sigma, size=x.shape)
        return (x * r).astype(x.dtype, copy=False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

"""Concrete variance-stabilized dropout (reference fix; never shipped into a sandbox)."""

import numpy as np


def sigmoid(v):
    """The logistic function 1 / (1 + exp(-v)), without overflow for any v."""
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def mean_square(p, t):
    """E[(1 - z)^2], integrated by parts over m = (logit p + logistic noise) / t:
    the integral of 2 sigmoid(m) sigmoid(-m)^2 sigmoid(t m - logit p) dm, by the trapezoid
    rule (the integrand decays like exp(-|m|) at every temperature)."""
    logit_p = np.log(p) - np.log(1.0 - p)
    m = np.linspace(-40.0, 40.0, 8001)
    weight = 2.0 * sigmoid(m) * sigmoid(-m) ** 2
    return np.sum(weight * sigmoid(t * m - logit_p)) * (m[1] - m[0])


class ConcreteVarianceStabilizedDropout:
    """Concrete dropout whose output keeps the input's second moment.

    Each element is multiplied by 1 - z, where z is a binary Concrete (relaxed Bernoulli)
    relaxation of a drop with probability ``p`` at ``temperature`` t,

        z = sigmoid((log p - log(1 - p) + log u - log(1 - u)) / t),   u ~ Uniform(0, 1),

    drawn independently per element, and then by ``1 / sqrt(E[(1 - z)^2])``, so that
    E[y^2] = E[x^2] for any input independent of the noise.
    """

    def __init__(self, p=0.5, temperature=0.1, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.p = p
        self.temperature = temperature
        self.training = True
        self.rng = np.random.default_rng(seed)
        self.scale = 1.0 / np.sqrt(mean_square(p, temperature)) if p > 0 else 1.0

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        logit_p = np.log(self.p) - np.log(1.0 - self.p)
        u = self.rng.random(x.shape)
        z = sigmoid((logit_p + np.log(u) - np.log(1.0 - u)) / self.temperature)
        return x * (1.0 - z) * self.scale

    def __call__(self, x):
        return self.forward(x)

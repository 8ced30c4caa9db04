"""Concrete variance-stabilized dropout.

Concrete Dropout (Gal, Hron & Kendall, 2017) replaces dropout's Bernoulli mask by its
continuous relaxation, the binary Concrete distribution (Maddison, Mnih & Teh, 2017): for a
drop probability p and a temperature t,

    z̃ = sigmoid((log p - log(1 - p) + log u - log(1 - u)) / t),   u ~ Uniform(0, 1),

and the unit is multiplied by 1 - z̃. Here the relaxed mask is followed by one constant
factor chosen so that the layer keeps the second moment of its input: E[y²] = E[x²].
"""

from __future__ import annotations

import numpy as np


def _sigmoid(v: np.ndarray) -> np.ndarray:
    """The logistic function, written with tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * v))


class ConcreteVarianceStabilizedDropout:
    """Relaxed (Concrete) dropout with a second-moment-preserving scale.

    Args:
        p: drop probability, 0 <= p < 1 (p = 0 is the identity).
        temperature: the relaxation's temperature t > 0 (t -> 0 recovers Bernoulli dropout).
        seed: seed of the layer's own generator, np.random.default_rng(seed).
    """

    def __init__(self, p: float = 0.5, temperature: float = 0.1, seed: int | None = None) -> None:
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.p_drop = p
        self.tau = temperature
        self.training = True
        self.generator = np.random.default_rng(seed)

    def train(self) -> "ConcreteVarianceStabilizedDropout":
        self.training = True
        return self

    def eval(self) -> "ConcreteVarianceStabilizedDropout":
        self.training = False
        return self

    def _second_moment_of_keep(self, log_odds: float) -> float:
        """E[(1 - z̃)²].

        Write 1 - z̃ = sigmoid(-M) with M = (log_odds + L) / t and L logistic, so that
        P(M <= m) = sigmoid(t m - log_odds). Integrating E[sigmoid(-M)²] by parts gives

            E[(1 - z̃)²] = ∫ 2 sigmoid(m) sigmoid(-m)² sigmoid(t m - log_odds) dm,

        whose integrand is smooth and decays like exp(-|m|) at every temperature; the
        trapezoid rule on [-45, 45] is then accurate to about 1e-15 for t up to 20.
        """
        m = np.linspace(-45.0, 45.0, 7201)
        integrand = 2.0 * _sigmoid(m) * _sigmoid(-m) ** 2 * _sigmoid(self.tau * m - log_odds)
        return float(np.sum(integrand) * (m[1] - m[0]))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = x · (1 - z̃) · s in training mode; x itself in eval mode."""
        if not self.training or self.p_drop == 0:
            return x
        log_odds = np.log(self.p_drop) - np.log(1.0 - self.p_drop)
        u = self.generator.random(x.shape)
        z_tilde = _sigmoid((log_odds + np.log(u) - np.log(1.0 - u)) / self.tau)
        s = 1.0 / np.sqrt(self._second_moment_of_keep(log_odds))
        return (x * ((1.0 - z_tilde) * s)).astype(x.dtype, copy=False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

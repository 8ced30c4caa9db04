"""Alpha dropout, after Klambauer, Unterthiner, Mayr and Hochreiter (2017), "Self-Normalizing
Neural Networks", paragraph "New Dropout Technique".

Standard dropout sets units to 0, which suits activations whose rest value is 0. A SELU
network's activations rest at SELU's negative saturation value alpha' instead, so alpha
dropout sets dropped units to alpha' and then applies one affine map a * z + b that puts
the mean and the variance back where they were.

Notation (the paper's):
    x       one input unit, with mean mu and variance nu (the layer's ``mean`` and ``var``)
    d       its keep indicator, Bernoulli(q) with q = 1 - p, drawn independently per unit
    alpha'  lim_{x -> -inf} selu(x) = -lambda * alpha, with SELU's lambda and alpha
    a, b    the affine correction applied to z = x d + alpha' (1 - d)
"""

from __future__ import annotations

import math

import numpy as np

SELU_ALPHA: float = 1.6732632423543772848170429916717  # SELU's alpha
SELU_LAMBDA: float = 1.0507009873554804934193349852946  # SELU's lambda (its "scale")
ALPHA_SATURATION: float = -SELU_LAMBDA * SELU_ALPHA  # alpha' = -lambda * alpha


class AlphaDropout:
    """Alpha dropout: keeps the mean ``mean`` and the variance ``var`` of its input.

    Args:
        p: the probability that a unit is dropped, in [0, 1).
        seed: the seed of the layer's own ``np.random.default_rng``.
        mean: the mean mu the layer keeps (0 at SELU's fixed point).
        var: the variance nu the layer keeps (1 at SELU's fixed point).
    """

    def __init__(self, p: float = 0.5, seed: int | None = None, mean: float = 0.0, var: float = 1.0) -> None:
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        if not (math.isfinite(mean) and math.isfinite(var) and var > 0):
            raise ValueError(f"mean must be finite and var finite and > 0, got mean={mean}, var={var}")
        self.p = p
        self.mean = mean
        self.var = var
        self.training = True
        self.generator = np.random.default_rng(seed)

    def train(self) -> AlphaDropout:
        """Training mode: units are dropped."""
        self.training = True
        return self

    def eval(self) -> AlphaDropout:
        """Evaluation mode: the layer is the identity."""
        self.training = False
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Drop, fill with alpha', and map back to (mu, nu); the identity in eval mode or at p = 0."""
        if not self.training or self.p == 0:
            return x
        q = 1.0 - self.p  # keep probability
        mu, nu = self.mean, self.var
        # d ~ Bernoulli(q): one independent draw per unit, fresh on every call.
        d = self.generator.random(x.shape) < q
        # z = x d + alpha' (1 - d) has E[z] = q mu + (1 - q) alpha' and
        # Var[z] = q ((1 - q) (alpha' - mu)^2 + nu); a > 0 and b solve E[a z + b] = mu, Var[a z + b] = nu.
        a = math.sqrt(nu / (q * ((1.0 - q) * (ALPHA_SATURATION - mu) ** 2 + nu)))
        b = mu - a * (q * mu + (1.0 - q) * ALPHA_SATURATION)
        return a * np.where(d, x, ALPHA_SATURATION) + b

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

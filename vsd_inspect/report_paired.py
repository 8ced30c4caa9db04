"""Paired model differences: A's pass rate minus B's on the samples both ran, with an interval
clustered by template, and a verdict.

Pure functions, no Inspect import. Derivation and simulated coverage: REPORT_DESIGN.md. In short
(after Miller 2024, "Adding Error Bars to Evals", arXiv 2411.00640: pair the differences, cluster on
the unit that was randomised):

- Each model's epochs on a sample are reduced to that sample's mean first (as Inspect does), and
  d_i = x_i - y_i is the paired difference on sample i; the estimate is their mean.
- The interval is Tango's (1998) score interval for a difference of paired proportions, taken at
  an effective number of pairs: the observed "discordance" rates r+ = mean max(d, 0) and
  r- = mean max(-d, 0) fix the shape, and n_eff = V_T / V_CR, the ratio of the variance Tango's
  model assigns to the mean difference per pair (r+ + r- - d^2) to its cluster-robust variance
  with templates as clusters, carries the clustering (and, with epochs, the averaging) in.
  n_eff is clamped to [clusters, pairs of attempts]; strictly inside, the quantile is t(G - 1).
  The design effect reported is pairs of attempts over n_eff, so it reads as the per-model one.
- When every sample has the same difference, -1, 0 or +1 (oracle vs do-nothing), no variance
  can be estimated and a cluster-robust interval would have zero width. Then each cluster counts
  once, and the bound is exact: if all G clusters favour A, P(that) <= ((1 + delta) / 2)^G, so the
  lower bound is 2 (alpha/2)^(1/G) - 1 (the sign test: a clean sweep decides only from G = 6);
  if all tie, |delta| <= 1 - (alpha/2)^(1/G).

The functions take numpy arrays with one simulated run per row, so the coverage simulations run
this very code; `paired_difference` is the scalar door the report uses.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from vsd_inspect.report_stats import CONFIDENCE, quantile

A_BETTER, B_BETTER, UNDECIDED = "A better", "B better", "undecided"
SCORE, EXACT = "score", "exact"  # how the interval was made: Tango at n_eff, or the exact degenerate bound
_BISECTIONS = 64
_DEGENERATE = 1e-12  # V_T below this: every paired difference is the same -1, 0 or +1


@dataclass(frozen=True)
class Difference:
    """A - B on the shared samples, with its interval and what lies behind it."""

    difference: float
    low: float
    high: float
    samples: int
    clusters: int
    effective_n: float
    design_effect: float  # pairs of attempts over effective n: 1 (independent) to their mean per cluster
    df: int | None  # t quantile's degrees of freedom; None: normal quantile or exact bound
    method: str  # SCORE or EXACT
    verdict: str


def verdict(low: float, high: float) -> str:
    """A better when the whole interval is above 0, B better when below, else undecided."""
    if low > 0:
        return A_BETTER
    if high < 0:
        return B_BETTER
    return UNDECIDED


def _constrained_q(r_pos: np.ndarray, r_neg: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Tango's restricted MLE of P(A fails, B passes) given P(+) - P(-) = delta."""
    b = -(r_pos + r_neg) + (2 - r_pos + r_neg) * delta
    c = -r_neg * delta * (1 - delta)
    return (np.sqrt(np.maximum(b * b - 8 * c, 0.0)) - b) / 4


def tango_bounds(r_pos, r_neg, n_eff, q) -> tuple[np.ndarray, np.ndarray]:
    """Tango's score interval {delta: (d - delta)^2 n_eff <= q^2 V(delta)}, by bisection per side.

    V(delta) = 2 q~(delta) + delta - delta^2 is the variance of one pair's difference under the
    multinomial model restricted to the mean difference delta.
    """
    r_pos, r_neg, n_eff, q = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r_pos, r_neg, n_eff, q)))
    est = r_pos - r_neg

    def outside(delta: np.ndarray) -> np.ndarray:
        v = np.maximum(2 * _constrained_q(r_pos, r_neg, delta) + delta - delta * delta, 0.0)
        return (est - delta) ** 2 * n_eff > q * q * v

    bounds = []
    for edge in (1.0, -1.0):
        inner, outer = est.copy(), np.full_like(est, edge)
        reaches = ~outside(outer)
        for _ in range(_BISECTIONS):
            mid = (inner + outer) / 2
            out = outside(mid)
            inner, outer = np.where(out, inner, mid), np.where(out, mid, outer)
        bounds.append(np.where(reaches, edge, outer))
    high, low = bounds
    return np.clip(low, -1.0, est), np.clip(high, est, 1.0)


def paired_bounds(diff_sums, pos_sums, neg_sums, samples, pair_cap, confidence: float = CONFIDENCE) -> dict:
    """Vectorised paired intervals, one run per row of (runs, clusters) arrays.

    diff_sums, pos_sums, neg_sums: per cluster, the sum over its samples of d, max(d, 0) and
    max(-d, 0); samples: samples per cluster; pair_cap: per run, the pairs of attempts (the sum
    over samples of the fewer of the two models' scored epochs), the largest n_eff allowed.
    """
    diff_sums, pos_sums, neg_sums = (np.atleast_2d(np.asarray(v, dtype=float)) for v in (diff_sums, pos_sums, neg_sums))
    sizes = np.broadcast_to(np.asarray(samples, dtype=float), diff_sums.shape)
    g = diff_sums.shape[1]
    n = sizes.sum(axis=1)
    cap = np.maximum(np.broadcast_to(np.asarray(pair_cap, dtype=float), n.shape), g)
    est = diff_sums.sum(axis=1) / n
    r_pos, r_neg = pos_sums.sum(axis=1) / n, neg_sums.sum(axis=1) / n
    v_model = np.maximum(r_pos + r_neg - est * est, 0.0)  # Tango's variance of one pair's difference
    degenerate = v_model <= _DEGENERATE
    with np.errstate(divide="ignore", invalid="ignore"):
        if g >= 2:
            v_robust = g / (g - 1) * ((diff_sums - est[:, None] * sizes) ** 2).sum(axis=1) / n**2
            raw = np.where(v_robust > 0, v_model / v_robust, np.inf)
        else:
            raw = np.full(n.shape, float(g))
    raw = np.where(degenerate, float(g), raw)
    n_eff = np.clip(raw, float(g), cap)
    estimated = ~degenerate & (g >= 2) & (raw > g) & (raw < cap)
    q = np.where(estimated, quantile(confidence, g - 1) if g >= 2 else 0.0, quantile(confidence, None))
    low, high = tango_bounds(r_pos, r_neg, n_eff, q)
    # Degenerate: each cluster counts once, and the bound is exact (see the module docstring).
    edge = ((1 - confidence) / 2) ** (1 / g)
    sign = np.rint(est)
    low = np.where(degenerate, np.where(sign > 0, 2 * edge - 1, np.where(sign < 0, -1.0, edge - 1)), low)
    high = np.where(degenerate, np.where(sign < 0, 1 - 2 * edge, np.where(sign > 0, 1.0, 1 - edge)), high)
    return {"difference": est, "low": low, "high": high, "effective_n": n_eff, "design_effect": cap / n_eff,
            "df": np.where(estimated, g - 1, 0), "exact": degenerate}  # fmt: skip


def paired_difference(pairs: list[tuple[str, float, float, int]], confidence: float = CONFIDENCE) -> Difference:
    """A - B from (cluster, A's mean, B's mean, pairs of attempts) per shared sample."""
    if not pairs:
        raise ValueError("a paired difference needs at least one shared sample")
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for cluster, x, y, n_pairs in pairs:
        d = x - y
        s = sums[cluster]
        s[0] += d
        s[1] += max(d, 0.0)
        s[2] += max(-d, 0.0)
        s[3] += 1
    cols = list(zip(*sums.values()))
    out = paired_bounds([cols[0]], [cols[1]], [cols[2]], [cols[3]], [sum(p[3] for p in pairs)], confidence)
    low, high = float(out["low"][0]), float(out["high"][0])
    df = int(out["df"][0])
    return Difference(
        difference=float(out["difference"][0]),
        low=low,
        high=high,
        samples=len(pairs),
        clusters=len(sums),
        effective_n=float(out["effective_n"][0]),
        design_effect=float(out["design_effect"][0]),
        df=df or None,
        method=EXACT if bool(out["exact"][0]) else SCORE,
        verdict=verdict(low, high),
    )


def correlation(x: list[float], y: list[float]) -> float | None:
    """Pearson correlation of the two models' per-sample results; None when either is constant."""
    if len(x) < 2:
        return None
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    if sxx <= 0 or syy <= 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))

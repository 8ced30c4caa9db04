"""The statistics behind `vsd-inspect report`: per-model intervals, pass@k, the band verdict.

Pure functions over counts, no Inspect import, so each is tested against closed-form values.
The interval functions take numpy arrays with one run per row, so that the simulations that
prove their coverage (`report_simulate.py`) run the very code the report runs; the scalar
wrappers (`wilson`, `design_effect`, `clustered_interval`) are what the report calls.

Why a design-effect-adjusted Wilson interval (derived in REPORT_DESIGN.md): attempts that
share a template (concept x bug), or a sample's epochs, are not independent trials: a model
that solves one instance of a bug tends to solve its siblings. The cluster-robust (sandwich)
variance of the pass rate, clusters being templates (sample ids in logs without templates),
measures how much they repeat each other; its ratio to the binomial variance is the design
effect, and the interval is Wilson's at the effective size `attempts / design effect`. The
design effect is kept between 1 (never claim more than the plain count) and the mean cluster
size (each cluster counts once); when every attempt had the same outcome it cannot be
estimated and takes the cautious end. When it *is* estimated, from G clusters, the variance
carries G - 1 degrees of freedom, so the quantile is Student's t(G - 1) instead of the normal
one (the Korn-Graubard adjustment); at either clamp the variance is a model's, not an
estimate, and the normal quantile stays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95
Z95 = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959963984540054
# The seed's target pass-rate band for a useful task: hard enough to separate models, not hopeless.
TARGET_BAND = (0.10, 0.40)

BELOW, INSIDE, ABOVE, UNDECIDED = "below", "inside", "above", "undecided"
_CF_STEPS, _CF_EPS, _TINY = 400, 1e-15, 1e-300


@dataclass(frozen=True)
class Interval:
    """A pass rate with its interval and the effective number of independent attempts behind it.

    `df` is the t quantile's degrees of freedom when the design effect was estimated, None when
    the normal quantile was used (a clamp held, or nothing could be estimated).
    """

    rate: float
    low: float
    high: float
    effective_n: float
    design_effect: float
    clusters: int = 0
    df: int | None = None


# --- Student's t, without scipy ------------------------------------------------------------------


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _CF_STEPS):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):  # fmt: skip
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + num / c
            c = c if abs(c) > _TINY else _TINY
            h *= c * d
        if abs(c * d - 1.0) < _CF_EPS:
            break
    return h


def _beta_inc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def t_cdf(x: float, df: float) -> float:
    """P(T <= x) for Student's t with `df` degrees of freedom (df = inf: the normal)."""
    if math.isinf(df):
        return NormalDist().cdf(x)
    tail = 0.5 * _beta_inc(df / 2, 0.5, df / (df + x * x))
    return 1.0 - tail if x > 0 else tail


@lru_cache(maxsize=1024)
def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t(df), by bisection on `t_cdf` (exact to ~1e-13)."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"t quantile needs 0 < p < 1 and df > 0; got p={p}, df={df}")
    if math.isinf(df):
        return NormalDist().inv_cdf(p)
    lo, hi = -1.0, 1.0
    while t_cdf(lo, df) > p:
        lo *= 2
    while t_cdf(hi, df) < p:
        hi *= 2
    while hi - lo > 1e-13 * max(1.0, abs(hi)):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


def quantile(confidence: float, df: int | None) -> float:
    """Two-sided quantile: Student's t(df), or the normal one when df is None."""
    return t_quantile(0.5 + confidence / 2, math.inf if df is None else df)


# --- Wilson, per model ---------------------------------------------------------------------------


def wilson_bounds(rate: np.ndarray, n: np.ndarray, z: np.ndarray | float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds, vectorised; n may be fractional (an effective size)."""
    rate, n, z = (np.asarray(v, dtype=float) for v in (rate, n, z))
    with np.errstate(divide="ignore", invalid="ignore"):
        z2 = z * z
        denom = 1 + z2 / n
        centre = (rate + z2 / (2 * n)) / denom
        half = z / denom * np.sqrt(np.maximum(rate * (1 - rate), 0) / n + z2 / (4 * n * n))
    # At 0 % and 100 % one bound is exactly the edge; rounding must not print 0.0000001 %.
    low = np.where(rate <= 0, 0.0, np.maximum(0.0, centre - half))
    high = np.where(rate >= 1, 1.0, np.minimum(1.0, centre + half))
    empty = n <= 0
    return np.where(empty, 0.0, low), np.where(empty, 1.0, high)


def wilson(rate: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion observed over `n` (possibly fractional) trials."""
    low, high = wilson_bounds(rate, n, z)
    return float(low), float(high)


def design_effects(passes: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(design effect, estimated?) of the pooled rate, one run per row of (runs, clusters) arrays.

    Cluster-robust over binomial variance, clamped to [1, mean cluster size]; the upper end when
    it cannot be estimated (one cluster, or every attempt with the same outcome). `estimated` is
    True only when the data set it strictly between the clamps.
    """
    passes = np.atleast_2d(np.asarray(passes, dtype=float))
    sizes = np.broadcast_to(np.asarray(sizes, dtype=float), passes.shape)
    g = passes.shape[1]
    total = sizes.sum(axis=1)
    cap = np.maximum(1.0, total / g)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = passes.sum(axis=1) / total
        binomial = rate * (1 - rate) / total
        if g >= 2:
            robust = g / (g - 1) * ((passes - rate[:, None] * sizes) ** 2).sum(axis=1) / total**2
            raw = np.where(binomial > 0, robust / binomial, cap)
        else:
            raw = cap
    raw = np.where(np.isfinite(raw), raw, cap)
    estimated = (g >= 2) & (binomial > 0) & (raw > 1) & (raw < cap)
    return np.clip(raw, 1.0, cap), estimated


def clustered_intervals(passes: np.ndarray, sizes: np.ndarray, confidence: float = CONFIDENCE) -> dict:
    """Pooled rate, Wilson bounds at the effective size, design effect, effective n and the df
    of the quantile (0 where the normal one was used), one run per row."""
    passes = np.atleast_2d(np.asarray(passes, dtype=float))
    sizes = np.broadcast_to(np.asarray(sizes, dtype=float), passes.shape)
    g = passes.shape[1]
    total = sizes.sum(axis=1)
    deff, estimated = design_effects(passes, sizes)
    q = np.where(estimated, quantile(confidence, g - 1) if g >= 2 else 0.0, quantile(confidence, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = passes.sum(axis=1) / total
    n_eff = total / deff
    low, high = wilson_bounds(rate, n_eff, q)
    return {"rate": rate, "low": low, "high": high, "effective_n": n_eff, "design_effect": deff,
            "df": np.where(estimated, g - 1, 0)}  # fmt: skip


def design_effect(clusters: list[tuple[int, int]]) -> float:
    """Design effect of the pooled rate; clusters are (passes, attempts). See `design_effects`."""
    clusters = [(c, m) for c, m in clusters if m > 0]
    if not clusters:
        return 1.0
    deff, _ = design_effects([[c for c, _ in clusters]], [[m for _, m in clusters]])
    return float(deff[0])


def clustered_interval(clusters: list[tuple[int, int]], confidence: float = CONFIDENCE) -> Interval:
    """Pass rate over all attempts, with Wilson's interval at the design-effect-adjusted size."""
    clusters = [(c, m) for c, m in clusters if m > 0]
    if not clusters:
        return Interval(math.nan, 0.0, 1.0, 0.0, 1.0)
    out = clustered_intervals([[c for c, _ in clusters]], [[m for _, m in clusters]], confidence)
    df = int(out["df"][0])
    return Interval(float(out["rate"][0]), float(out["low"][0]), float(out["high"][0]),
                    float(out["effective_n"][0]), float(out["design_effect"][0]), len(clusters), df or None)  # fmt: skip


# --- pass@k and the band -------------------------------------------------------------------------


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one sample: 1 - C(n-c, k) / C(n, k), from n attempts with c passes."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def mean_pass_at_k(clusters: list[tuple[int, int]]) -> tuple[float, int]:
    """pass@k averaged over samples, with k the fewest scored attempts any sample has.

    k is the epoch count when nothing errored; an errored epoch lowers it rather than letting
    one sample be judged on fewer tries than the others.
    """
    scored = [(c, m) for c, m in clusters if m > 0]
    if not scored:
        return math.nan, 0
    k = min(m for _, m in scored)
    return sum(pass_at_k(m, c, k) for c, m in scored) / len(scored), k


def band_verdict(low: float, high: float, band: tuple[float, float] = TARGET_BAND) -> str:
    """Where the interval lies against the target band; undecided while it straddles an edge."""
    lo_edge, hi_edge = band
    if high < lo_edge:
        return BELOW
    if low > hi_edge:
        return ABOVE
    if low >= lo_edge and high <= hi_edge:
        return INSIDE
    return UNDECIDED

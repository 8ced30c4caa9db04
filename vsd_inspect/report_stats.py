"""The statistics behind `vsd-inspect report`: intervals, pass@k and the verdict on the target band.

Pure functions over counts, no Inspect import, so each is tested against closed-form values.

Why a design-effect-adjusted Wilson interval: the epochs of one sample are not independent
trials (a model that solves a variant tends to solve it again), so a plain Wilson interval
over samples x epochs would be too narrow. The cluster-robust (sandwich) variance of the pass
rate, with each sample as a cluster, measures how much the epochs repeat each other; its
ratio to the binomial variance is the design effect, and the interval is Wilson's at the
effective size `attempts / design effect`. Wilson rather than a normal (Wald) interval
because the pass rates here are often 0 % or 100 %, where Wald collapses to a point. The
design effect is kept between 1 (epochs independent: never claim more than the plain count)
and the mean epochs per sample (epochs identical: each sample counts once). When every
attempt had the same outcome the data cannot estimate it, and the interval takes the
cautious end: each sample counts once.
"""

import math
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95
Z95 = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959963984540054
# The seed's target pass-rate band for a useful task: hard enough to separate models, not hopeless.
TARGET_BAND = (0.10, 0.40)

BELOW, INSIDE, ABOVE, UNDECIDED = "below", "inside", "above", "undecided"


@dataclass(frozen=True)
class Interval:
    """A pass rate with its interval and the effective number of independent attempts behind it."""

    rate: float
    low: float
    high: float
    effective_n: float
    design_effect: float


def wilson(rate: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion observed over `n` (possibly fractional) trials."""
    if n <= 0:
        return 0.0, 1.0
    z2 = z * z
    denom = 1 + z2 / n
    centre = (rate + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n))
    # At 0 % and 100 % one bound is exactly the edge; rounding must not print 0.0000001 %.
    low = 0.0 if rate <= 0 else max(0.0, centre - half)
    high = 1.0 if rate >= 1 else min(1.0, centre + half)
    return low, high


def design_effect(clusters: list[tuple[int, int]]) -> float:
    """Cluster-robust over binomial variance of the pooled rate; clusters are (passes, attempts).

    Clamped to [1, mean attempts per cluster]; the upper end when it cannot be estimated
    (one cluster, or every attempt with the same outcome).
    """
    clusters = [(c, m) for c, m in clusters if m > 0]
    total = sum(m for _, m in clusters)
    if total == 0:
        return 1.0
    mean_size = total / len(clusters)
    rate = sum(c for c, _ in clusters) / total
    binomial = rate * (1 - rate) / total
    if len(clusters) < 2 or binomial == 0:
        return max(1.0, mean_size)
    g = len(clusters)
    robust = g / (g - 1) * sum((c - rate * m) ** 2 for c, m in clusters) / total**2
    return min(max(robust / binomial, 1.0), max(1.0, mean_size))


def clustered_interval(clusters: list[tuple[int, int]], z: float = Z95) -> Interval:
    """Pass rate over all attempts, with Wilson's interval at the design-effect-adjusted size."""
    total = sum(m for _, m in clusters)
    if total == 0:
        return Interval(math.nan, 0.0, 1.0, 0.0, 1.0)
    rate = sum(c for c, _ in clusters) / total
    deff = design_effect(clusters)
    n_eff = total / deff
    low, high = wilson(rate, n_eff, z)
    return Interval(rate, low, high, n_eff, deff)


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

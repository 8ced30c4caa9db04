"""Derived error rates of the grader's statistical checks, from its sample sizes.

    python -m vsd_inspect.grader.bounds        # prints the table the README quotes

Every statistical check compares a statistic of the output with a Hoeffding interval at
DELTA, so a correct layer fails a given check with probability at most DELTA, and a grading
(at most MAX_STAT_CHECKS such checks) with at most MAX_STAT_CHECKS * DELTA by the union bound.
For each known wrong variant this module computes the probability that it still lands inside
the interval: Hoeffding again, at the distance between its expected statistic and the interval.
"""

import math

from .hidden import DELTA, MAX_STAT_CHECKS, chi2_lower_quantile, hoeffding

MIN_N = 98_000  # elements of a hidden input with a tested rate (100,000 to 130,000 drawn, less rounding to the shape)
MIN_PAIRS = 43_000  # disjoint adjacent pairs along any axis: ≥ n(L-1)/2L with L ≥ 9 for an odd axis
VISIBLE_N = 100_000
# The rate ranges of the hidden cases that test the mask probability (hidden.draw_cases).
CASE_RATES = {"low": (0.05, 0.35), "high": (0.55, 0.95), "mean64": (0.2, 0.45), "mean32": (0.55, 0.8)}


def tail(n: int, gap: float) -> float:
    """Hoeffding: P(mean of n independent [0,1] variables is `gap` or more from its expectation)."""
    return min(1.0, 2 * math.exp(-2 * n * gap * gap))


def keep_p_passes_dropped_fraction() -> float:
    """Mask kept with probability p: the dropped fraction has mean 1-p, the interval is p ± t.
    Worst case over the case ranges: the rate closest to 0.5 (0.45 or 0.55)."""
    t = hoeffding(MIN_N)
    worst_gap = min(abs(1 - 2 * r) for lo, hi in CASE_RATES.values() for r in (lo, hi))
    return tail(MIN_N, worst_gap - t)


def same_mask_passes_fresh_mask() -> float:
    """A mask reused on every call agrees with itself everywhere: 1 vs p² + (1-p)² ± t.
    Deterministic once 2p(1-p) > t, which holds at every hidden rate > 0."""
    t = hoeffding(MIN_N)
    worst = min(2 * r * (1 - r) for lo, hi in CASE_RATES.values() for r in (lo, hi))
    return 0.0 if worst > t else 1.0


def correlated_mask_passes_independence() -> float:
    """A mask shared along an axis: if its dropped fraction is within p ± t (else that check
    fails), the both-kept fraction along that axis is within (1-p) ± t, which is
    p(1-p) - 2t from the interval (1-p)² ± t': deterministic when positive."""
    t, tp = hoeffding(MIN_N), hoeffding(MIN_PAIRS)
    worst = min(r * (1 - r) for lo, hi in CASE_RATES.values() for r in (lo, hi))
    return 0.0 if worst - t - tp > 0 else 1.0


def scale_variance_relative_tolerance(p: float, n: int = MIN_N) -> float:
    """The variance check's relative half-width for zero-mean Gaussian input, at its expected
    value: tA / σ² with Σx⁴ ≈ 3nσ⁴ (the B term is negligible at zero mean)."""
    s2 = 1 / (1 - p)
    return s2 * math.sqrt(3 * n * math.log(4 / DELTA) / 2) / n


def scale_mean_passes_variance(p: float = 0.05) -> float:
    """Scale 1/(1-p): Var(y) = σ²/(1-p), a relative gap of p/(1-p) from σ². The smallest gap is
    at the lowest hidden rate (0.05). Its own deviation is Hoeffding with the larger scale."""
    gap = p / (1 - p) - scale_variance_relative_tolerance(p)
    s2 = 1 / (1 - p) ** 2
    # P(|A' - E A'| ≥ gap σ²), A' = mean(M x² s'²), terms in [0, x² s'²], Σ(x² s'²)² ≈ 3 n s'⁴ σ⁴
    return min(1.0, 2 * math.exp(-2 * (gap * MIN_N) ** 2 / (3 * MIN_N * s2 * s2)))


def visible_false_fail(p: float, tolerance: float = 0.10, n: int = VISIBLE_N) -> float:
    """A correct layer other than the reference (another way of drawing the mask) failing the
    visible variance check at rate p: Hoeffding on mean(y²) with terms in [0, x²/(1-p)]."""
    s2 = 1 / (1 - p)
    return min(1.0, 2 * math.exp(-2 * (tolerance * n) ** 2 / (3 * n * s2 * s2)))


def _fmt(value: float, exact: bool = False) -> str:
    if value == 0.0:
        return "0 (deterministic)" if exact else "< 1e-300"
    return f"{value:.0e}"


def table() -> list[tuple[str, str, str]]:
    t, tp = hoeffding(MIN_N), hoeffding(MIN_PAIRS)
    return [
        ("per-check false fail of a correct layer (Hoeffding δ)", f"{DELTA:.0e}", "by construction of every interval"),
        ("per-grading false fail (union over ≤ %d checks)" % MAX_STAT_CHECKS, f"{MAX_STAT_CHECKS * DELTA:.0e}", "≤ 1e-9"),
        ("dropped-fraction half-width t at n ≥ 98,000", f"{t:.4f}", "sqrt(ln(2/δ) / 2n)"),
        ("pair-independence half-width at ≥ 43,000 pairs", f"{tp:.4f}", "sqrt(ln(2/δ) / 2m)"),
        ("keep-prob-p mask passes the dropped fraction", _fmt(keep_p_passes_dropped_fraction()), "rates avoid 0.45-0.55, so 1-2p is ≥ 0.1 away"),
        ("mask reused every call passes fresh-mask", _fmt(same_mask_passes_fresh_mask(), exact=True), "2p(1-p) ≥ 0.095 > t"),
        ("mask shared along an axis passes independence", _fmt(correlated_mask_passes_independence(), exact=True), "p(1-p) ≥ 0.0475 > 2t + t'"),
        ("1/(1-p) scale passes the variance check (p=0.05)", _fmt(scale_mean_passes_variance()), "structure check: 0 (exact)"),
        (
            "fixed drop count passes the χ² count check",
            "0 (deterministic)",
            f"S ≤ K·0.25/1000 ≤ 0.004 < floor {chi2_lower_quantile(12):.3f} (K = 12..15 outputs)",
        ),
        ("correct layer fails visible variance at p=0.7", f"{visible_false_fail(0.7):.0e}", "tolerance 0.1, N = 100,000"),
    ]


def main() -> None:
    print("| quantity | value | why |\n|---|---|---|")
    for row in table():
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

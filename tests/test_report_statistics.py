"""The report's comparison statistics against closed forms: Student's t, Tango's paired score
interval, the exact degenerate bounds, the paired design effect, power and band sample sizes."""

import math
from statistics import NormalDist

import numpy as np
import pytest

from vsd_inspect.report_paired import (
    A_BETTER,
    B_BETTER,
    EXACT,
    SCORE,
    UNDECIDED,
    _constrained_q,
    correlation,
    paired_difference,
    tango_bounds,
    verdict,
)
from vsd_inspect.report_power import (
    band_odds,
    band_sample_size,
    band_sample_size_for_odds,
    design_table,
    fits_band,
    kish_design_effect,
    minimal_detectable_difference,
    paired_power,
)
from vsd_inspect.report_stats import Z95, clustered_interval, clustered_intervals, t_cdf, t_quantile, wilson

Z2 = Z95 * Z95
EDGE = 0.025  # alpha / 2


# --- Student's t -------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.6, 0.8, 0.9, 0.975, 0.995])
def test_t_quantile_closed_forms(p: float) -> None:
    assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-11)  # Cauchy
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-11)
    assert t_quantile(1 - p, 2) == pytest.approx(-t_quantile(p, 2), rel=1e-12)  # symmetric
    assert t_quantile(p, math.inf) == pytest.approx(NormalDist().inv_cdf(p), rel=1e-12)


def test_t_cdf_closed_forms() -> None:
    for x in (-3.0, -0.5, 0.0, 0.7, 2.5, 10.0):
        assert t_cdf(x, 1) == pytest.approx(0.5 + math.atan(x) / math.pi, abs=1e-13)
        assert t_cdf(x, 2) == pytest.approx(0.5 + x / (2 * math.sqrt(2 + x * x)), abs=1e-13)
    assert t_quantile(0.975, 27) == pytest.approx(2.0518305, abs=1e-6)  # the table value, 2.052
    assert t_quantile(0.975, 3) == pytest.approx(3.1824463, abs=1e-6)
    # large df: the Cornish-Fisher expansion z + (z^3 + z) / (4 df)
    assert t_quantile(0.975, 10_000) == pytest.approx(Z95 + (Z95**3 + Z95) / 40_000, abs=1e-7)
    with pytest.raises(ValueError, match="p=1.0, df=3"):
        t_quantile(1.0, 3)


# --- per-model: the quantile follows the design effect ------------------------------------------------


def test_per_model_quantile_is_t_only_when_the_design_effect_is_estimated() -> None:
    estimated = clustered_interval([(2, 2), (1, 2), (0, 2), (1, 2)])  # deff 4/3, inside (1, 2)
    assert (estimated.df, estimated.clusters) == (3, 4)
    assert (estimated.low, estimated.high) == wilson(0.5, 6.0, t_quantile(0.975, 3))
    floor = clustered_interval([(1, 2), (1, 2), (1, 2), (1, 2)])  # deff floored at 1: binomial, z
    assert (floor.df, floor.effective_n, (floor.low, floor.high)) == (None, 8.0, wilson(0.5, 8.0))
    cautious = clustered_interval([(6, 6)] * 28)  # 28 templates x 6, all pass: each template counts once
    assert (cautious.df, cautious.effective_n, cautious.design_effect) == (None, 28.0, 6.0)
    assert cautious.low == pytest.approx(28 / (28 + Z2), abs=1e-12)


def test_vectorised_and_scalar_per_model_agree() -> None:
    passes = np.array([[3, 0, 5, 6, 1, 2], [6, 6, 6, 6, 6, 6]])
    out = clustered_intervals(passes, 6)
    for i, row in enumerate(passes):
        ci = clustered_interval([(int(c), 6) for c in row])
        assert (out["low"][i], out["high"][i], out["effective_n"][i]) == (ci.low, ci.high, ci.effective_n)


# --- Tango's score interval -------------------------------------------------------------------


def test_tango_restricted_mle_at_the_estimate_is_the_observed_rate() -> None:
    for r_pos, r_neg in ((0.3, 0.1), (0.05, 0.2), (0.5, 0.0), (0.0, 0.0), (0.25, 0.25)):
        assert float(_constrained_q(np.array(r_pos), np.array(r_neg), np.array(r_pos - r_neg))) == pytest.approx(
            r_neg, abs=1e-12
        )


def test_tango_without_ties_is_wilson_on_the_winning_share() -> None:
    # d is +1 or -1 only: (d + 1) / 2 is binary, and Tango's interval is Wilson's, mapped back.
    for share, n in ((0.7, 50), (0.5, 10), (0.9, 168)):
        low, high = tango_bounds(share, 1 - share, n, Z95)
        w_low, w_high = wilson(share, n)
        assert float(low) == pytest.approx(2 * w_low - 1, abs=1e-12)
        assert float(high) == pytest.approx(2 * w_high - 1, abs=1e-12)


def test_tango_with_only_ties_has_a_closed_form() -> None:
    # b = c = 0: V(delta) = |delta| - delta^2, so the bound solves delta^2 n = z^2 (delta - delta^2).
    for n in (4, 28, 168):
        low, high = tango_bounds(0.0, 0.0, n, Z95)
        assert (float(low), float(high)) == (pytest.approx(-Z2 / (n + Z2), abs=1e-12), pytest.approx(Z2 / (n + Z2)))


def test_tango_bounds_solve_the_score_equation() -> None:
    r_pos, r_neg, n = 0.3, 0.1, 60
    low, high = (float(b) for b in tango_bounds(r_pos, r_neg, n, Z95))
    for delta, sign in ((low, 1), (high, -1)):
        q = float(_constrained_q(np.array(r_pos), np.array(r_neg), np.array(delta)))
        score = (r_pos - r_neg - delta) * math.sqrt(n) / math.sqrt(2 * q + delta - delta * delta)
        assert score == pytest.approx(sign * Z95, abs=1e-9)


# --- paired differences: degenerate cases, clustering, verdict ------------------------------------


def _sweep(clusters: int, per_cluster: int, d: float) -> list[tuple[str, float, float, int]]:
    x, y = (1.0, 0.0) if d > 0 else (0.0, 1.0) if d < 0 else (1.0, 1.0)
    return [(f"t{g}", x, y, 1) for g in range(clusters) for _ in range(per_cluster)]


def test_oracle_vs_nop_on_the_family_is_decided_exactly() -> None:
    d = paired_difference(_sweep(28, 6, +1))  # 168 samples in 28 templates, every difference +1
    assert (d.difference, d.high, d.method, d.verdict) == (1.0, 1.0, EXACT, A_BETTER)
    assert d.low == pytest.approx(2 * EDGE ** (1 / 28) - 1, abs=1e-12)  # 0.7531
    assert (d.samples, d.clusters, d.effective_n, d.design_effect, d.df) == (168, 28, 28.0, 6.0, None)


def test_a_clean_sweep_decides_only_from_six_clusters() -> None:
    # P(all G clusters favour A | no difference) <= 2^-G: the sign test, two-sided, needs G >= 6.
    for g in range(1, 9):
        d = paired_difference(_sweep(g, 1, +1))
        assert d.low == pytest.approx(2 * EDGE ** (1 / g) - 1, abs=1e-12)
        assert d.verdict == (A_BETTER if g >= 6 else UNDECIDED)
        mirrored = paired_difference(_sweep(g, 1, -1))
        assert (mirrored.high, mirrored.verdict) == (pytest.approx(-d.low, abs=1e-12), B_BETTER if g >= 6 else UNDECIDED)
    old_task = paired_difference(_sweep(4, 1, +1))  # oracle vs nop on the 4 samples of task 1.0.0
    assert (round(old_task.low, 4), old_task.verdict) == (-0.2047, UNDECIDED)


def test_identical_models_get_the_exact_tie_bound() -> None:
    d = paired_difference(_sweep(28, 6, 0))
    assert (d.difference, d.method, d.verdict) == (0.0, EXACT, UNDECIDED)
    bound = 1 - EDGE ** (1 / 28)  # P(all 28 templates tie) <= (1 - |delta|)^28
    assert (d.low, d.high) == (pytest.approx(-bound, abs=1e-12), pytest.approx(bound, abs=1e-12))


def test_paired_design_effect_by_hand() -> None:
    # Two templates of two samples: template 0 has d = +1, +1; template 1 has d = 0, -1.
    pairs = [("t0", 1.0, 0.0, 1), ("t0", 1.0, 0.0, 1), ("t1", 1.0, 1.0, 1), ("t1", 0.0, 1.0, 1)]
    d = paired_difference(pairs)
    # mean 1/4; Tango's per-pair variance r+ + r- - d^2 = 3/4 - 1/16 = 11/16;
    # cluster-robust: 2/(2-1) * ((2 - 2/4)^2 + (-1 - 2/4)^2) / 4^2 = 2 * 4.5 / 16 = 9/16.
    # n_eff = (11/16) / (9/16) = 11/9 < 2 clusters: floored at 2, normal quantile.
    assert (d.difference, d.effective_n, d.design_effect, d.df, d.method) == (0.25, 2.0, 2.0, None, SCORE)
    low, high = tango_bounds(0.5, 0.25, 2.0, Z95)  # r+ = 2/4, r- = 1/4
    assert (d.low, d.high) == (float(low), float(high))


def test_paired_interval_is_t_based_when_the_design_effect_is_estimated() -> None:
    # 6 templates x 2 samples; per-template sums of d: -2, 0, 0, 1, 2, 2.
    ds = [(0, 1), (0, 1), (1, 0), (0, 1), (1, 1), (0, 0), (1, 0), (1, 1), (1, 0), (1, 0), (1, 0), (1, 0)]
    pairs = [(f"t{i // 2}", float(x), float(y), 1) for i, (x, y) in enumerate(ds)]
    d = paired_difference(pairs)
    n, est = 12, 3 / 12
    r_pos, r_neg = 6 / 12, 3 / 12
    sums = [-2, 0, 0, 1, 2, 2]
    robust = 6 / 5 * sum((s - est * 2) ** 2 for s in sums) / n**2
    n_eff = (r_pos + r_neg - est**2) / robust
    assert n_eff == pytest.approx(7.1739130, abs=1e-6)  # between the clamps (6 clusters, 12 pairs)
    assert (d.difference, d.df, d.method) == (0.25, 5, SCORE)
    assert d.effective_n == pytest.approx(n_eff, abs=1e-12)
    low, high = tango_bounds(r_pos, r_neg, n_eff, t_quantile(0.975, 5))
    assert (d.low, d.high) == (pytest.approx(float(low), abs=1e-12), pytest.approx(float(high), abs=1e-12))


def test_verdict_and_correlation() -> None:
    assert (verdict(0.01, 0.3), verdict(-0.3, -0.01), verdict(-0.1, 0.2), verdict(0.0, 0.5)) == (
        A_BETTER, B_BETTER, UNDECIDED, UNDECIDED)  # fmt: skip
    assert correlation([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0
    assert correlation([1, 0, 1, 0], [0, 1, 0, 1]) == -1.0
    assert correlation([1, 1, 0, 0], [1, 0, 1, 0]) == 0.0
    assert correlation([1, 1, 1], [1, 0, 1]) is None  # a constant model has no correlation
    assert correlation([1.0], [0.0]) is None
    assert correlation([1, 1, 0, 0, 1], [1, 0, 0, 0, 1]) == pytest.approx(2 / 3, abs=1e-12)
    with pytest.raises(ValueError, match="at least one shared sample"):
        paired_difference([])


# --- power -------------------------------------------------------------------------------------


def test_mde_solves_the_power_equation() -> None:
    n, g, p, rho, deff = 168, 28, 0.25, 0.5, 1.5
    mde = minimal_detectable_difference(n, g, p, rho, deff)
    assert paired_power(mde, n, g, p, rho, deff) == pytest.approx(0.80, abs=1e-9)
    # Connor's equation with t(27) quantiles: delta sqrt(n/D) = t_a sqrt(s^2 + delta^2) + t_b s
    va, vb = (p + mde) * (1 - p - mde), p * (1 - p)
    s = math.sqrt(va + vb - 2 * rho * math.sqrt(va * vb))
    lhs = mde * math.sqrt(n / deff)
    rhs = t_quantile(0.975, 27) * math.sqrt(s * s + mde * mde) + t_quantile(0.80, 27) * s
    assert lhs == pytest.approx(rhs, abs=1e-8)
    assert round(mde, 4) == 0.1303


def test_power_monotone_and_unreachable() -> None:
    args = (168, 28, 0.25, 0.3, 1.2)
    powers = [paired_power(d, *args) for d in (0.02, 0.05, 0.1, 0.2, 0.4)]
    assert powers == sorted(powers) and powers[-1] > 0.999
    assert minimal_detectable_difference(4, 4) is None  # 4 clusters: nothing up to +75 pp at 80 %
    # A always passes, B never: no variance, and the exact bound decides from 6 clusters
    assert (paired_power(1.0, 5, 5, base_rate=0.0), paired_power(1.0, 6, 6, base_rate=0.0)) == (0.0, 1.0)
    assert kish_design_effect(168, 28, 0.1) == pytest.approx(1.5, abs=1e-12)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        paired_power(0.2, 10, 1)


def test_design_table_for_the_default_dataset() -> None:
    table = {(r.correlation, r.icc): r for r in design_table(168, 28)}
    assert len(table) == 12
    assert table[(0.5, 0.1)].design_effect == pytest.approx(1.5, abs=1e-12)
    assert table[(0.5, 0.1)].mde == minimal_detectable_difference(168, 28, 0.25, 0.5, 1.5)
    mdes = [table[(rho, 0.1)].mde for rho in (0.0, 0.3, 0.5, 0.7)]
    assert mdes == sorted(mdes, reverse=True)  # correlated models are easier to tell apart


def test_band_sample_sizes() -> None:
    # An observed 25 % fits inside 10-40 % from n = 41 (the upper bound reaches 40 % there) ...
    assert band_sample_size() == 41
    assert wilson(0.25, 40)[1] > 0.40 >= wilson(0.25, 41)[1] and wilson(0.25, 41)[0] > 0.10
    # ... and as a count (11 of 44) from n = 44; n = 40 (10 of 40) does not fit.
    assert (fits_band(10 / 40, 40), fits_band(11 / 44, 44)) == (False, True)
    # A true 25 % lands inside with 80 % odds from n = 88 on, 90 % from n = 111 (exact binomial sums).
    assert band_sample_size_for_odds(0.8) == 88 and band_sample_size_for_odds(0.9) == 111
    assert band_odds(87) < 0.8 <= min(band_odds(n) for n in range(88, 141))
    assert band_odds(44) == pytest.approx(
        sum(math.comb(44, x) * 0.25**x * 0.75 ** (44 - x) for x in range(45) if fits_band(x / 44, 44)), abs=1e-12
    )


def test_the_readme_table_is_printed_by_python_m(capsys: pytest.CaptureFixture) -> None:
    from vsd_inspect.report_power import main

    assert main(["--samples", "168", "--templates", "28"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "| correlation of the two models | ICC of d 0 (D = 1.00) | ICC of d 0.1 (D = 1.50) | ICC of d 0.3 (D = 2.50) |"
    mde = {rho: [minimal_detectable_difference(168, 28, 0.25, rho, d) for d in (1.0, 1.5, 2.5)] for rho in (0, 0.5)}
    assert out[4] == "| 0 | " + " | ".join(f"{100 * m:.1f} pp" for m in mde[0]) + " |" == "| 0 | 14.9 pp | 18.6 pp | 24.6 pp |"
    assert out[6] == "| 0.5 | " + " | ".join(f"{100 * m:.1f} pp" for m in mde[0.5]) + " |"
    assert out[9].startswith("A 25 % pass rate fits inside 10-40 % from n = 41 independent samples (n = 44 for a count")
    assert out[-1].startswith("| placed inside 10–40 % | ")
    with pytest.raises(SystemExit):
        main(["--samples", "10", "--templates", "20"])

"""The hidden checks' laws of variance-stabilized drop-path.

Axis 0 of the input indexes samples (a 1-D input: each element is a sample). Each sample is
kept independently with probability q = 1 − p by one draw that all its elements share, and
every element of a kept sample is multiplied by exactly 1/√q. Inputs have |x| in [0.5, 2]
(1e-3 to 1e3 in one small case) with random signs, so an output element is 0 exactly when its
sample was dropped, and a kept one must equal x/√q to rounding: the (N,) grid of dropped
samples is read out of every output exactly. `laws.md` derives every check's bound and each
known bug's chance.
"""

import math

import numpy as np

from vsd_inspect.grader.lawkit import (
    DEFAULTS,
    DELTA,
    IDENTITY,
    LAW,
    SMALL,
    Case,
    Readout,
    check,
    chi2_lower_quantile,
    hoeffding,
    hoeffding_tail,
    seed_pair,
    signed_input,
)

STRUCTURE = "each sample is all 0 or all x/sqrt(1-p)"
EVENT = "dropped"
GRID = "samples"
# Relative tolerance of "exactly x/sqrt(1-p)", by the input's dtype (laws.md §2): the worst
# legitimate float32 computation errs by 3.8e-7, float64 ones by a few 1e-16.
RTOL = {"float32": 2e-6, "float64": 1e-12}

# The LAW cases (laws.md §3): sample counts N (coprime to 10), elements per sample, rates.
ONE_D_N = (30_001, 32_001)  # tiny, mid: (N,)
WIDE_N = (20_001, 21_001)  # low (N, D), high (N, 1, 2), deep (N, 1, 3, 1)
RATES = {"tiny": (0.001, 0.05), "low": (0.06, 0.35), "mid": (0.2, 0.45), "high": (0.55, 0.94), "deep": (0.55, 0.8)}
IDENTITY_N = (300, 401)  # p0: (N, 3, 4)
# The small inputs (laws.md §3): one sample of one element (also the engine's burn-in input),
# a handful of 1-element samples, one sample of 4, 2-D, 3-D, 4-D; then `swide` (N, a, b) with
# N in SWIDE_N and |x| log-uniform in [1e-3, 1e3]; and a non-contiguous view: rows 1, 4, 7, 10
# and columns 0, 4, 8 of a (12, 10) base, transposed to (3, 4) (3 samples of 4 elements).
SMALL_SHAPES = ((1,), (3,), (1, 4), (2, 3), (3, 1, 2), (2, 1, 3, 2))
SWIDE_N, SWIDE_A, SWIDE_B = (4, 9), (2, 6), (2, 8)
SMALL_VIEW = ((1, 12, 3), (0, 10, 4), "T")
SMALL_RATES = (0.35, 0.65)
DEFAULT_SHAPE = (4097, 2)


def rate_args(param: str, p: float) -> dict:
    """The constructor's arguments (the seed excepted) for drop probability p."""
    return {"p": p}


def bad_args(param: str) -> list[dict]:
    """Argument sets that must raise ValueError."""
    return [{"p": 1.0}, {"p": -0.1}, {"p": 1.5}]  # not NaN: `p < 0 or p >= 1` accepts it, a fair reading


def good_args(param: str) -> list[dict]:
    """Valid extremes that must construct."""
    return [{"p": 0.0}, {"p": 0.999}]


def _samples(rng: np.random.Generator, lo_hi: tuple[int, int]) -> int:
    """A sample count in [lo, hi) coprime to 10: with p on 4 decimals, q·N is never an integer
    (laws.md §5, `realized_keep`)."""
    while True:
        n = int(rng.integers(*lo_hi))
        if n % 2 and n % 5:
            return n


def draw_cases(rng: np.random.Generator, param: str) -> list[Case]:
    """The hidden cases of one grading (laws.md §3). Many samples and few elements each, since
    only the samples carry independent draws; two 1-D cases (one of them at a rate far from 0
    and 1), a 2-D, a 3-D and a 4-D one whose last axis has 2 or 3, 2, and 1 elements; tested
    rates avoid 0.45–0.55 (keeping with probability p or 1 − p is the same law at 0.5); a tiny
    rate tests that a small p is not treated as 0."""

    def seeds() -> tuple[int, int]:
        return seed_pair(rng)

    def rate(lo: float, hi: float) -> float:
        return round(float(rng.uniform(lo, hi)), 4)

    def law(key: str, tail: tuple, sizes: tuple[int, int], dtype: str) -> Case:
        p = rate(*RATES[key])
        shape = (_samples(rng, sizes), *tail)
        return Case(key, LAW, rate_args(param, p), p, shape, dtype, seeds(), label=_label(p, shape, dtype))

    identity_shape = (int(rng.integers(*IDENTITY_N)), 3, 4)
    cases = [
        Case("p0", IDENTITY, rate_args(param, 0.0), 0.0, identity_shape, "float64", seeds(), label=_label(0.0, identity_shape, "float64")),
        law("tiny", (), ONE_D_N, "float64"),
        law("low", (int(rng.integers(2, 4)),), WIDE_N, "float64"),
        law("mid", (), ONE_D_N, "float32"),
        law("high", (1, 2), WIDE_N, "float32"),
        law("deep", (1, 3, 1), WIDE_N, "float64"),
    ]
    # SMALL: the first one, (1,), is also the input of the engine's burn-in calls.
    for i, shape in enumerate(SMALL_SHAPES):
        p, dtype = rate(*SMALL_RATES), ("float64", "float32")[i % 2]
        cases.append(Case(f"s{i}", SMALL, rate_args(param, p), p, shape, dtype, seeds(), label=_label(p, shape, dtype)))
    p = rate(*SMALL_RATES)
    shape = (int(rng.integers(*SWIDE_N)), int(rng.integers(*SWIDE_A)), int(rng.integers(*SWIDE_B)))
    magnitudes = {"low": 1e-3, "high": 1e3, "log": True}
    cases.append(Case("swide", SMALL, rate_args(param, p), p, shape, "float64", seeds(), magnitudes, label=_label(p, shape, "float64") + ", |x| from 1e-3 to 1e3"))
    p = rate(*SMALL_RATES)
    cases.append(Case("sview", SMALL, rate_args(param, p), p, (3, 4), "float64", seeds(), view=SMALL_VIEW, label=_label(p, (3, 4), "float64") + ", a non-contiguous view"))
    cases.append(Case("default", DEFAULTS, rate_args(param, 0.5), 0.5, DEFAULT_SHAPE, "float64", (0, 0), label="p=0.5 by default, seed None"))
    return cases


def _label(p: float, shape: tuple, dtype: str) -> str:
    return f"p={p:.4g} {'×'.join(map(str, shape))} {dtype}"


def make_input(rng: np.random.Generator, case: Case, shape: tuple) -> np.ndarray:
    magnitudes = {k: case.params[k] for k in ("low", "high", "log") if k in case.params}
    return signed_input(rng, shape, case.dtype, **magnitudes)


def event_probability(case: Case) -> float:
    return case.rate


def readout(case: Case, x: np.ndarray, y: np.ndarray) -> Readout:
    """Every element of a dropped sample is exactly 0, every element of a kept one is x/√q to
    RTOL; the events are the (N,) grid of dropped samples (N = x.shape[0]: for SMALL cases the
    engine stacks the calls along axis 0, so each row is one sample of one call)."""
    n = x.shape[0]
    s = 1.0 / math.sqrt(1.0 - case.rate)
    xs = x.astype(np.float64).reshape(n, -1) * s
    ys = y.astype(np.float64).reshape(n, -1)
    zero = ys == 0
    rel = np.abs(ys - xs)
    rel /= np.abs(xs)  # |x·s| ≥ 1e-3·s > 0
    bound = RTOL[case.dtype]
    dropped = zero.all(axis=1)
    kept = (rel <= bound).all(axis=1)  # a NaN is neither 0 nor within the bound
    bad = int(np.count_nonzero(~(dropped | kept)))
    rel[zero] = 0.0  # dropped elements do not count towards the worst deviation
    worst = float(rel.max(initial=0.0))
    why = f"{bad} of {n} samples are neither all 0 nor all x/sqrt(1-p)" if bad else ""
    return Readout(bad == 0, worst, bound, dropped, None, why)


def law_checks(case: Case, x: np.ndarray, out: dict, reads: dict) -> list[dict]:
    """The goal's own statement: each element keeps its second moment, mean(y1²) = mean(x²)."""
    return [_second_moment_check(case, x, out["y1"])]


def _second_moment_check(c: Case, x: np.ndarray, y: np.ndarray) -> dict:
    """mean(y²) against mean(x²), conditional on x (laws.md §4).

    Given x, A = mean(y²) = (1/E) Σ_n M_n s² S_n (S_n = Σ_j x_nj², E the element count) is a
    sum of one independent term per sample, of range [0, s² S_n / E], with E A = mean(x²)
    (q·s² = 1), so Hoeffding gives |A − E A| ≤ t_A with probability ≥ 1 − DELTA. A slack of
    3·RTOL·A covers the kept elements' rounding, which the read-out bounds by RTOL each.
    """
    n = x.shape[0]
    xf = x.astype(np.float64).reshape(n, -1)
    s2 = 1.0 / (1.0 - c.rate)
    per_sample = np.square(xf).sum(axis=1)  # ufuncs only, no BLAS (laws.md §8)
    elements = xf.size
    target = float(per_sample.sum()) / elements
    yf = y.astype(np.float64).ravel()
    got = float(np.square(yf).sum()) / elements  # not np.dot: BLAS races when gradings share a process
    t_a = math.sqrt(float(np.sum((s2 * per_sample) ** 2)) * math.log(2 / DELTA) / 2) / elements
    tol = t_a + 3 * RTOL[c.dtype] * got
    return check(
        "moments",
        f"{c.name}: each element keeps its second moment, mean(y²) = mean(x²)",
        abs(got - target) <= tol,
        f"mean(y²) / mean(x²) = {got / target:.4f}",
        f"1 ± {tol / target:.4f}",
        True,
    )


# ---------------------------------------------------------------- power (laws.md §5, §6)

OUTPUTS = 6  # training outputs read out per LAW case: y1, y2, y3, y4, y5, yd
FLOOR = 1e-300  # reported for a positive probability whose exact figure underflows


def _at_most(log10: float) -> float:
    """10^log10, or FLOOR when that underflows (still an upper bound)."""
    return 10.0**log10 if log10 > -300 else FLOOR


def _rate_gap(p: float, n: int) -> float:
    """How far a dropped fraction of 0 or 1 stays outside p ± t(n) (positive: rate fails)."""
    return min(p, 1 - p) - hoeffding(n)


def _pair_gap(pq: float, n: int) -> float:
    """paired_samples: rate and independence both pass only if pq ≤ t(N) + t(⌊N/2⌋) + 1/N."""
    return pq - hoeffding(n) - hoeffding(n // 2) - 1 / n


def _qualifying_outputs() -> range:
    """K, the LAW outputs with Npq ≥ 1000: low, mid, high and deep always, tiny sometimes."""
    lo = {k: RATES[k][0] for k in RATES}
    hi = {k: RATES[k][1] for k in RATES}
    always = [
        WIDE_N[0] * lo["low"] * (1 - lo["low"]),
        ONE_D_N[0] * lo["mid"] * (1 - lo["mid"]),
        WIDE_N[0] * hi["high"] * (1 - hi["high"]),
        WIDE_N[0] * hi["deep"] * (1 - hi["deep"]),
    ]
    if min(always) < 1000:
        raise AssertionError("a LAW case no longer reaches Npq ≥ 1000 at every rate of its range")
    return range(4 * OUTPUTS, 5 * OUTPUTS + 1, OUTPUTS)


def power() -> dict[str, tuple[float, str]]:
    """Each planted bug and known wrong implementation -> (an upper bound on the probability
    that it passes every check designated to catch it in one grading, why). laws.md §5, §6."""
    n_low, n_1d = WIDE_N[0], ONE_D_N[0]
    p_low_lo, p_low_hi = RATES["low"]
    pq_low = p_low_lo * (1 - p_low_lo)  # the smallest pq on `low`
    mixed_low = 1 - (p_low_lo**2 + (1 - p_low_lo) ** 2)  # a 2-element sample mixed, at least
    pq_deep = RATES["deep"][1] * (1 - RATES["deep"][1])
    pq_mid = RATES["mid"][0] * (1 - RATES["mid"][0])
    gaps = {
        "batch_shared": _rate_gap(p_low_lo, n_low),
        "fresh_low": 2 * pq_low - hoeffding(n_low),
        "one_d": _rate_gap(RATES["mid"][0], n_1d),
        "paired_deep": _pair_gap(pq_deep, n_low),
        "paired_mid": _pair_gap(pq_mid, n_1d),
        "defaults": 0.5 - hoeffding(DEFAULT_SHAPE[0]),
    }
    ks = _qualifying_outputs()
    dispersion = min(chi2_lower_quantile(k) - k / 4000 for k in ks)  # exact counts: S ≤ K·0.25/1000
    if min(gaps.values()) <= 0 or dispersion <= 0:
        raise AssertionError(f"the case sizes no longer carry the deterministic arguments of laws.md §5–6: {gaps}, {dispersion}")
    keep_p = max(hoeffding_tail(n_low, (1 - 2 * p_low_hi) - hoeffding(n_low)), FLOOR)
    all_dropped_low = _at_most(n_low * math.log10(p_low_hi))  # every sample of y1 dropped at `low`
    all_dropped_tiny = _at_most(n_1d * math.log10(RATES["tiny"][1]))
    no_mixed_low = _at_most(n_low * math.log10(1 - mixed_low))
    same_stream = _at_most(n_low * math.log10(1 - 2 * pq_low))  # two streams give one mask at `low`
    s2 = SMALL_SHAPES[2]  # one sample of 4 elements, 200 calls
    lo, hi = SMALL_RATES
    small_mixed = 1 - (hi ** s2[1] + lo ** s2[1])
    small_elementwise = _at_most(200 * math.log10(1 - small_mixed))
    default_p = _at_most(2 * DEFAULT_SHAPE[0] * math.log10(0.1))
    t_low = hoeffding(n_low)
    return {
        "scale_mean": (all_dropped_low, "structure: kept y/(x·s) = 1/√q ≥ 1 + 5.0e-4 (p ≥ 0.001) ≫ RTOL; passes only if every sample of every output is dropped (≤ 0.35^20001 at `low`)"),
        "elementwise": (no_mixed_low, f"structure at `low` (D ≥ 2): a sample is mixed w.p. ≥ 2pq ≥ {mixed_low:.4f}; none mixed in y1 ≤ {1 - mixed_low:.4f}^{n_low}"),
        "batch_shared": (0.0, f"rate at `low`: the dropped fraction is 0 or 1, ≥ {gaps['batch_shared']:.4f} outside p ± t (p ∈ [0.06, 0.35))"),
        "keep_p": (keep_p, f"rate at `low`: the dropped fraction has mean q, |q − p| ≥ 0.3 (Hoeffding, N ≥ {n_low}, t = {t_low:.4f})"),
        "last_axis": (0.0, "structure or rate at `low`: the D ≥ 2 last-axis draws are shared by all samples; unequal: every sample mixed; equal: fraction 0 or 1"),
        "realized_keep": (all_dropped_low, "structure on tiny, low, deep (float64): qN has a non-zero fraction ≥ 1e-4, so the scale √(N/(K + 1e-7)) is ≥ 1.0e-9 off 1/√q ≫ 1e-12 whenever K ≥ 1"),
        "mask_reused": (0.0, f"fresh at `low`: y2 agrees with y1 everywhere, 1 against p² + q² ± t, 2pq − t ≥ {gaps['fresh_low']:.4f}"),
        "global_rng": (same_stream, f"reproduce: y1r = y1 needs two stretches of the global stream to give one mask, ≤ (p² + q²)^N ≤ {1 - 2 * pq_low:.4f}^{n_low}"),
        "fixed_seed": (0.0, "seeds: yd (seed B) = y1 (seed A), agreement 1 against p² + q² ± t at `low`"),
        "none_seed_fixed": (0.0, f"defaults: the two Class() layers agree everywhere, 1 against 0.5 ± {hoeffding(DEFAULT_SHAPE[0]):.4f}"),
        "class_level_rng": (same_stream, "reproduce: the twin draws y1r from the generator the other layer reseeded and drew from, as global_rng"),
        "train_resets_rng": (0.0, "fresh at `low`: y3 (after train → eval → train) = y1"),
        "reseed_on_new_batch": (0.0, "fresh at `low`: y4 follows 40 calls on a one-sample input, the generator restarts: y4 = y1"),
        "inplace": (0.0, "unmodified / runtime: the worker's inputs are read-only, the in-place write raises"),
        "paired_samples": (0.0, f"rate or independence at `deep` (and `mid`): pq − t − t' − 1/N ≥ {min(gaps['paired_deep'], gaps['paired_mid']):.4f} > 0"),
        "exact_count": (0.0, f"dispersion: |k − Np| ≤ 1/2, S ≤ K/4000 below the χ² floor (margin ≥ {dispersion:.3f}, K = {ks.start} or {ks.stop - 1})"),
        "small_elementwise": (small_elementwise, f"small at s2 (1, 4): a call mixes its sample w.p. ≥ {small_mixed:.4f}; none in 200 calls"),
        "one_d_single_sample": (0.0, f"rate at `mid` (1-D): all kept or all dropped, ≥ {gaps['one_d']:.4f} outside p ± t"),
        "default_p": (default_p, "defaults: Class() keeps with 1/√0.9, not √2: passes only if all 8,194 samples are dropped (0.1^8194)"),
        "no_valueerror": (0.0, "interface: p = 1.0, −0.1, 1.5, nan construct"),
        "eval_sqrt_scaled": (0.0, "eval: ye = x·√q ≠ x at every LAW rate"),
        "visible_rates_only": (all_dropped_tiny, "structure at `tiny`: p never 0.3, 0.5 or 0.7, kept y/(x·s) = 1/√q ≥ 1 + 5.0e-4; passes only if every sample is dropped"),
    }

"""The hidden checks' laws of channel variance-stabilized dropout.

The input is laid out (N, C, ...): every (sample, channel) pair is kept independently with
probability q = 1 − p by one draw that all its positions share, and every element of a kept
channel is multiplied by exactly 1/√q. Inputs have |x| in [0.5, 2] (1e-3 to 1e3 in one small
case) with random signs, so an output element is 0 exactly when its channel was dropped, and a
kept one must equal x/√q to rounding: the (N, C) grid of dropped channels is read out of every
output exactly. `laws.md` derives every check's bound and each known bug's chance.
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
    kept_deviation,
    seed_pair,
    shape_with,
    signed_input,
)

STRUCTURE = "each channel (n, c) is 0 at every position or x/sqrt(1-p) at every position"
EVENT = "dropped"
GRID = "channels"
# Relative tolerance of "exactly x/sqrt(1-p)", by the input's dtype (laws.md §4): the worst
# legitimate computation rounds p, 1 − p, the root, the division and the product in the input's
# dtype, at most 13 unit roundoffs at p = 0.95 (7.7e-7 in float32, 1.4e-15 in float64).
RTOL = {"float32": 2e-6, "float64": 1e-12}

# The small inputs (laws.md §7): one element, a handful, 3-D with one position, 4-D and 5-D.
SMALL_SHAPES = ((1, 1), (1, 3), (3, 1), (2, 2, 1), (1, 1, 1, 1), (2, 1, 3), (2, 3, 2, 1, 2))
# Non-contiguous views, each with its shape: a strided (3, 4, 4) cut of a (6, 8, 5) base; a
# (3, 6, 2) cut of a (7, 6, 4) base, transposed to (2, 6, 3); one channel of a (6, 4, 5) base.
SMALL_VIEWS = (
    (((0, 6, 2), (1, 8, 2), (1, 5, 1)), (3, 4, 4)),
    (((1, 7, 2), (0, 6, 1), (0, 4, 3), "T"), (2, 6, 3)),
    (((0, 6, 1), (3, 4, 1), (0, 5, 1)), (6, 1, 5)),
)
DEFAULT_SHAPE = (250, 40, 2)

# The LAW cases' sizes (laws.md §2), which `power` below relies on.
TINY_K, LOW_K = (16_000, 18_001), (30_000, 34_001)  # 2-D: channels N·C ≥ K
TINY_N, LOW_N = (100, 141), (150, 201)
WIDE_N, WIDE_C = (360, 441), (24, 29)  # the cases with 3 or more axes: N·C ≥ 8,640


def rate_args(param: str, p: float) -> dict:
    """The constructor's arguments (the seed excepted) for drop probability p."""
    return {"p": p} if param == "p" else {"keep_prob": round(1.0 - p, 12)}


def bad_args(param: str) -> list[dict]:
    """Argument sets that must raise ValueError."""
    if param == "p":
        return [{"p": 1.0}, {"p": -0.1}, {"p": 1.5}]
    return [{"keep_prob": 0.0}, {"keep_prob": -0.2}, {"keep_prob": 1.5}]


def good_args(param: str) -> list[dict]:
    """Valid extremes that must construct."""
    return [{"p": 0.0}, {"p": 0.999}] if param == "p" else [{"keep_prob": 1.0}, {"keep_prob": 0.001}]


def draw_cases(rng: np.random.Generator, param: str) -> list[Case]:
    """The hidden cases of one grading (laws.md §2). Tested rates avoid (0.45, 0.55), where
    keeping with probability p or 1 − p is the same law; two 2-D cases (one element per
    channel) and four of 3 to 5 axes, each of those with N ≥ 360 samples, a last axis of 2 or 3
    and at least 2 positions per channel; a tiny rate tests that a small p is not treated as 0."""

    def seeds() -> tuple[int, int]:
        return seed_pair(rng)

    def rate(lo: float, hi: float) -> float:
        return round(float(rng.uniform(lo, hi)), 4)

    def flat(ks: tuple[int, int], ns: tuple[int, int]) -> tuple[int, int]:
        n, k = int(rng.integers(*ns)), int(rng.integers(*ks))
        return n, 2 * math.ceil(k / n / 2)  # C even: the pairs along axis 1 cover every channel

    def wide(*rest: int) -> tuple[int, ...]:
        return (int(rng.integers(*WIDE_N)), int(rng.integers(*WIDE_C)), *rest)

    def law(key: str, p: float, shape: tuple, dtype: str, plus: float = 0.5) -> Case:
        mean = ", mean ≠ 0" if plus != 0.5 else ""
        return Case(key, LAW, rate_args(param, p), p, shape, dtype, seeds(), {"plus": plus}, None, _label(param, p, shape, dtype) + mean)

    identity_shape = (int(rng.integers(40, 61)), int(rng.integers(20, 31)), 3)
    cases = [
        Case("p0", IDENTITY, rate_args(param, 0.0), 0.0, identity_shape, "float64", seeds(), label=_label(param, 0.0, identity_shape, "float64")),
        law("tiny", rate(0.001, 0.0499), flat(TINY_K, TINY_N), "float64"),
        law("low", rate(0.08, 0.35), flat(LOW_K, LOW_N), "float64"),
        law("high", rate(0.55, 0.95), wide(int(rng.integers(1, 3)), 2), "float32"),
        law("mean64", rate(0.2, 0.45), wide(int(rng.integers(2, 4))), "float64", round(float(rng.uniform(0.8, 0.95)), 4)),
        law("mean32", rate(0.55, 0.8), wide(1, int(rng.integers(1, 3)), 2), "float32", round(float(rng.uniform(0.8, 0.95)), 4)),
    ]
    # SMALL: the first one, (1, 1), is also the input of the engine's burn-in calls.
    for i, shape in enumerate(SMALL_SHAPES):
        p, dtype = rate(0.35, 0.65), ("float64", "float32")[i % 2]
        cases.append(Case(f"s{i}", SMALL, rate_args(param, p), p, shape, dtype, seeds(), label=_label(param, p, shape, dtype)))
    p = rate(0.35, 0.65)
    shape = shape_with(rng, 3, int(rng.integers(16, 301)), lead=(2, 7))
    magnitudes = {"low": 1e-3, "high": 1e3, "log": True}
    cases.append(Case("swide", SMALL, rate_args(param, p), p, shape, "float64", seeds(), magnitudes, label=_label(param, p, shape, "float64") + ", |x| from 1e-3 to 1e3"))
    for i, (view, shape) in enumerate(SMALL_VIEWS):
        p, dtype = rate(0.35, 0.65), ("float64", "float32")[i % 2]
        cases.append(Case(f"sview{i}", SMALL, rate_args(param, p), p, shape, dtype, seeds(), view=view, label=_label(param, p, shape, dtype) + ", a non-contiguous view"))
    cases.append(Case("default", DEFAULTS, rate_args(param, 0.5), 0.5, DEFAULT_SHAPE, "float64", (0, 0), label=f"{param}=0.5 by default, seed None"))
    return cases


def _label(param: str, p: float, shape: tuple, dtype: str) -> str:
    value = p if param == "p" else round(1.0 - p, 12)
    return f"{param}={value:.4g} {'×'.join(map(str, shape))} {dtype}"


def make_input(rng: np.random.Generator, case: Case, shape: tuple) -> np.ndarray:
    magnitudes = {k: case.params[k] for k in ("low", "high", "log") if k in case.params}
    return signed_input(rng, shape, case.dtype, plus=case.params.get("plus", 0.5), **magnitudes)


def event_probability(case: Case) -> float:
    return case.rate


def readout(case: Case, x: np.ndarray, y: np.ndarray) -> Readout:
    """Dropped elements are exactly 0, a kept one is x/√q to RTOL, and every channel (n, c) is
    all dropped or all kept; the events are the (N, C) grid of dropped channels."""
    s = 1.0 / math.sqrt(1.0 - case.rate)
    worst, kept = kept_deviation(x, y, s)
    n, c = x.shape[0], x.shape[1]
    per_channel = kept.reshape(n, c, -1)
    kept_all, kept_any = per_channel.all(axis=2), per_channel.any(axis=2)
    mixed = int(np.count_nonzero(kept_all != kept_any))
    bound = RTOL[case.dtype]
    why = f"{mixed} of {n * c} channels partly dropped" if mixed else ""
    return Readout(worst <= bound and mixed == 0, worst, bound, ~kept_any, None, why)


def law_checks(case: Case, x: np.ndarray, out: dict, reads: dict) -> list[dict]:
    """The moment the concept preserves: Var(y) = σ² + μ²p (σ², μ: the input's own)."""
    return [_variance_check(case, x.astype(np.float64), out["y1"].astype(np.float64))]


def _variance_check(c: Case, x: np.ndarray, y: np.ndarray) -> dict:
    """Var(y) against σ² + μ²·p, conditional on x (laws.md §5).

    Given x, A = mean(y²) and B = mean(y) are sums of one independent bounded term per channel
    (M s² S and M s T, S and T the channel's sums of x² and x: its positions share M), so
    Hoeffding gives |A − E A| ≤ tA and |B − E B| ≤ tB, each with probability ≥ 1 − DELTA/2, and
    then |Var(y) − (σ² + μ²p)| ≤ tA + tB (2|E B| + tB). A slack covers the kept elements'
    rounding, which the read-out bounds by RTOL each.
    """
    q = 1.0 - c.rate
    s = 1.0 / math.sqrt(q)
    n = x.size
    per_channel = x.reshape(x.shape[0] * x.shape[1], -1)
    sq = (per_channel * per_channel).sum(axis=1) * (s * s)
    lin = per_channel.sum(axis=1) * s
    lg = math.log(4 / DELTA) / 2
    t_a = math.sqrt(float(np.sum(sq * sq)) * lg) / n
    t_b = math.sqrt(float(np.sum(lin * lin)) * lg) / n
    e_b = q * s * float(x.mean())
    eps = RTOL[c.dtype]
    a_obs, b_obs, abs_obs = float(np.mean(y * y)), float(y.mean()), float(np.mean(np.abs(y)))
    rounding = 3 * eps * a_obs + 1.01 * eps * abs_obs * (2 * abs(b_obs) + 1.01 * eps * abs_obs)
    tol = t_a + t_b * (2 * abs(e_b) + t_b) + rounding
    var_x, mu = float(x.var()), float(x.mean())
    target = var_x + mu * mu * c.rate
    got = float(y.var())
    name = "variance law Var = σ² + μ²p" if c.params.get("plus", 0.5) != 0.5 else "variance preserved"
    return check(
        "moments", f"{c.name}: {name}", abs(got - target) <= tol, f"Var(y) / target = {got / target:.4f}", f"1 ± {tol / target:.4f}", True
    )


# ---------------------------------------------------------------- power (laws.md §6)

OUTPUTS = 6  # training outputs read out per LAW case: y1, y2, y3, y4, y5, yd
MIN_TINY_M, MIN_LOW_M = TINY_K[0], LOW_K[0]  # N·C ≥ K, since C ≥ K/N
MIN_LOW_PAIRS1 = LOW_K[0] // 2  # C even: N·C/2 pairs along axis 1
MIN_WIDE_M = WIDE_N[0] * WIDE_C[0]  # 8,640
MIN_WIDE_PAIRS = (WIDE_N[0] // 2) * WIDE_C[0]  # along axis 0 (floor(N/2)·C); along axis 1 N·floor(C/2) ≥ the same


def _shared_axis_gap(pq: float, m: int, pairs: int) -> float:
    """How far a grid constant along one axis stays outside `independence` once `rate` passed:
    pq − t(m) − t(pairs) (positive: the pair of checks fails whatever the draws)."""
    return pq - hoeffding(m) - hoeffding(pairs)


def _dispersion_margin() -> float:
    """fixed_count: S ≤ K / (4·1000) against the floor of K qualifying outputs, K = 18 to 36."""
    return min(chi2_lower_quantile(k) - k / 4000 for k in range(3 * OUTPUTS, 6 * OUTPUTS + 1, OUTPUTS))


def power() -> dict[str, tuple[float, str]]:
    """Each planted bug and known wrong implementation -> (an upper bound on the probability
    that it passes every check designated to catch it in one grading, why). laws.md §6."""
    pq_low, pq_wide = 0.08 * 0.92, 0.2 * 0.8
    low_gap = _shared_axis_gap(pq_low, MIN_LOW_M, MIN_LOW_PAIRS1)
    wide_gap = _shared_axis_gap(pq_wide, MIN_WIDE_M, MIN_WIDE_PAIRS)
    if min(low_gap, wide_gap) <= 0 or _dispersion_margin() <= 0:
        raise AssertionError("the case sizes no longer carry the deterministic arguments of laws.md §6")
    # At p ∈ [0.2, 0.45] (mean64) one sample's last-axis draws agree with probability ≤ p² + q² ≤ 0.68.
    consistent = math.exp(OUTPUTS * WIDE_N[0] * math.log(0.2**2 + 0.8**2))
    mixed_free = math.exp(OUTPUTS * MIN_WIDE_M * math.log(1 - 2 * pq_wide))
    keep_p = hoeffding_tail(MIN_LOW_M, 0.3 - hoeffding(MIN_LOW_M))
    return {
        "scale_mean": (0.0, "structure: kept y/(x·s) = 1/√q ≥ 1 + 5e-4 at every tested rate, RTOL ≤ 2e-6"),
        "elementwise": (mixed_free, "structure at mean64: each channel of L ≥ 2 positions is mixed w.p. ≥ 2pq ≥ 0.32, ≥ 8,640 channels × 6 outputs"),
        "batch_shared": (0.0, f"rate or independence along axis 0 at mean64: pq − t − t' ≥ {wide_gap:.3f} > 0"),
        "channels_last": (consistent, "structure at mean64: all ≥ 360 samples need equal draws along the last axis (≤ 0.68 each), 6 outputs"),
        "keep_p": (keep_p, "rate at `low`: the dropped fraction has mean q, |q − p| ≥ 0.3 (Hoeffding, m ≥ 30,000)"),
        "same_mask": (0.0, "fresh: y2 agrees with y1 everywhere, 1 against p² + q² ± t, 2pq − t > 0.12 at `low`"),
        "sample_shared": (0.0, f"rate or independence along axis 1 at mean64: pq − t − t' ≥ {wide_gap:.3f} > 0"),
        "global_rng": (0.0, "reproduce: y1r = y1 needs the global stream to repeat every channel's draw, ≤ 0.68^8640 (underflows)"),
        "inplace": (0.0, "runtime: the worker's inputs are read-only, the in-place write raises"),
        "fixed_seed": (0.0, "seeds: yd (another seed) = y1, agreement 1 against p² + q² ± t"),
        "seed_zero_default": (0.0, "defaults: the two Class() layers agree everywhere, 1 against 0.5 ± 0.038"),
        "torch_unbatched_2d": (0.0, f"rate or independence along axis 1 at `low` (2-D, rows shared): pq − t − t' ≥ {low_gap:.4f} > 0"),
        "fixed_count": (0.0, f"dispersion: S ≤ K/4000 below the χ² floor (margin ≥ {_dispersion_margin():.3f}, K = 18 to 36)"),
        "default_p": (0.0, "defaults: Class() reads out at 1/√0.9, 25 % from √2"),
        "no_valueerror": (0.0, "interface: p = 1.0, -0.1, 1.5 raise nothing"),
        "torch7_unscaled": (0.0, "structure: kept multiplier 1, 1 − √q ≥ 5e-4; eval returns √q·x"),
        "skip_small": (0.0, "small at (1, 1): every call returns x, y/(x·s) = √q ≤ 0.81"),
    }

"""The hidden checks' laws of variance-stabilized dropout (the seed's concept).

Each element is kept independently with probability q = 1 − p and multiplied by exactly
1/√q. Inputs have |x| in [0.5, 2] with random signs, so an output element is 0 exactly when
the element was dropped, and a kept one must equal x/√q to rounding: the mask is read out of
every output exactly. `laws.md` derives every check's bound and each known bug's chance.
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
    hoeffding,
    hoeffding_tail,
    kept_deviation,
    seed_pair,
    shape_with,
    signed_input,
)

STRUCTURE = "each output element is 0 or x/sqrt(1-p)"
EVENT = "dropped"
GRID = "elements"
# Relative tolerance of "exactly x/sqrt(1-p)", by the input's dtype: a float32 product and a
# float32 scale each round once (2^-24 ≈ 6e-8); float64 rounds within a few 1e-16.
RTOL = {"float32": 2e-6, "float64": 1e-12}
# The small inputs: 1 and 3 elements, 2-D, 4-D, one of 13 to 300 elements whose magnitudes
# span 1e-3 to 1e3, and a non-contiguous view (rows 1, 4, 7, 10 and columns 0, 4, 8 of a
# 12 × 10 base, transposed: shape (3, 4)).
SMALL_SHAPES = ((1,), (3,), (2, 3), (2, 1, 3, 2))
SMALL_VIEW = ((1, 12, 3), (0, 10, 4), "T")


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
    """The hidden cases of one grading. Rates that test the mask probability avoid 0.4–0.6
    (at p = 0.5 keeping with probability p or 1 − p is the same) and 0–0.1 / 0.9–1 (where
    independent and shared masks are too alike for the sizes here); a tiny rate tests that a
    small p is not treated as 0."""

    def seeds() -> tuple[int, int]:
        return seed_pair(rng)

    def law(key: str, lo: float, hi: float, ndim: int, size: tuple[int, int], dtype: str, plus: float = 0.5) -> Case:
        p = round(float(rng.uniform(lo, hi)), 4)
        shape = shape_with(rng, ndim, int(rng.integers(*size)))
        mean = ", mean ≠ 0" if plus != 0.5 else ""
        return Case(key, LAW, rate_args(param, p), p, shape, dtype, seeds(), {"plus": plus}, None, _label(param, p, shape, dtype) + mean)

    def sign_bias() -> float:
        return 0.9 if rng.random() < 0.5 else 0.1

    identity_shape = shape_with(rng, 2, 8000)
    cases = [
        Case("p0", IDENTITY, rate_args(param, 0.0), 0.0, identity_shape, "float64", seeds(), label=_label(param, 0.0, identity_shape, "float64")),
        law("tiny", 0.001, 0.0499, 1, (20_000, 24_001), "float64"),  # rounded to 4 decimals: < 0.05
        law("low", 0.1, 0.4, 1, (40_000, 50_001), "float64"),
        law("high", 0.6, 0.9, 2, (40_000, 50_001), "float32"),
        law("mean64", 0.2, 0.4, 3, (30_000, 40_001), "float64", sign_bias()),
        law("mean32", 0.6, 0.8, 4, (30_000, 40_001), "float32", sign_bias()),
    ]
    for i, shape in enumerate(SMALL_SHAPES):
        p = round(float(rng.uniform(0.35, 0.65)), 4)
        dtype = ("float64", "float32")[i % 2]
        cases.append(Case(f"s{i}", SMALL, rate_args(param, p), p, shape, dtype, seeds(), label=_label(param, p, shape, dtype)))
    p = round(float(rng.uniform(0.35, 0.65)), 4)
    shape = shape_with(rng, 2, int(rng.integers(13, 301)), lead=(2, 6))
    wide = {"low": 1e-3, "high": 1e3, "log": True}
    cases.append(Case("swide", SMALL, rate_args(param, p), p, shape, "float64", seeds(), wide, label=_label(param, p, shape, "float64") + ", |x| from 1e-3 to 1e3"))
    p = round(float(rng.uniform(0.35, 0.65)), 4)
    cases.append(Case("sview", SMALL, rate_args(param, p), p, (3, 4), "float64", seeds(), view=SMALL_VIEW, label=_label(param, p, (3, 4), "float64") + ", a non-contiguous view"))
    cases.append(Case("default", DEFAULTS, rate_args(param, 0.5), 0.5, (4096,), "float64", (0, 0), label=f"{param}=0.5 by default, seed None"))
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
    """Dropped elements are exactly 0; a kept element must be x/√q to RTOL."""
    s = 1.0 / math.sqrt(1.0 - case.rate)
    worst, kept = kept_deviation(x, y, s)
    bound = RTOL[case.dtype]
    return Readout(worst <= bound, worst, bound, ~kept)


def law_checks(case: Case, x: np.ndarray, out: dict, reads: dict) -> list[dict]:
    """The moment the concept preserves: Var(y) = σ² + μ²p (σ², μ: the input's own)."""
    return [_variance_check(case, x.astype(np.float64), out["y1"].astype(np.float64))]


def _variance_check(c: Case, x: np.ndarray, y: np.ndarray) -> dict:
    """Var(y) against σ² + μ²·p, conditional on x.

    Given x, A = mean(y²) and B = mean(y) are means of independent bounded terms
    (M_i x_i² s² and M_i x_i s), so Hoeffding gives |A − E A| ≤ tA and |B − E B| ≤ tB, each
    with probability ≥ 1 − DELTA/2, and then |Var(y) − (σ² + μ²p)| ≤ tA + tB (2|E B| + tB).
    """
    q = 1.0 - c.rate
    s = 1.0 / math.sqrt(q)
    n = x.size
    lg = math.log(4 / DELTA) / 2
    t_a = math.sqrt(float(np.sum((x * x * s * s) ** 2)) * lg) / n
    t_b = math.sqrt(float(np.sum((x * s) ** 2)) * lg) / n
    e_b = q * s * float(x.mean())
    tol = t_a + t_b * (2 * abs(e_b) + t_b)
    var_x, mu = float(x.var()), float(x.mean())
    target = var_x + mu * mu * c.rate
    got = float(y.var())
    name = "variance law Var = σ² + μ²p" if c.params.get("plus", 0.5) != 0.5 else "variance preserved"
    return check(
        "moments", f"{c.name}: {name}", abs(got - target) <= tol, f"Var(y) / target = {got / target:.4f}", f"1 ± {tol / target:.4f}", True
    )


# The smallest LAW sizes and gaps `power` uses (draw_cases above; laws.md §3 and §6).
MIN_LOW_N = 40_000  # the `low` case: p in [0.1, 0.4]
KEEP_P_GAP = 0.2  # |q − p| = 1 − 2p at p ≤ 0.4


def power() -> dict[str, tuple[float, str]]:
    """Each planted bug and known wrong implementation -> (an upper bound on the probability
    that it passes every check designated to catch it in one grading, why). laws.md §6."""
    keep_p = hoeffding_tail(MIN_LOW_N, KEEP_P_GAP - hoeffding(MIN_LOW_N))
    table = {
        "scale_mean": (0.0, "structure: kept y/(x·s) = 1/√q ≥ 1 + 5e-4 at every tested rate, RTOL ≤ 2e-6"),
        "keep_p": (keep_p, "rate at `low`: the dropped fraction has mean q, |q − p| ≥ 0.2 (Hoeffding)"),
        "eval_scaled": (0.0, "eval: ye = x·s ≠ x for p > 0"),
        "sqrt_p": (0.0, "structure: y/(x·s) = √(q/p) ≥ 1.22 at `low`"),
        "same_mask_every_call": (0.0, "fresh: agreement 1 against p² + q² ± t, 2pq − t > 0.16 at `low`"),
        "mask_shared_along_last_axis": (0.0, "rate at `low` (1-D): all kept or all dropped, ≥ 0.1 from p ≫ t"),
        "row_mask_broadcast": (0.0, "rate or independence along axis 1 at `high`: pq − t − t' > 0.04"),
        "global_random_state": (2.0 ** -20000, "reproduce: two streams agree on every element of y1 with (p² + q²)^n"),
        "class_level_rng": (2.0 ** -20000, "reproduce: as global_random_state"),
        "modifies_input": (0.0, "runtime: the write into a read-only buffer raises"),
        "exact_count_permutation": (0.0, "dispersion: S ≤ K·0.25/1000 ≤ 0.007, below the floor 0.57 (K = 20)"),
        "train_resets_rng": (0.0, "fresh: y3 = y1"),
        "identity_at_small_p": (0.0, "structure at `tiny`: y/(x·s) = √q ≤ 1 − 5e-4"),
        "small_inputs_identity": (0.0, "small: y = x, never x·s"),
        "small_inputs_mean_scale": (0.0, "small: y = x/q, never x·s"),
        "fixed_internal_seed": (0.0, "seeds: yd = y1"),
        "seed_or_zero": (0.0, "defaults: the two Class() layers agree everywhere, 1 against 0.5 ± 0.06"),
        "wrong_default_rate": (0.0, "defaults: Class() reads out at 1/√0.7, 15 % from √2"),
        "train_eval_return_none": (0.0, "interface: a flag"),
        "no_value_error": (0.0, "interface: a flag"),
        "forward_differs_from_call": (0.0, "reproduce: y1r (forward) ≠ y1 (__call__)"),
        "late_calls_mean_scale": (0.0, "structure: y4 is call 45, every kept element off by 1/√q"),
        "late_calls_frozen_mask": (0.0, "small at s0: 191 of 200 calls repeat one event, outside p ± 0.27"),
        "ravel_copy_noncontiguous": (0.0, "small at `sview`: returned undropped, y/(x·s) = √q"),
        "keep_prob_range_from_p": (0.0, "runtime: the identity keep_prob = 1 raises"),
        "downcast_float32": (0.0, "structure: float32 rounding leaves ≈ 6e-8 ≫ 1e-12 on float64 cases"),
        "float32_scale": (0.0, "structure at `tiny`: no 4-decimal rate there has fl32(s) = s to 1e-12"),
        "empirical_keep_fraction": (6e-50, "structure: passes only if all 25 training outputs keep exactly nq"),
    }
    return table

"""The hidden checks' laws of alpha dropout.

Each element is kept independently with probability q = 1 − p; a kept element becomes
a·x + b and a dropped one d = a·α′ + b, α′ = −λα SELU's negative saturation value and
a > 0, b the one affine map under which an input of mean `mean` and variance `var` keeps
both. Inputs keep every element at least 0.05·√var away from α′, so the two candidate
values of an element are far apart next to the rounding tolerance: the mask is read out of
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
    chi2_lower_quantile,
    hoeffding,
    hoeffding_tail,
    seed_pair,
    shape_with,
    signed_input,
)

# SELU's negative saturation value in float64: the product of the doubles of λ and α, PyTorch's
# and the authors' literal (the exactly rounded -1.7580993408473768 is one ulp away).
ALPHA_PRIME = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717

STRUCTURE = "each output element is a·x + b (kept) or a·α′ + b (dropped), α′ = −λα, with the layer's a > 0 and b"
EVENT = "dropped"
GRID = "elements"
# Relative tolerance, in units of S = a·|x| + a·|α′| + |b| + |mean| (which bounds every
# intermediate of a sane evaluation order), by the input's dtype (laws.md §3): float32
# arithmetic throughout errs by ≤ 2.2e-7·S, float64 by ≤ 3.4e-16·S; 1e-9 also demands α′ to
# about nine significant digits.
RTOL = {"float32": 4e-6, "float64": 1e-9}
# Every input element is at least MARGIN·√var from α′ (laws.md §2): the two candidate values
# of an element are then ≥ 0.05·a·√var apart, > 100 times 2τ over all the ranges.
MARGIN = 0.05

# The LAW cases' sizes (laws.md §2), which `power` relies on.
TINY_N, LOW_N, BIG_N, SHIFT_N = (24_000, 30_001), (44_000, 50_001), (44_000, 50_001), (40_000, 46_001)
MIN_TINY_N, MIN_LOW_N = TINY_N[0], LOW_N[0]  # 1-D: exactly n
MIN_SHIFT_N = SHIFT_N[0] - 39 * 39  # 3-D: total // (d1·d2) · d1·d2 > total − d1·d2
OUTPUTS = 6  # training outputs read out per LAW case: y1, y2, y3, y4, y5, yd
IDENTITY_N = 8_000
DEFAULT_SHAPE = (8_000,)
# The small inputs (laws.md §2): one element, a handful, 2-D, 4-D, one of 13 to 300 elements
# whose magnitudes span 1e-3 to 1e3, and a non-contiguous view (rows 1, 4, 7, 10 and columns
# 0, 4, 8 of a 12 × 10 base, transposed: shape (3, 4)).
SMALL_SHAPES = ((1,), (3,), (2, 3), (2, 1, 3, 2))
SMALL_VIEW = ((1, 12, 3), (0, 10, 4), "T")
# Shifted targets: mean = ±U(0.5, 2), var = 4^(±U(0.3, 1)), rounded to 4 decimals.
MEAN_RANGE, LOG4_VAR_RANGE = (0.5, 2.0), (0.3, 1.0)


def constants(p: float, mean: float, var: float) -> tuple[float, float, float]:
    """(a, b, d): the slope, the offset and a dropped element's output."""
    q = 1.0 - p
    a = math.sqrt(var / (q * (var + p * (mean - ALPHA_PRIME) ** 2)))
    b = mean - a * (q * mean + p * ALPHA_PRIME)
    return a, b, a * ALPHA_PRIME + b


def rate_args(param: str, p: float) -> dict:
    """The constructor's arguments (the seed excepted) for drop probability p."""
    return {"p": p}


def bad_args(param: str) -> list[dict]:
    """Argument sets that must raise ValueError: p outside [0, 1), var ≤ 0. (NaN and infinite
    values are left alone: whether a range check refuses them depends on how it is written.)"""
    return [{"p": 1.0}, {"p": -0.1}, {"p": 1.5}, {"p": 0.3, "var": 0.0}, {"p": 0.3, "var": -1.0}]


def good_args(param: str) -> list[dict]:
    """Valid extremes that must construct."""
    return [{"p": 0.0}, {"p": 0.999}, {"p": 0.3, "mean": -3.0, "var": 0.01}]


def draw_cases(rng: np.random.Generator, param: str) -> list[Case]:
    """The hidden cases of one grading (laws.md §2). LAW rates avoid (0.45, 0.55), where keeping
    with probability p or 1 − p is the same law; `tiny` and `low` run at the defaults of mean and
    var (not passed), `high` passes mean 0 and var 1, the `shift` cases and the identity case
    pass shifted ones, away from (0, 1) so that a layer ignoring them cannot pass."""

    def seeds() -> tuple[int, int]:
        return seed_pair(rng)

    def rate(lo: float, hi: float) -> float:
        return round(float(rng.uniform(lo, hi)), 4)

    def sign() -> float:
        return 1.0 if rng.random() < 0.5 else -1.0

    def shifted() -> tuple[float, float]:
        mean = sign() * float(rng.uniform(*MEAN_RANGE))
        var = 4.0 ** (sign() * float(rng.uniform(*LOG4_VAR_RANGE)))
        return round(mean, 4), round(var, 4)

    def case(key: str, role: str, p: float, shape: tuple, dtype: str, target: tuple | None, passed: bool, extra: str = "", **params) -> Case:
        """target: (mean, var), None for the defaults; passed: whether they go to the constructor."""
        mean, var = target if target is not None else (0.0, 1.0)
        args = {"p": p, **({"mean": mean, "var": var} if passed else {})}
        label = f"p={p:.4g} {'×'.join(map(str, shape))} {dtype}, " + (f"mean={mean:g} var={var:g}" if passed else "mean, var by default")
        return Case(key, role, args, p, shape, dtype, seeds(), {"mean": mean, "var": var, **params}, None, label + extra)

    def law(key: str, lo: float, hi: float, ndim: int, size: tuple[int, int], dtype: str, target=None, passed=True) -> Case:
        p = rate(lo, hi)
        shape = shape_with(rng, ndim, int(rng.integers(*size)))
        return case(key, LAW, p, shape, dtype, target, passed)

    cases = [
        case("p0", IDENTITY, 0.0, shape_with(rng, 2, IDENTITY_N), "float64", shifted(), True),
        law("tiny", 0.001, 0.0499, 1, TINY_N, "float64", None, False),
        law("low", 0.05, 0.35, 1, LOW_N, "float64", None, False),
        law("high", 0.55, 0.9, 2, BIG_N, "float32", (0.0, 1.0), True),
        law("shift64", 0.2, 0.45, 3, SHIFT_N, "float64", shifted(), True),
        law("shift32", 0.55, 0.8, 3, SHIFT_N, "float32", shifted(), True),
    ]
    # SMALL: the first one, (1,), is also the input of the engine's burn-in calls.
    for i, shape in enumerate(SMALL_SHAPES):
        target, passed = (None, False) if i == 0 else (shifted(), True)
        cases.append(case(f"s{i}", SMALL, rate(0.35, 0.65), shape, ("float64", "float32")[i % 2], target, passed))
    p = rate(0.35, 0.65)
    shape = shape_with(rng, 2, int(rng.integers(13, 301)), lead=(2, 6))
    # mean 0 and var 1, passed: at |x| up to 1e3 the slope's error is what S sees, and at (0, 1) an
    # α′ right to nine digits still passes (laws.md §3).
    cases.append(case("swide", SMALL, p, shape, "float64", (0.0, 1.0), True, ", |x| from 1e-3 to 1e3", low=1e-3, high=1e3, log=True))
    p = rate(0.35, 0.65)
    sview = case("sview", SMALL, p, (3, 4), "float64", shifted(), True, ", a non-contiguous view")
    cases.append(Case(sview.key, SMALL, sview.args, p, (3, 4), "float64", sview.seeds, sview.params, SMALL_VIEW, sview.label))
    cases.append(Case("default", DEFAULTS, {"p": 0.5, "mean": 0.0, "var": 1.0}, 0.5, DEFAULT_SHAPE, "float64", (0, 0), {"mean": 0.0, "var": 1.0}, None, "p=0.5, mean 0, var 1 by default, seed None"))
    return cases


def make_input(rng: np.random.Generator, case: Case, shape: tuple) -> np.ndarray:
    """mean + √var·N(0, 1) (or, for `swide`, signed log-uniform magnitudes), cast to the dtype;
    every element closer than MARGIN·√var to α′ (after the cast) is redrawn until none is."""
    mean, var = case.params["mean"], case.params["var"]
    sd = math.sqrt(var)
    wide = {k: case.params[k] for k in ("low", "high", "log") if k in case.params}

    def draw(size) -> np.ndarray:
        if wide:
            return signed_input(rng, size, case.dtype, **wide)
        return (mean + sd * rng.standard_normal(size)).astype(case.dtype)

    x = draw(shape)
    while True:
        close = np.abs(x.astype(np.float64) - ALPHA_PRIME) < MARGIN * sd
        count = int(np.count_nonzero(close))
        if count == 0:
            return x
        x[close] = draw(count)


def event_probability(case: Case) -> float:
    return case.rate


def _law_values(case: Case, x: np.ndarray) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    """(a, b, d, u, S): the constants, the kept values u = a·x + b and the scale S of the tolerance."""
    mean = case.params["mean"]
    a, b, d = constants(case.rate, mean, case.params["var"])
    xf = x.astype(np.float64)
    u = a * xf + b
    scale = np.abs(xf)
    scale *= a
    scale += a * abs(ALPHA_PRIME) + abs(b) + abs(mean)
    return a, b, d, u, scale


def readout(case: Case, x: np.ndarray, y: np.ndarray) -> Readout:
    """Each element is a·x + b or d = a·α′ + b to RTOL·S; the event: the nearer one is d."""
    a, b, d, u, scale = _law_values(case, x)
    yf = y.astype(np.float64)
    to_kept = np.abs(yf - u)
    to_dropped = np.abs(yf - d)
    dropped = to_dropped < to_kept
    err = np.minimum(to_kept, to_dropped)
    err /= scale
    worst = float(err.max(initial=0.0)) if np.all(np.isfinite(yf)) else math.inf
    bound = RTOL[case.dtype]
    ok = worst <= bound
    why = "" if ok else _fitted(x, yf, dropped, a, b, d)
    return Readout(ok, worst, bound, dropped, None, why)


def _fitted(x: np.ndarray, y: np.ndarray, dropped: np.ndarray, a: float, b: float, d: float) -> str:
    """The constants the output shows: a least-squares line through the elements read as kept,
    the median of those read as dropped; next to the law's."""
    parts = []
    kept = ~dropped
    xs, ys = x.astype(np.float64)[kept], y[kept]
    if xs.size >= 2 and float(np.ptp(xs)) > 0:
        slope, offset = np.polyfit(xs, ys, 1)
        parts.append(f"kept: y ≈ {slope:.7g}·x + {offset:.7g} (law {a:.7g}·x + {b:.7g})")
    if np.any(dropped):
        parts.append(f"dropped: y ≈ {float(np.median(y[dropped])):.7g} (law {d:.7g})")
    return "; ".join(parts)


def law_checks(case: Case, x: np.ndarray, out: dict, reads: dict) -> list[dict]:
    """The goal: the output keeps the layer's mean and variance (laws.md §5)."""
    return _moments_checks(case, x, out["y1"])


def _moments_checks(c: Case, x: np.ndarray, y: np.ndarray) -> list[dict]:
    """mean(y) and var(y) against the law, conditional on x.

    Given x, A = mean(y) and Q = mean((y − mean)²) are means of independent two-valued terms
    (u_i or d, (u_i − mean)² or (d − mean)²), so Hoeffding gives |A − E A| ≤ t_A and
    |Q − E Q| ≤ t_Q, each with probability ≥ 1 − DELTA/2; then V = var(y) = Q − (A − mean)²
    lies in [E Q − t_Q − s², E Q + t_Q], s = |E A − mean| + t_A. A slack covers each element's
    rounding, which the read-out bounds by RTOL·S.
    """
    p, mean, var = c.rate, c.params["mean"], c.params["var"]
    q = 1.0 - p
    a, b, d, u, scale = _law_values(c, x)
    n = x.size
    yf = y.astype(np.float64).ravel()
    u, scale = u.ravel(), scale.ravel()
    lg = math.log(4 / DELTA) / 2
    e_a = float(np.mean(q * u + p * d))
    t_a = math.sqrt(lg * float(np.sum((u - d) ** 2))) / n
    ku, kd = (u - mean) ** 2, (d - mean) ** 2
    e_q = float(np.mean(q * ku + p * kd))
    t_q = math.sqrt(lg * float(np.sum((ku - kd) ** 2))) / n
    eps = RTOL[c.dtype] * scale
    slack_a = float(np.mean(eps))
    slack_q = float(np.mean(eps * (2 * np.abs(yf - mean) + eps)))
    got_a = float(np.mean(yf))
    got_v = float(np.var(yf))
    half_a = t_a + slack_a
    s = abs(e_a - mean) + half_a
    lo, hi = e_q - t_q - slack_q - s * s, e_q + t_q + slack_q
    sd = math.sqrt(var)
    return [
        check(
            "moments",
            f"{c.name}: mean kept (layer mean {mean:g})",
            abs(got_a - e_a) <= half_a,
            f"mean(y) = {got_a:.5f}, (mean(y) − mean)/√var = {(got_a - mean) / sd:+.4f}",
            f"{e_a:.5f} ± {half_a:.5f}",
            True,
        ),
        check(
            "moments",
            f"{c.name}: variance kept (layer var {var:g})",
            lo <= got_v <= hi,
            f"var(y) = {got_v:.5f}, var(y)/var = {got_v / var:.4f}",
            f"[{lo:.5f}, {hi:.5f}]",
            True,
        ),
    ]


# ---------------------------------------------------------------- power (laws.md §8)


def _bug_map(name: str, p: float, mean: float, var: float) -> tuple[float, float, float]:
    """(a′, b′, d′): a planted bug's or wrong implementation's kept line a′·x + b′ and dropped value d′."""
    a, b, d = constants(p, mean, var)
    q = 1.0 - p

    def with_alpha(alpha: float) -> tuple[float, float, float]:
        a2 = math.sqrt(var / (q * (var + p * (mean - alpha) ** 2)))
        b2 = mean - a2 * (q * mean + p * alpha)
        return a2, b2, a2 * alpha + b2

    if name == "selu_alpha":
        return with_alpha(-1.6732632423543772)
    if name == "rounded_alpha_4":  # λ and α to 4 decimals
        return with_alpha(-1.0507 * 1.6733)
    if name == "rounded_alpha_1.7581":
        return with_alpha(-1.7581)
    if name == "zero_fill":
        return a, b, b
    if name == "no_shift":
        return a, 0.0, a * ALPHA_PRIME
    if name == "unit_moments":
        return constants(p, 0.0, 1.0)
    if name == "inverted_scale":
        return 1.0 / q, 0.0, ALPHA_PRIME
    if name == "var_as_std":
        a2 = math.sqrt(var) * a
        b2 = mean - a2 * (q * mean + p * ALPHA_PRIME)
        return a2, b2, a2 * ALPHA_PRIME + b2
    raise KeyError(name)


# Cells of the input's standard score z = (x − mean)/sd over mean ± 2 sd, with their normal masses.
_Z = np.linspace(-2.0, 2.0, 4001)
_CDF = np.array([0.5 * math.erfc(-t / math.sqrt(2)) for t in _Z])


def _miss_per_element(bug_line: tuple, p: float, mean: float, var: float, rtol: float, drop: float | None = None, outputs: int = OUTPUTS) -> float:
    """An upper bound on E[(1 − w(x))^outputs], w(x) the probability that an element of input x
    shows the bug in one output: kept (probability 1 − drop; drop = p unless said) and off both
    candidates a·x + b, d by more than RTOL·S, or dropped and so off. The masks are independent
    across outputs and elements. A cell of x counts only where the difference to each candidate
    exceeds RTOL·S at both ends and keeps its sign inside (the differences are affine in x and S
    is affine on either side of 0, a cell edge): exact, not a grid estimate. Masses are normal
    masses; the redraw around α′ only raises the mass of the cells it keeps (cells meeting that
    window are left out)."""
    a, b, d = constants(p, mean, var)
    a2, b2, d2 = bug_line
    drop = p if drop is None else drop
    sd = math.sqrt(var)
    edges, cdf = mean + sd * _Z, _CDF
    if edges[0] < 0 < edges[-1]:
        i = int(np.searchsorted(edges, 0.0))
        edges = np.insert(edges, i, 0.0)
        cdf = np.insert(cdf, i, 0.5 * math.erfc(mean / sd / math.sqrt(2)))
    tol = rtol * (a * np.abs(edges) + a * abs(ALPHA_PRIME) + abs(b) + abs(mean))

    def off(diff: np.ndarray) -> np.ndarray:
        """Per cell: |diff| > tol at both ends and no sign change inside."""
        big = np.abs(diff) > tol
        return big[:-1] & big[1:] & (np.sign(diff[:-1]) == np.sign(diff[1:]))

    line = a2 * edges + b2
    kept_bad = off(line - (a * edges + b)) & off(line - d)
    dropped_bad = off(d2 - (a * edges + b)) & off(np.full_like(edges, d2 - d))
    clear = (edges[1:] <= ALPHA_PRIME - MARGIN * sd) | (edges[:-1] >= ALPHA_PRIME + MARGIN * sd)
    w = (1.0 - drop) * kept_bad + drop * dropped_bad
    return float(1.0 - np.sum(np.diff(cdf) * clear * (1.0 - (1.0 - w) ** outputs)))


def _worst_miss(bug: str, cases: list) -> tuple[float, str]:
    """log10 of an upper bound on P(the bug passes `structure` in one grading), and where: per
    float64 LAW case, the largest per-element miss over its parameter grid, to the power of the
    case's smallest n; the best case counts."""
    best, where = 0.0, ""
    names = ("rounded_alpha_4", "rounded_alpha_1.7581") if bug == "rounded_alpha" else (bug,)
    for label, rates, targets, rtol, n in cases:
        worst = max(_miss_per_element(_bug_map(nm, p, m, v), p, m, v, rtol) for nm in names for p in rates for m, v in targets)
        log10 = n * math.log10(worst) if worst > 0 else -math.inf
        if log10 < best:
            best, where = log10, label
    return best, where


def _shifted_grid() -> list[tuple[float, float]]:
    means = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, round(-ALPHA_PRIME, 4)]
    log4 = [0.3, 0.5, 0.75, 1.0]
    return [(s * m, round(4.0 ** (t * e), 4)) for s in (-1, 1) for m in means for t in (-1, 1) for e in log4]


def _structure_cases() -> list:
    """The float64 LAW cases' ranges, with the smallest element counts (laws.md §2)."""
    return [
        ("tiny", [0.001, 0.01, 0.0499], [(0.0, 1.0)], RTOL["float64"], MIN_TINY_N),
        ("low", [0.05, 0.1, 0.2, 0.35], [(0.0, 1.0)], RTOL["float64"], MIN_LOW_N),
        ("shift64", [0.2, 0.3, 0.45], _shifted_grid(), RTOL["float64"], MIN_SHIFT_N),
    ]


def _sample_moments_pass() -> float:
    """sample_moments: the layer's constants come from the input's own x̄ and s² (normal theory:
    independent, x̄ with sd sd/√n, s² with sd var·√(2/n)). Kept elements within 0.01 sd of
    m − 1.5 sd, m and m + 1.5 sd exist in y1 but with probability ≤ 3(1 − 0.0025·q)^n; then
    structure passes only if |â − a| ≤ w_a = 2τ⁺/2.9sd and |b̂ − b| ≤ w_b = τ⁺ + (|m| + 0.01 sd)·w_a
    (τ⁺: the tolerance at |m| + 1.51 sd). (â, b̂) moves with (x̄, s²) through the Jacobian J of
    (a, b) in (mean, var): the box's preimage has area 4·w_a·w_b/|det J| under a density ≤
    n/(2π·√2·sd·var), and each strip |Δâ| ≤ w_a, |Δb̂| ≤ w_b alone has probability ≤
    2w/(√(2π)·sd of the linear combination); the smallest of the three counts (at mean = α′, J
    is singular: a and b do not depend on var). The bound is the product over tiny, low, shift64."""
    total = 1.0
    for label, rates, targets, rtol, n in _structure_cases():
        worst = 0.0
        for p in rates:
            for mean, var in targets:
                a, b, _ = constants(p, mean, var)
                sd = math.sqrt(var)
                tau = rtol * (a * (abs(mean) + 1.51 * sd) + a * abs(ALPHA_PRIME) + abs(b) + abs(mean))
                w_a = 2 * tau / (2.9 * sd)
                w_b = tau + (abs(mean) + 0.01 * sd) * w_a
                h_m, h_v = 1e-6 * sd, 1e-6 * var
                up_m, dn_m = constants(p, mean + h_m, var), constants(p, mean - h_m, var)
                up_v, dn_v = constants(p, mean, var + h_v), constants(p, mean, var - h_v)
                da_m, db_m = (up_m[0] - dn_m[0]) / (2 * h_m), (up_m[1] - dn_m[1]) / (2 * h_m)
                da_v, db_v = (up_v[0] - dn_v[0]) / (2 * h_v), (up_v[1] - dn_v[1]) / (2 * h_v)
                sd_m, sd_v = sd / math.sqrt(n), var * math.sqrt(2 / n)
                det = abs(da_m * db_v - da_v * db_m)
                box = 4 * w_a * w_b / det / (2 * math.pi * sd_m * sd_v) if det > 0 else 1.0
                strip_a = 2 * w_a / (math.sqrt(2 * math.pi) * math.hypot(da_m * sd_m, da_v * sd_v))
                strip_b = 2 * w_b / (math.sqrt(2 * math.pi) * math.hypot(db_m * sd_m, db_v * sd_v))
                worst = max(worst, min(1.0, box, strip_a, strip_b) + 3 * (1 - 0.0025 * (1 - p)) ** n)
        total *= worst
    return total


def _dispersion_margin() -> float:
    """fixed_count: every count within 0.5 of n·p, so S ≤ K·0.25/1000, against the floor of the
    K qualifying outputs: the four large LAW cases always (24), `tiny` at n·p·q ≥ 1000 (30)."""
    return min(chi2_lower_quantile(k) - k / 4000 for k in (4 * OUTPUTS, 5 * OUTPUTS))


def power() -> dict[str, tuple[float, str]]:
    """Each planted bug and known wrong implementation -> (an upper bound on the probability
    that it passes every check designated to catch it in one grading, why). laws.md §8."""
    if _dispersion_margin() <= 0 or 2 * 0.05 * 0.95 - hoeffding(MIN_LOW_N) <= 0 or 0.05 - hoeffding(MIN_LOW_N) <= 0:
        raise AssertionError("the case sizes no longer carry the deterministic arguments of laws.md §8")
    cases = _structure_cases()
    table = {}
    for bug, what in (
        ("selu_alpha", "a dropped element at −α, a and b for −α"),
        ("rounded_alpha", "α′ from λ, α to 4 decimals, or −1.7581"),
        ("zero_fill", "a dropped element at b"),
        ("no_shift", "no offset"),
        ("unit_moments", "the (0, 1) constants at shifted mean, var"),
        ("inverted_scale", "kept x/q, dropped α′"),
        ("var_as_std", "slope √var·a at shifted var"),
    ):
        log10, where = _worst_miss(bug, cases)
        table[bug] = (10.0**log10, f"structure at `{where}` ({what}): ≤ 10^{log10:.0f}, every element of x in mean ± 2 sd outside windows ~RTOL wide shows it when kept or dropped, 6 outputs")
    # keep_p: dropped with probability q; at `low` |q − p| = 1 − 2p ≥ 0.3.
    keep_p = hoeffding_tail(MIN_LOW_N, 0.3 - hoeffding(MIN_LOW_N))
    table.update(
        {
            "keep_p": (keep_p, "rate at `low`: the dropped fraction has mean q, |q − p| ≥ 0.3 (Hoeffding, n ≥ 44,000)"),
            "reused_noise": (0.0, "fresh: y2 = y1, agreement 1 against p² + q² ± t, 2pq − t ≥ 0.095 − 0.018 > 0 at `low`"),
            "shared_last_axis": (0.0, "rate at `low` (1-D): all kept or all dropped, ≥ 0.05 − t(44,000) = 0.032 from p"),
            "global_rng": (0.0, "reproduce: y1r = y1 needs two stretches of the global stream to give one mask, (p² + q²)^n ≤ 0.91^44000 (underflows); small: the twin's 20 calls likewise"),
            "inplace": (0.0, "runtime: the worker's inputs are read-only, the in-place write raises"),
            "fixed_seed": (0.0, "seeds: yd (another seed) = y1 exactly, agreement 1 against p² + q² ± t"),
            "small_identity": (0.0, "small: every call returns x; x is a·x + b only at the fixed point b/(1 − a) and d only at d (continuous draws; a = 1 forces b ≠ 0)"),
            "wrong_defaults": (_defaults_miss(), "defaults: Class() draws at p = 0.1, its a, b, d differ from p = 0.5's; 2 outputs of 8,000"),
            "no_var_check": (0.0, "interface: var = 0, -1, inf, nan and mean = nan, inf raise nothing"),
            "sample_moments": (_sample_moments_pass(), "structure on tiny, low and shift64: (x̄, s²) must land in a window ~RTOL wide around (mean, var) (normal theory)"),
            "fixed_count": (0.0, f"dispersion: S ≤ K/4000 below the χ² floor (margin ≥ {_dispersion_margin():.3f}, K = 24 or 30)"),
            "eval_affine": (0.0, "eval: ye = a·x + b ≠ x (a ≠ 1 or b ≠ 0 at every p > 0)"),
        }
    )
    return table


def _defaults_miss() -> float:
    """wrong_defaults against the p = 0.5, (0, 1) law: the bug's line is the p = 0.1 law's."""
    miss = _miss_per_element(constants(0.1, 0.0, 1.0), 0.5, 0.0, 1.0, RTOL["float64"], drop=0.1, outputs=2)
    return math.exp(DEFAULT_SHAPE[0] * math.log(miss)) if miss < 1 else 1.0

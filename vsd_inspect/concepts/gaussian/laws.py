"""The hidden checks' laws of Gaussian variance-stabilized dropout.

Each element is multiplied by its own r ~ N(√q, p), q = 1 − p, drawn afresh on every call.
Inputs are never 0 (|x| log-uniform on [0.5, 2], random signs), so r̂ = y / x reads the
multiplier out of every output element to one rounding. The exact structure is that no two
elements share a draw (a continuous law has no ties); the event is r̂ > √q, probability 1/2 at
every p; the concept's own checks test the law of r̂ itself: its mean, its variance and its
distribution function, on the two halves |x| < 1 and |x| ≥ 1 of the first and the 45th call.
`laws.md` derives every check's bound and each known bug's chance.
"""

import math

import numpy as np

from vsd_inspect.grader.lawkit import (
    DEFAULTS,
    DELTA,
    IDENTITY,
    LAW,
    NORMAL_CDF_ERROR,
    SMALL,
    Case,
    Readout,
    check,
    chi2_bounds,
    dkw,
    hoeffding,
    normal_cdf,
    normal_quantile,
    seed_pair,
    shape_with,
    signed_input,
)

STRUCTURE = "each output element is x·r with a multiplier r of its own (no two elements share a draw)"
EVENT = "above the noise mean"
GRID = "elements"
# Relative read-out tolerance ρ by the input's dtype: every sane evaluation of x·r gives
# |y/x − r| ≤ ρ·(2 + |r|) (laws.md §2): float32 rounds at 6e-8, float64 at 1.1e-16.
RTOL = {"float32": 2e-6, "float64": 1e-12}
# Structure: along each axis, at most TIE_FRACTION·m + TIE_SLACK of the m disjoint adjacent
# pairs (2i, 2i+1) may tie (laws.md §3).
TIE_FRACTION, TIE_SLACK = 0.01, 3
Z = normal_quantile(DELTA)  # the mean check's z (two-sided, Mills bound)
# The hidden cases (laws.md §6): (rate range, ndim, element range, dtype) of each LAW case.
LAW_CASES = {
    "tiny": ((0.001, 0.0499), 1, (24_000, 28_001), "float64"),  # rounded to 4 decimals: < 0.05
    "low": ((0.05, 0.35), 1, (44_000, 50_001), "float64"),
    "mid": ((0.2, 0.45), 3, (44_000, 50_001), "float32"),
    "high": ((0.55, 0.95), 2, (44_000, 50_001), "float32"),
    "upper": ((0.55, 0.8), 3, (44_000, 50_001), "float64"),
}
IDENTITY_N = 8_000
SMALL_RATES = (0.2, 0.8)
DEFAULT_SHAPE = (8192,)
# The small inputs: 1 and 3 elements, 2-D, 4-D, one of 13 to 300 elements whose magnitudes
# span 1e-3 to 1e3, and a non-contiguous view (rows 1, 4, 7, 10 and columns 0, 4, 8 of a
# 12 × 10 base, transposed: shape (3, 4)).
SMALL_SHAPES = ((1,), (3,), (2, 3), (2, 1, 3, 2))
SMALL_VIEW = ((1, 12, 3), (0, 10, 4), "T")
WIDE = {"low": 1e-3, "high": 1e3}


def rate_args(param: str, p: float) -> dict:
    """The constructor's arguments (the seed excepted) for drop probability p."""
    return {"p": p}


def bad_args(param: str) -> list[dict]:
    """Argument sets that must raise ValueError."""
    return [{"p": 1.0}, {"p": -0.1}, {"p": 1.5}]


def good_args(param: str) -> list[dict]:
    """Valid extremes that must construct."""
    return [{"p": 0.0}, {"p": 0.999}]


def _label(p: float, shape: tuple, dtype: str) -> str:
    return f"p={p:.4g} {'×'.join(map(str, shape))} {dtype}"


def draw_cases(rng: np.random.Generator, param: str) -> list[Case]:
    """The hidden cases of one grading (laws.md §6). LAW rates avoid (0.45, 0.55), where
    N(√q, p) and N(√p, q) are one law; `tiny` tests that a small p is not treated as 0."""

    def rate(lo: float, hi: float) -> float:
        return round(float(rng.uniform(lo, hi)), 4)

    def law(key: str) -> Case:
        (lo, hi), ndim, size, dtype = LAW_CASES[key]
        p = rate(lo, hi)
        shape = shape_with(rng, ndim, int(rng.integers(*size)))
        return Case(key, LAW, rate_args(param, p), p, shape, dtype, seed_pair(rng), {}, None, _label(p, shape, dtype))

    ishape = shape_with(rng, 2, IDENTITY_N)
    cases = [Case("p0", IDENTITY, rate_args(param, 0.0), 0.0, ishape, "float64", seed_pair(rng), label=_label(0.0, ishape, "float64"))]
    cases += [law(key) for key in LAW_CASES]
    for i, shape in enumerate(SMALL_SHAPES):
        p, dtype = rate(*SMALL_RATES), ("float64", "float32")[i % 2]
        cases.append(Case(f"s{i}", SMALL, rate_args(param, p), p, shape, dtype, seed_pair(rng), label=_label(p, shape, dtype)))
    p = rate(*SMALL_RATES)
    shape = shape_with(rng, 2, int(rng.integers(13, 301)), lead=(2, 6))
    cases.append(Case("swide", SMALL, rate_args(param, p), p, shape, "float64", seed_pair(rng), dict(WIDE), label=_label(p, shape, "float64") + ", |x| from 1e-3 to 1e3"))
    p = rate(*SMALL_RATES)
    cases.append(Case("sview", SMALL, rate_args(param, p), p, (3, 4), "float64", seed_pair(rng), view=SMALL_VIEW, label=_label(p, (3, 4), "float64") + ", a non-contiguous view"))
    cases.append(Case("default", DEFAULTS, rate_args(param, 0.5), 0.5, DEFAULT_SHAPE, "float64", (0, 0), label="p=0.5 by default, seed None"))
    return cases


def make_input(rng: np.random.Generator, case: Case, shape: tuple) -> np.ndarray:
    """|x| log-uniform on [0.5, 2] (on [1e-3, 1e3] for `swide`), random signs: never 0."""
    return signed_input(rng, shape, case.dtype, low=case.params.get("low", 0.5), high=case.params.get("high", 2.0), log=True)


def event_probability(case: Case) -> float:
    """P(r > √q) = 1/2 at every p: the normal is symmetric about its mean."""
    return 0.5


def _ties(r: np.ndarray, rho: float) -> tuple[float, str]:
    """The largest excess tied fraction max(0, ties − TIE_SLACK)/m over the axes (≤ TIE_FRACTION
    passes), and a description of the worst axis."""
    worst, why = 0.0, ""
    for axis in range(r.ndim):
        m2 = r.shape[axis] // 2 * 2
        if m2 == 0:
            continue
        a = np.take(r, np.arange(0, m2, 2), axis=axis)
        b = np.take(r, np.arange(1, m2, 2), axis=axis)
        window = np.abs(a) + np.abs(b)
        window += 2.0
        window *= rho
        tied = int(np.count_nonzero(np.abs(a - b) <= window))
        excess = max(0, tied - TIE_SLACK) / a.size
        if excess > worst:
            worst, why = excess, f"{tied} of {a.size} adjacent pairs along axis {axis} share one multiplier"
    return worst, why


def readout(case: Case, x: np.ndarray, y: np.ndarray) -> Readout:
    """r̂ = y / x; structure: no more ties than TIE_FRACTION·m + TIE_SLACK along any axis;
    the event: r̂ > √q; the values: r̂ itself."""
    r = y.astype(np.float64) / x.astype(np.float64)
    if not bool(np.isfinite(r).all()):
        return Readout(False, math.inf, TIE_FRACTION, np.zeros(r.shape, bool), r, "y / x is not finite")
    worst, why = _ties(r, RTOL[case.dtype])
    ok = worst <= TIE_FRACTION
    return Readout(ok, worst, TIE_FRACTION, r > math.sqrt(1.0 - case.rate), r, "" if ok else why)


def law_checks(case: Case, x: np.ndarray, out: dict, reads: dict) -> list[dict]:
    """r̂ is an i.i.d. N(√q, p) sample on any set of elements chosen from x alone: its mean, its
    variance and its distribution function, on |x| < 1 and |x| ≥ 1, for the first call (y1) and
    the 45th (y4) (laws.md §5)."""
    rho = RTOL[case.dtype]
    small = np.abs(x.astype(np.float64)).ravel() < 1.0
    results = []
    for name, when in (("y1", "first call"), ("y4", "call 45")):
        r = reads[name].values.ravel()
        for half, sel in (("|x| < 1", small), ("|x| ≥ 1", ~small)):
            results += _half_checks(case, f"{case.name}, {when}, {half}", r[sel], rho)
    return results


def _half_checks(c: Case, tag: str, r: np.ndarray, rho: float) -> list[dict]:
    """Mean (z), variance (χ², Laurent–Massart) and distribution function (DKW) of one half.
    `slack` bounds each element's read-out error ρ(2 + |r|) twice over (laws.md §2)."""
    p = c.rate
    mu, sd = math.sqrt(1.0 - p), math.sqrt(p)
    n = r.size
    if n < 2:
        return [check("law", f"{tag}: enough elements for the law checks", False, f"{n} elements", "≥ 2", True)]
    slack = 2.0 * rho * (2.0 + float(np.abs(r).max()))
    mean = float(r.mean())
    h = Z * sd / math.sqrt(n) + slack
    k = n - 1
    lo, hi = chi2_bounds(k)
    s = math.sqrt(float(np.var(r, ddof=1)))
    s_slack = slack * math.sqrt(n / k)
    s_lo, s_hi = math.sqrt(p * lo / k) - s_slack, math.sqrt(p * hi / k) + s_slack
    v = r - mu
    v *= 1.0 / sd
    u = normal_cdf(v)
    u.sort()
    i = np.arange(1, n + 1, dtype=np.float64)
    d = float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))
    eps = dkw(n) + slack / math.sqrt(2 * math.pi * p) + NORMAL_CDF_ERROR
    return [
        check("moments", f"{tag}: mean of y/x is sqrt(1-p)", abs(mean - mu) <= h, f"{mean:.5f} (n = {n})", f"{mu:.5f} ± {h:.5f}", True),
        check(
            "moments",
            f"{tag}: variance of y/x is p",
            s_lo <= s <= s_hi,
            f"{s * s / p:.4f}·p",
            f"[{max(s_lo, 0.0) ** 2 / p:.4f}, {s_hi**2 / p:.4f}]·p",
            True,
        ),
        check("law", f"{tag}: y/x is distributed N(sqrt(1-p), p) (DKW)", d <= eps, f"sup |F_n − F| = {d:.4f}", f"≤ {eps:.4f}", True),
    ]


# ---------------------------------------------------------------- power (laws.md §8)

LOG_FLOOR = math.log(1e-300)  # bounds below 1e-300 are reported as 1e-300
HALF = 0.45  # each |x|-half holds ≥ 0.45·n elements but with probability ≤ exp(−2n·0.05²)
MAX_SD = 20.0  # |r − E r| ≤ 20 sd for every element but with probability ≤ n·2Φ̄(20) ≤ n·6e-89


def _phi_bar(v: float) -> float:
    return 0.5 * math.erfc(v / math.sqrt(2.0))


def _min_n(key: str) -> int:
    """The fewest elements `shape_with` gives a LAW case: every axis but the last is ≤ 39, so
    d·(total // d) > total − d."""
    _, ndim, size, _ = LAW_CASES[key]
    return size[0] - (39 ** (ndim - 1) if ndim > 1 else 0)


def _rates(key: str) -> list[float]:
    """Every rate a LAW case can run at (uniform, rounded to 4 decimals)."""
    (lo, hi), *_ = LAW_CASES[key]
    a, b = round(lo * 10_000), round(hi * 10_000)
    return [i / 10_000 for i in range(a, b + 1)]


def _kolmogorov(a: float, b: float) -> float:
    """sup_t |Φ(a + b·t) − Φ(t)|: the Kolmogorov distance of N(m, v) to N(μ, σ²) in σ-units,
    a = (μ − m)/√v, b = σ/√v; the extremes solve b·φ(a + bt) = φ(t)."""
    if abs(b - 1.0) < 1e-12:
        roots = [-a / 2.0]
    else:
        c2, c1, c0 = b * b - 1.0, 2.0 * a * b, a * a - 2.0 * math.log(b)
        disc = math.sqrt(max(0.0, c1 * c1 - 4 * c2 * c0))
        roots = [(-c1 + disc) / (2 * c2), (-c1 - disc) / (2 * c2)]
    return max(abs(_phi_bar(-(a + b * t)) - _phi_bar(-t)) for t in roots)


def _uniform_distance() -> float:
    """A lower bound on sup_t |F(t) − Φ(t)| for F uniform on (−√3, √3) (mean 0, variance 1)."""
    s3 = math.sqrt(3.0)
    return max(abs((t + s3) / (2 * s3) - (1.0 - _phi_bar(t))) for t in (s3 * (j / 1000 - 1) for j in range(2001)))


def _log_chi2_inside(k: int, lo: float, hi: float) -> float:
    """log of an upper bound on P(lo ≤ χ²_k ≤ hi) (Laurent & Massart's tails)."""
    if lo > k:
        root = (-math.sqrt(k) + math.sqrt(k + 2.0 * (lo - k))) / 2.0
        return -root * root
    if hi < k:
        return -((k - hi) ** 2) / (4.0 * k)
    return 0.0


def _log_pass_gaussian(kind: str, key: str, p: float, m: float, v: float) -> float:
    """log of an upper bound on P(a check of `kind` passes) at LAW case `key` and rate p for a
    multiplier r ~ N(m, v) i.i.d. (laws.md §8), given that every |x|-half holds ≥ HALF·n elements
    and |r − m| ≤ MAX_SD·√v everywhere (their exceptions are added by the caller)."""
    q = 1.0 - p
    mu, sd = math.sqrt(q), math.sqrt(p)
    rho = RTOL[LAW_CASES[key][3]]
    n = _min_n(key)
    nh = math.ceil(HALF * n)
    tot = 3.001 * rho * (2.0 + abs(m) + MAX_SD * math.sqrt(v))  # the check's slack plus r̂'s own error
    if kind == "mean":
        gap = abs(m - mu) - Z * sd / math.sqrt(nh) - tot
        return 0.0 if gap <= 0 else math.log(0.5) - gap * gap * nh / (2.0 * v)
    if kind == "variance":
        k = nh - 1
        lo, hi = chi2_bounds(k)
        t = tot * math.sqrt(nh / k)
        s_lo = max(0.0, math.sqrt(p * lo / k) - t)
        s_hi = math.sqrt(p * hi / k) + t
        return _log_chi2_inside(k, k * s_lo * s_lo / v, k * s_hi * s_hi / v)
    if kind == "law":
        gap = _kolmogorov((mu - m) / math.sqrt(v), sd / math.sqrt(v)) - dkw(nh) - 2 * tot / math.sqrt(2 * math.pi * p)
        return 0.0 if gap <= 0 else math.log(2.0) - 2.0 * nh * gap * gap
    if kind == "rate":
        eta = 2.0 * tot / math.sqrt(2 * math.pi * v)  # events flipped by the read-out error
        gap = abs(_phi_bar((mu - m) / math.sqrt(v)) - 0.5) - hoeffding(n) - eta
        return 0.0 if gap <= 0 else math.log(2.0) - 2.0 * n * gap * gap
    raise KeyError(kind)


# Gaussian planted bugs: (mean, variance) of r at rate p, and the check kinds designated.
GAUSSIAN_BUGS = {
    "keras_mean": (lambda p: (1.0, p / (1.0 - p)), ("mean", "variance", "law", "rate")),
    "std_for_var": (lambda p: (math.sqrt(1.0 - p), p * p), ("mean", "variance", "law")),
    "mean_q": (lambda p: (1.0 - p, p), ("mean", "variance", "law", "rate")),
    "unit_mean": (lambda p: (1.0, p), ("mean", "variance", "law", "rate")),
    "swap_pq": (lambda p: (math.sqrt(p), 1.0 - p), ("mean", "variance", "law", "rate")),
    "late_keras": (lambda p: (1.0, p / (1.0 - p)), ("mean", "variance", "law")),  # on y4 (call 45)
}
# The (check, case) each bound is computed at: the tightest (laws.md §8 lists the others).
POWER_AT = {
    "keras_mean": ("variance", "high"),
    "std_for_var": ("variance", "tiny"),
    "mean_q": ("rate", "upper"),
    "unit_mean": ("rate", "high"),
    "swap_pq": ("law", "tiny"),
    "late_keras": ("variance", "high"),
}


def _exceptions(key: str) -> float:
    """P(an |x|-half of `key` holds fewer than HALF·n elements, or some |r − m| > MAX_SD·sd)."""
    n = _min_n(key)
    return math.exp(-2.0 * n * (0.5 - HALF - 1e-7) ** 2) + 6 * n * 6e-89  # 6 outputs read out


def _gaussian_bound(name: str) -> tuple[float, str]:
    law_of, _ = GAUSSIAN_BUGS[name]
    kind, key = POWER_AT[name]
    worst = max(_log_pass_gaussian(kind, key, p, *law_of(p)) for p in _rates(key))
    bound = math.exp(max(worst, LOG_FLOOR)) + _exceptions(key)
    check_name = {"mean": "moments (the mean)", "variance": "moments (the variance)", "law": "law (DKW)", "rate": "rate"}[kind]
    out = "y4, call 45" if name == "late_keras" else "y1"
    return bound, f"{check_name} at `{key}` on {out}, worst rate of its range: log10 ≤ {worst / math.log(10):.0f} (+ {_exceptions(key):.0e} for the halves' sizes)"


def _additive_bound() -> tuple[float, str]:
    """r̂ = √q + √p·z/x. On H+ (|x| ≥ 1), w = 1/x² ∈ [1/4, 1] with E w = 0.75/ln 4 = 0.541:
    k·S² ≤ p·Σ w z², which must reach p·L for the variance check to pass; Σw ≤ (0.541 + 0.05)·n_h
    but with probability exp(−2n_h·0.05²/0.75²), and then Laurent–Massart's upper tail for the
    weighted χ² (‖w‖₂² ≤ Σw, ‖w‖∞ ≤ 1) bounds P(Σ w z² ≥ L) (laws.md §8)."""
    key = "low"
    n = _min_n(key)
    nh = math.ceil(HALF * n)
    k = nh - 1
    lo, _ = chi2_bounds(k)
    rho = RTOL[LAW_CASES[key][3]]
    worst = -math.inf
    for p in _rates(key):
        tot = 3.001 * rho * (2.0 + 1.0 + MAX_SD * 2.0)  # |z/x| ≤ 2·MAX_SD, √p ≤ 1
        root = max(0.0, math.sqrt(lo / k) - tot * math.sqrt(nh / k) / math.sqrt(p))
        need = k * root * root  # Σ w z² must reach this
        w_sum = (0.75 / math.log(4.0) + 0.05) * nh
        gap = need - w_sum
        s = (-math.sqrt(w_sum) + math.sqrt(w_sum + 2.0 * gap)) / 2.0 if gap > 0 else 0.0
        worst = max(worst, -s * s)
    mean_w = math.exp(-2.0 * nh * 0.05**2 / 0.75**2)
    bound = math.exp(max(worst, LOG_FLOOR)) + mean_w + _exceptions(key)
    return bound, f"moments (the variance) at `low`, |x| ≥ 1: S²/p ≈ E[1/x²] = 0.54 against ≥ 0.92; log10 ≤ {worst / math.log(10):.0f} (+ {mean_w + _exceptions(key):.0e})"


def power() -> dict[str, tuple[float, str]]:
    """Each planted bug and known wrong implementation -> (an upper bound on the probability
    that it passes every check designated to catch it in one grading, why). laws.md §8."""
    table = {name: _gaussian_bound(name) for name in GAUSSIAN_BUGS}
    table["additive"] = _additive_bound()
    # uniform_noise: r = √q + √(3p)·u, u ~ U(−1, 1): right mean and variance, Kolmogorov distance
    # D_u to the normal; the empirical CDF at one point moves from its mean by ≥ D_u − ε w.p. ≤ 2e^{−2nε²}.
    key = "low"
    nh = math.ceil(HALF * _min_n(key))
    d_u = _uniform_distance()
    gap = d_u - dkw(nh) - 2 * 3.001 * RTOL["float64"] * 6.0 / math.sqrt(2 * math.pi * 0.05)
    uniform = 2.0 * math.exp(-2.0 * nh * gap * gap) + _exceptions(key)
    # bernoulli_vsd: r ∈ {0, 1/√q}, a pair ties w.p. p² + q² ≥ 1/2; at `low` (1-D, m ≥ n/2 pairs)
    # structure passes only if ≤ 0.01m + 3 tie (Hoeffding).
    m = _min_n("low") // 2
    tie_gap = 0.5 - TIE_FRACTION - TIE_SLACK / m
    bernoulli = math.exp(max(-2.0 * m * tie_gap * tie_gap, LOG_FLOOR))
    # default_p: Class() at p = 0.3 has P(r > √0.5) = Φ((√0.7 − √0.5)/√0.3) = 0.594; the rate over
    # yn1 and yn2 (2 × 8192 elements) must stay within 1/2 ± t.
    n_def = 2 * DEFAULT_SHAPE[0]
    pi_def = _phi_bar((math.sqrt(0.5) - math.sqrt(0.7)) / math.sqrt(0.3))
    def_gap = pi_def - 0.5 - hoeffding(n_def) - 1e-9
    default_p = 2.0 * math.exp(-2.0 * n_def * def_gap * def_gap)
    # antithetic: along axis 0 of `low` (1-D) the pairs (2i, 2i+1) are (z, −z): both above only if
    # the read-out flips an event (w.p. ≤ 2η, η ≤ 2.4ρ/√p ≤ 1.1e-11); the check needs ≥ (1/4 − t)·m
    # such pairs: P(Bin(m, 2η) ≥ j) ≤ (e·m·2η/j)^j.
    m = _min_n("low") // 2
    j = math.ceil((0.25 - hoeffding(m)) * m)
    eta = 2.4 * RTOL["float64"] / math.sqrt(0.05)
    antithetic = math.exp(max(j * math.log(math.e * m * 2 * eta / j), LOG_FLOOR))
    table.update(
        {
            "scalar_draw": (0.0, "structure: one r per call, every pair of every axis ties (fraction 1 against 0.01)"),
            "eval_scaled": (0.0, "eval: ye = x·√q ≠ x at every LAW rate (p ≥ 0.001)"),
            "reused_noise": (0.0, "fresh: y2 = y1 (one cached draw per shape), agreement 1 against 1/2 ± t (t ≤ 0.022)"),
            "stale_after_10": (0.0, "fresh: y5 repeats y4 (y4 is the first call of its shape after call 10), agreement 1 against 1/2 ± t"),
            "shared_last_axis": (0.0, "structure at `mid`, `high`, `upper`: every pair along the last axis ties"),
            "antithetic": (antithetic, f"independence along axis 0 at `low` (1-D): pairs are (z, −z), both above only through a read-out flip; ≥ {j} of {m} needed"),
            "global_rng": (0.0, "reproduce: y1r comes from another stretch of the global stream than y1 (equal only if two MT19937 states coincide)"),
            "fixed_seed": (0.0, "seeds: yd (seed B) = y1 (seed A), agreement 1 against 1/2 ± t"),
            "seed_or_zero": (0.0, f"defaults: yn1 = yn2, agreement 1 against 1/2 ± {hoeffding(DEFAULT_SHAPE[0]):.4f}"),
            "call_differs": (0.0, "reproduce: y1r (forward, √q + √p·z) ≠ y1 (__call__, √q − √p·z)"),
            "inplace": (0.0, "runtime: the worker's inputs are read-only, the in-place write raises"),
            "small_identity": (0.0, "small at s0: y = x on all 200 calls, every axis-0 pair ties and the event fraction is 1 against 1/2 ± 0.27"),
            "tiny_p_identity": (0.0, "structure at `tiny` (p < 0.05): r̂ ≡ 1, every pair ties"),
            "default_p": (default_p, f"defaults: the event fraction of Class() has mean {pi_def:.4f} against 1/2 ± {hoeffding(n_def):.4f} (Hoeffding, {n_def} elements)"),
            "no_valueerror": (0.0, "interface: p = 1.0, −0.1, 1.5 construct"),
            "train_returns_none": (0.0, "interface: train() and eval() return None"),
            "uniform_noise": (uniform, f"law (DKW) at `low`, one half of y1: Kolmogorov distance {d_u:.4f} to the normal against ε = {dkw(nh):.4f} at n_h ≥ {nh}"),
            "bernoulli_vsd": (bernoulli, f"structure at `low`: ties w.p. p² + q² ≥ 1/2 per pair, ≤ 0.01m + 3 of m ≥ {m} allowed"),
        }
    )
    return table

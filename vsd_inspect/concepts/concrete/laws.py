"""The hidden checks' laws of Concrete variance-stabilized dropout.

Each element is multiplied by its own relaxed keep factor w = 1 − z, z the binary Concrete
relaxation at temperature t of a drop with probability p, and by s = 1/√E[w²]. Inputs are never
0 (|x| uniform on [0.5, 2], random signs), so w′ = y/(x·s) reads every unit's keep factor out of
every output. The structure is 0 ≤ w′ ≤ 1; the event is w′ > 1/2 ("more kept than dropped"),
probability q = 1 − p at every temperature; the concept's own checks are the law of w′ (DKW),
the second moment Σy² against Σx² (Hoeffding) and, at small temperatures, where the largest keep
factor of a large output is within 1e-7 of 1, the scale itself: max(y/x) must be s to 1e-6.
`laws.md` derives every check's bound and each known bug's chance.
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
    dkw,
    hoeffding,
    hoeffding_tail,
    seed_pair,
    shape_with,
    signed_input,
)

STRUCTURE = "each output is x · (1 − z) · s with 0 ≤ 1 − z ≤ 1"
EVENT = "more kept than dropped"
GRID = "elements"
# The read-out's tolerance κ on w′ = y/(x·s), by the input's dtype: the allowed relative scale
# error 1e-6 plus rounding (≤ 1e-15 in float64, ≤ 6 float32 ulps ≈ 4e-7 in float32).
KAPPA = {"float64": 1.1e-6, "float32": 2e-6}
EPS_R = 1e-7  # the scale read-out: the largest keep factor of an output is above 1 − EPS_R
LAW_SLACK = 1e-6  # added to the DKW ε: float32 uniform grids, the `+ 1e-7` inside the logs
TRAINING = ("y1", "y2", "y3", "y4", "y5", "yd")  # the engine's training outputs of a LAW case
# The hidden LAW cases (laws.md §4): (p range, t range, ndim, element range, dtype, P(x > 0)).
LAW_CASES = {
    "sharp64": ((0.15, 0.42), (0.02, 0.10), 1, (32_000, 36_001), "float64", 0.5),
    "sharp32": ((0.58, 0.90), (0.02, 0.15), 2, (32_000, 36_001), "float32", 0.5),
    "paper": ((0.05, 0.35), (0.10, 0.10), 3, (24_000, 28_001), "float64", 0.5),
    "mean": ((0.60, 0.80), (0.05, 0.25), 2, (24_000, 28_001), "float64", 0.85),
    "warm": ((0.55, 0.85), (0.30, 1.50), 2, (32_000, 36_001), "float64", 0.5),
    "hot": ((0.15, 0.45), (1.50, 5.00), 3, (32_000, 36_001), "float32", 0.5),
}
READOUT_CASES = ("sharp64", "sharp32", "paper", "mean")  # the scale read-out is valid at every draw
IDENTITY_N = 8_000
IDENTITY_T = (0.02, 5.0)
SMALL_RATE, SMALL_T = (0.25, 0.40), (0.02, 0.05)
# The small inputs: 1 and 3 elements, 2-D, 4-D, one of 13 to 300 elements whose magnitudes
# span 1e-3 to 1e3, and a non-contiguous view (rows 1, 4, 7, 10 and columns 0, 4, 8 of a
# 12 × 10 base, transposed: shape (3, 4)).
SMALL_SHAPES = ((1,), (3,), (2, 3), (2, 1, 3, 2))
SMALL_VIEW = ((1, 12, 3), (0, 10, 4), "T")
WIDE = {"low": 1e-3, "high": 1e3, "log": True}
DEFAULT_P, DEFAULT_T, DEFAULT_SHAPE = 0.5, 0.1, (8192,)


# ---------------------------------------------------------------- the law (laws.md §1)


def sigmoid(v):
    """1 / (1 + exp(−v)) for any v, without overflow."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(v, dtype=np.float64)))


def _log_odds(p: float) -> float:
    return math.log(p) - math.log1p(-p)


_M = np.linspace(-45.0, 45.0, 18_001)  # F3: the trapezoid rule on m ∈ [−45, 45], step 0.005
_SM, _SMN = sigmoid(_M), sigmoid(-_M)
_MOMENTS: dict = {}


def keep_moment(p: float, t: float, k: int = 2) -> float:
    """E[w^k] = ∫ k σ(m) σ(−m)^k σ(t·m − a) dm (F3): relative error < 1e-12 for t ≤ 20."""
    if p == 0:
        return 1.0
    key = (float(p), float(t), int(k))
    if key not in _MOMENTS:
        integrand = k * _SM * _SMN**k * sigmoid(t * _M - _log_odds(p))
        _MOMENTS[key] = float(np.sum(integrand) * (_M[1] - _M[0]))
    return _MOMENTS[key]


def scale(p: float, t: float) -> float:
    """s(p, t) = 1 / √E[w²]."""
    return 1.0 / math.sqrt(keep_moment(p, t, 2))


def cdf(c, p: float, t: float):
    """F1: P(w ≤ c) = σ(a + t·logit c) for 0 < c < 1."""
    c = np.asarray(c, dtype=np.float64)
    return sigmoid(_log_odds(p) + t * (np.log(c) - np.log1p(-c)))


def pi_eps(p: float, t: float) -> float:
    """F4: P(w > 1 − EPS_R) = σ(t·logit EPS_R − a)."""
    return float(sigmoid(t * (math.log(EPS_R) - math.log1p(-EPS_R)) - _log_odds(p)))


def log_top_miss(p: float, t: float, n: int) -> float:
    """log P(the largest of n keep factors is below 1 − EPS_R) = n·log(1 − π_ε)."""
    return n * math.log1p(-pi_eps(p, t))


def readout_valid(p: float, t: float, n: int) -> bool:
    """F4: a correct layer's max(y/x) is within EPS_R of its scale but with probability ≤ δ."""
    return log_top_miss(p, t, n) <= math.log(DELTA)


# ---------------------------------------------------------------- the interface and the cases


def rate_args(param: str, p: float, temperature: float = DEFAULT_T) -> dict:
    """The constructor's arguments (the seed excepted) for drop probability p."""
    return {"p": p, "temperature": temperature}


def bad_args(param: str) -> list[dict]:
    """Argument sets that must raise ValueError."""
    return [{"p": 1.0}, {"p": -0.1}, {"p": 1.5}, {"p": 0.5, "temperature": 0.0}, {"p": 0.5, "temperature": -0.1}]


def good_args(param: str) -> list[dict]:
    """Valid extremes that must construct."""
    return [{"p": 0.0}, {"p": 0.99}, {"p": 0.5, "temperature": 0.02}, {"p": 0.5, "temperature": 5.0}]


def _label(p: float, t: float, shape: tuple, dtype: str) -> str:
    return f"p={p:.4g} t={t:.4g} {'×'.join(map(str, shape))} {dtype}"


def draw_cases(rng: np.random.Generator, param: str) -> list[Case]:
    """The hidden cases of one grading (laws.md §4). LAW rates avoid 0.42–0.58 but in `hot` and
    `warm` (at p = 1/2 the swapped log-odds give the same law); the four sharp ones (t ≤ 0.25)
    make the scale read-out valid at every draw."""

    def uniform(lo: float, hi: float) -> float:
        return round(float(rng.uniform(lo, hi)), 4)

    def case(key: str, role: str, p: float, t: float, shape: tuple, dtype: str, extra: str = "", view=None, **params) -> Case:
        label = _label(p, t, shape, dtype) + extra
        return Case(key, role, rate_args(param, p, t), p, shape, dtype, seed_pair(rng), {"temperature": t, **params}, view, label)

    cases = []
    for key, ((plo, phi), (tlo, thi), ndim, size, dtype, plus) in LAW_CASES.items():
        p, t = uniform(plo, phi), uniform(tlo, thi)
        shape = shape_with(rng, ndim, int(rng.integers(*size)))
        cases.append(case(key, LAW, p, t, shape, dtype, ", mean ≠ 0" if plus != 0.5 else "", plus=plus))
    shape = shape_with(rng, 2, IDENTITY_N)
    cases.append(case("p0", IDENTITY, 0.0, uniform(*IDENTITY_T), shape, "float64"))
    for i, shape in enumerate(SMALL_SHAPES):
        cases.append(case(f"s{i}", SMALL, uniform(*SMALL_RATE), uniform(*SMALL_T), shape, ("float64", "float32")[i % 2]))
    p, t = uniform(*SMALL_RATE), uniform(*SMALL_T)
    shape = shape_with(rng, 2, int(rng.integers(13, 301)), lead=(2, 6))
    cases.append(case("swide", SMALL, p, t, shape, "float64", ", |x| from 1e-3 to 1e3", **WIDE))
    p, t = uniform(*SMALL_RATE), uniform(*SMALL_T)
    cases.append(case("sview", SMALL, p, t, (3, 4), "float64", ", a non-contiguous view", view=SMALL_VIEW))
    label = f"p={DEFAULT_P}, temperature={DEFAULT_T} by default, seed None"
    args = rate_args(param, DEFAULT_P, DEFAULT_T)
    cases.append(Case("default", DEFAULTS, args, DEFAULT_P, DEFAULT_SHAPE, "float64", (0, 0), {"temperature": DEFAULT_T}, None, label))
    return cases


def make_input(rng: np.random.Generator, case: Case, shape: tuple) -> np.ndarray:
    """|x| uniform on [0.5, 2] (log-uniform on [1e-3, 1e3] for `swide`), random signs: never 0."""
    magnitudes = {k: case.params[k] for k in ("low", "high", "log") if k in case.params}
    return signed_input(rng, shape, case.dtype, plus=case.params.get("plus", 0.5), **magnitudes)


def event_probability(case: Case) -> float:
    """F2: P(w > 1/2) = 1 − p at every temperature (w > 1/2 exactly when u < 1 − p)."""
    return 1.0 - case.rate


# ---------------------------------------------------------------- the read-out (laws.md §2)


def readout(case: Case, x: np.ndarray, y: np.ndarray) -> Readout:
    """w′ = y/(x·s): structure 0 ≤ w′ ≤ 1 + κ (worst = max(−min w′, max w′ − 1, 0)); events
    w′ > 1/2; values w′."""
    s = scale(case.rate, case.params["temperature"])
    kappa = KAPPA[case.dtype]
    w = y.astype(np.float64)
    w /= x.astype(np.float64)
    w *= 1.0 / s
    if not bool(np.isfinite(w).all()):
        return Readout(False, math.inf, kappa, np.zeros(w.shape, bool), w, "non-finite output")
    worst = max(-float(w.min(initial=0.0)), float(w.max(initial=0.0)) - 1.0, 0.0)
    ok = worst <= kappa
    why = "" if ok else ("y/x changes sign" if float(w.min(initial=0.0)) < -kappa else "1 − z above 1")
    return Readout(ok, worst, kappa, w > 0.5, w, why)


# ---------------------------------------------------------------- the law checks (laws.md §3)

# The DKW check's grid: logistic-spaced points (reaching 6e-6 of 0 and 1) and uniform ones.
GRID_C = np.unique(np.concatenate([sigmoid(np.linspace(-12.0, 12.0, 481)), np.linspace(0.002, 0.998, 499)]))


def law_checks(case: Case, x: np.ndarray, out: dict, reads: dict) -> list[dict]:
    """A LAW case's own checks over its six training outputs (five calls of layer A, one of
    layer B): the scale per output where the read-out is valid, the law of w′ and Σy² vs Σx²."""
    p, t = case.rate, case.params["temperature"]
    results = []
    xf = x.astype(np.float64)
    n = x.size
    if readout_valid(p, t, n):
        results += [_scale_check(case, name, xf, out[name]) for name in TRAINING]
    values = np.concatenate([reads[name].values.ravel() for name in TRAINING])
    results.append(_law_check(case, values))
    results.append(_moments_check(case, xf, [out[name] for name in TRAINING]))
    return results


def _scale_check(c: Case, name: str, x: np.ndarray, y: np.ndarray) -> dict:
    """F4: s(1 − κ)(1 − ε_r) ≤ max(y/x) ≤ s(1 + κ); a correct layer fails only if its largest
    keep factor is below 1 − ε_r (probability ≤ δ where the read-out is valid)."""
    s = scale(c.rate, c.params["temperature"])
    kappa = KAPPA[c.dtype]
    top = float(np.max(y.astype(np.float64) / x)) / s
    lo, hi = (1.0 - kappa) * (1.0 - EPS_R), 1.0 + kappa
    passed = lo <= top <= hi
    return check(
        "scale",
        f"{c.name}, {name}: the largest y/x is the scale s = {s:.7f} (keep factors reach 1 − 1e-7)",
        passed,
        f"max(y/x)/s − 1 = {top - 1.0:+.2e}",
        f"[{lo - 1.0:+.1e}, {hi - 1.0:+.1e}]",
        True,
    )


def _law_check(c: Case, values: np.ndarray) -> dict:
    """DKW on the pooled w′ against F1, bracketed by the allowed perturbation |w′ − w| ≤ κ:
    F_N(c − κ) − ε ≤ F(c) ≤ F_N(c + κ) + ε on GRID_C ∩ (4κ, 1 − 4κ)."""
    p, t = c.rate, c.params["temperature"]
    kappa = KAPPA[c.dtype]
    w = np.sort(values)
    big = w.size
    eps = dkw(big) + LAW_SLACK
    grid = GRID_C[(GRID_C > 4 * kappa) & (GRID_C < 1.0 - 4 * kappa)]
    f = cdf(grid, p, t)
    below = np.searchsorted(w, grid - kappa, side="right") / big
    above = np.searchsorted(w, grid + kappa, side="right") / big
    dev = float(max(np.max(below - f), np.max(f - above)))
    return check(
        "law",
        f"{c.name}: 1 − z = y/(x·s) follows the binary Concrete law P(1 − z ≤ c) = σ(logit p + t·logit c) (DKW, {len(TRAINING)} outputs)",
        dev <= eps,
        f"sup deviation {dev:.4f} ({dev / eps:.2f} ε, N = {big})",
        f"≤ ε = {eps:.4f}",
        True,
    )


def moments_half_width(c: Case, s2: float, s4: float) -> float:
    """Hoeffding for A = Σy² (terms in [0, x²s²], mean S2) plus the read-out's perturbation
    |w′ − w| ≤ κ, which moves each term by at most x²s²(2κ + κ²): relative to S2."""
    s = scale(c.rate, c.params["temperature"])
    kappa = KAPPA[c.dtype]
    return s * s * math.sqrt(s4 * math.log(2 / DELTA) / 2) / s2 + (2 * kappa + kappa * kappa) * s * s


def _moments_check(c: Case, x: np.ndarray, ys: list) -> dict:
    """Σy² over the outputs against Σx² (the same x once per output): E[y²] = E[x²]."""
    x2 = x * x
    s2 = len(ys) * float(np.sum(x2))
    s4 = len(ys) * float(np.sum(x2 * x2))
    a = 0.0
    for y in ys:
        yf = y.astype(np.float64)
        a += float(np.sum(yf * yf))
    half = moments_half_width(c, s2, s4)
    ratio = a / s2
    return check(
        "moments",
        f"{c.name}: the second moment is kept, Σy² = Σx² ({len(ys)} outputs)",
        abs(ratio - 1.0) <= half,
        f"Σy²/Σx² = {ratio:.5f}",
        f"1 ± {half:.5f}",
        True,
    )


# ---------------------------------------------------------------- power (laws.md §6)

LOG_FLOOR = math.log(1e-300)  # bounds below 1e-300 are reported as 1e-300
BERRY_ESSEEN = 0.4748  # Shevtsova (2011), i.i.d. summands
MC_DRAWS = 4096  # the monte_carlo_scale bug's draws per estimate
GRID_POINTS = 17  # per axis of a case's (p, t) range


def _min_n(key: str) -> int:
    """The fewest elements `shape_with` gives a LAW case: every axis but the last is ≤ 39."""
    _, _, ndim, size, _, _ = LAW_CASES[key]
    return size[0] - (39 ** (ndim - 1) if ndim > 1 else 0)


def _grid(key: str) -> list[tuple[float, float]]:
    (plo, phi), (tlo, thi), *_ = LAW_CASES[key]
    ps = np.unique(np.round(np.linspace(plo, phi, GRID_POINTS), 4))
    ts = np.unique(np.round(np.linspace(tlo, thi, GRID_POINTS), 4))
    return [(float(p), float(t)) for p in ps for t in ts]


def _exp(log_p: float) -> float:
    return 0.0 if log_p == -math.inf else math.exp(max(log_p, LOG_FLOOR))


def _log_cdf_point(c: float, p: float, t: float) -> float:
    """log P(w ≤ c) for a keep factor of law (p, t); 0 when c ≥ 1."""
    return 0.0 if c >= 1.0 else float(-np.logaddexp(0.0, -(_log_odds(p) + t * (math.log(c) - math.log1p(-c)))))


def _log_pass_top(key: str, ratio, noise, outputs: int, scale_side: bool) -> float:
    """log of an upper bound, worst over the case's grid, on P(structure passes) (scale_side
    False) or P(every scale check passes) (scale_side True) for a layer whose read-out is
    w′ = ratio(p, t)·w, w of law noise(p, t), on `outputs` independent outputs. r > 1 + κ: every
    w must stay ≤ (1 + κ)/r. Scale side and r·1 < (1 − κ)(1 − ε_r): max(y/x) ≤ r·s is too small."""
    kappa = KAPPA[LAW_CASES[key][4]]
    n = _min_n(key)
    worst = -math.inf
    for p, t in _grid(key):
        r = ratio(p, t)
        if scale_side and r < (1.0 - kappa) * (1.0 - EPS_R):
            log_p = -math.inf
        elif r > 1.0 + kappa:
            log_p = outputs * n * _log_cdf_point((1.0 + kappa) / r, *noise(p, t))
        else:
            log_p = 0.0
        worst = max(worst, log_p)
    return worst


def _best_top(name: str, ratio, noise=lambda p, t: (p, t), keys=READOUT_CASES, scale_side: bool = True) -> tuple[float, str]:
    """The best case's bound from `_log_pass_top` over `keys` (the cases are independent, but
    one is enough)."""
    logs = {k: _log_pass_top(k, ratio, noise, len(TRAINING), scale_side) for k in keys}
    best = min(logs, key=logs.get)
    what = "scale" if scale_side else "structure"
    sure = [k for k, v in logs.items() if v == -math.inf]
    if sure:
        where = ", ".join(f"`{k}`" for k in sure)
        return 0.0, f"{what} at {where}: max(y/x) ≤ r·s < s(1 − κ)(1 − ε_r) at every rate and temperature of the range ({name})"
    return _exp(logs[best]), f"{what} at `{best}`: all {len(TRAINING)}·n keep factors must stay ≤ (1 + κ)/r, log10 ≤ {logs[best] / math.log(10):.0f} ({name})"


def _log_pass_law(key: str, ratio, noise) -> tuple[float, float]:
    """log of an upper bound, worst over the grid, on P(the DKW check passes) for w′ = r·w,
    w of law noise(p, t): at the grid point c with the largest gap D between the bug's CDF and
    the bracket, one-sided Hoeffding exp(−2N(D − ε)²); and the smallest D − ε."""
    kappa = KAPPA[LAW_CASES[key][4]]
    big = len(TRAINING) * _min_n(key)
    eps = dkw(big) + LAW_SLACK
    grid = GRID_C[(GRID_C > 4 * kappa) & (GRID_C < 1.0 - 4 * kappa)]
    worst, margin = -math.inf, math.inf
    for p, t in _grid(key):
        r = ratio(p, t)
        pn, tn = noise(p, t)

        def bug_cdf(c):
            inner = np.clip(c / r, 1e-300, 1.0 - 1e-16)
            return np.where(c / r >= 1.0, 1.0, cdf(inner, pn, tn))

        f = cdf(grid, p, t)
        gap = float(max(np.max(bug_cdf(grid - kappa) - f), np.max(f - bug_cdf(grid + kappa)))) - eps
        margin = min(margin, gap)
        worst = max(worst, 0.0 if gap <= 0 else -2.0 * big * gap * gap)
    return worst, margin


def _log_pass_rate(key: str, ratio, noise) -> tuple[float, float]:
    """log of an upper bound on P(rate passes on y1): the event w′ > 1/2 has probability
    1 − G(1/(2r)) against q ± h(n) (Hoeffding); and the smallest gap."""
    n = _min_n(key)
    h = hoeffding(n)
    worst, margin = -math.inf, math.inf
    for p, t in _grid(key):
        r = ratio(p, t)
        pi = 1.0 - math.exp(_log_cdf_point(0.5 / r, *noise(p, t)))
        gap = abs(pi - (1.0 - p)) - h - 1e-5
        margin = min(margin, gap)
        worst = max(worst, math.log(2.0) - 2.0 * n * gap * gap if gap > 0 else 0.0)
    return worst, margin


def _window() -> dict[str, float]:
    """The relative width W of the window Ê/E[w²] must land in for every scale check of an
    output to pass, when the scale is 1/√Ê and the output's largest keep factor M is in
    [1 − ε_r, 1]: [(1 − ε_r)²/(1 + κ′)², 1/((1 − κ′)(1 − ε_r))²], κ′ = κ + 1e-6 (rounding)."""
    out = {}
    for dtype, kappa in KAPPA.items():
        k = kappa + 1e-6
        out[dtype] = 1.0 / ((1.0 - k) * (1.0 - EPS_R)) ** 2 - (1.0 - EPS_R) ** 2 / (1.0 + k) ** 2
    return out


def _in_window(key: str, draws: int) -> float:
    """Worst over the grid of an upper bound on P(a mean of `draws` i.i.d. w² lands in a given
    window of relative width W): W·μ·√m/(σ√(2π)) + 2·C·ρ/(σ³√m) (Berry–Esseen), with
    ρ ≤ σ²·max(μ, 1 − μ) since w² ∈ [0, 1]."""
    width = _window()[LAW_CASES[key][4]]
    worst = 0.0
    for p, t in _grid(key):
        mu = keep_moment(p, t, 2)
        sd = math.sqrt(keep_moment(p, t, 4) - mu * mu)
        b = width * mu * math.sqrt(draws) / (sd * math.sqrt(2 * math.pi)) + 2 * BERRY_ESSEEN * max(mu, 1.0 - mu) / (sd * math.sqrt(draws))
        worst = max(worst, b)
    return min(1.0, worst)


def _top_miss() -> float:
    """Σ over the read-out cases' outputs of P(their largest keep factor < 1 − ε_r)."""
    total = 0.0
    for key in READOUT_CASES:
        worst = max(log_top_miss(p, t, _min_n(key)) for p, t in _grid(key))
        total += len(TRAINING) * math.exp(worst)
    return total


def _dispersion() -> tuple[bool, str]:
    """stratified_noise: every count is within 1 of nq, so S ≤ K/min(nπ(1 − π)) ≤ K/1000
    over the K near-normal outputs; the floor of χ²_K at δ must exceed it for every possible K
    (the LAW outputs of cases whose every draw is near-normal are always counted)."""
    sure = 0
    for key in LAW_CASES:
        (plo, phi), *_ = LAW_CASES[key]
        if min(_min_n(key) * p * (1 - p) for p in (plo, phi)) >= 1000:
            sure += len(TRAINING)
    total = len(LAW_CASES) * len(TRAINING)
    ok = sure > 0 and all(chi2_lower_quantile(k) > k / 1000.0 for k in range(sure, total + 1))
    return ok, f"dispersion: counts within 1 of nq, S ≤ K/1000 below the floor {chi2_lower_quantile(sure):.2f} (K ≥ {sure})"


def power() -> dict[str, tuple[float, str]]:
    """Each planted bug and known wrong implementation -> (an upper bound on the probability
    that it passes every check designated to catch it in one grading, why). laws.md §6."""
    s = scale
    table = {}
    table["retain_scale"] = _best_top("÷ (1 − p): r = 1/(q·s) ≥ 1.075 at `sharp64`", lambda p, t: 1.0 / ((1.0 - p) * s(p, t)), scale_side=False)
    table["sqrt_retain_scale"] = _best_top("r = 1/(√q·s) < 1", lambda p, t: 1.0 / (math.sqrt(1.0 - p) * s(p, t)))
    table["first_moment"] = _best_top("r = √(E[w²]/E[w]) < 1", lambda p, t: math.sqrt(keep_moment(p, t, 2) / keep_moment(p, t, 1)))
    table["hard_mask"] = _best_top("max(y/x) = 1/√q, r = 1/(√q·s) < 1", lambda p, t: 1.0 / (math.sqrt(1.0 - p) * s(p, t)))
    table["late_unscaled"] = _best_top("y4 and y5 unscaled, r = 1/s", lambda p, t: 1.0 / s(p, t))
    # no_temperature: the noise is the t = 1 law, the scale right for t (w′ = w₁).
    law_nt = min((_log_pass_law(k, lambda p, t: 1.0, lambda p, t: (p, 1.0)), k) for k in READOUT_CASES)
    table["no_temperature"] = (
        _exp(law_nt[0][0]),
        f"law at `{law_nt[1]}`: the t = 1 law's CDF is ≥ {law_nt[0][1]:.3f} beyond ε at a grid point (Hoeffding), log10 ≤ {law_nt[0][0] / math.log(10):.0f}",
    )
    # swapped_logit: the noise of drop probability 1 − p, the scale s(1 − p, t).
    ratio_sw = lambda p, t: s(1.0 - p, t) / s(p, t)  # noqa: E731
    noise_sw = lambda p, t: (1.0 - p, t)  # noqa: E731
    rate_sw = min((_log_pass_rate(k, ratio_sw, noise_sw), k) for k in ("sharp64", "sharp32"))
    table["swapped_logit"] = (
        _exp(rate_sw[0][0]),
        f"rate at `{rate_sw[1]}`: the event has probability ≈ p, ≥ {rate_sw[0][1]:.3f} beyond q ± h (Hoeffding), log10 ≤ {rate_sw[0][0] / math.log(10):.0f}",
    )
    # monte_carlo_scale: each estimate of E[w²] from 4096 draws must land in a window of relative
    # width W (2 independent estimates per read-out case at the fewest: layers A and B).
    per = {k: _in_window(k, MC_DRAWS) for k in READOUT_CASES}
    mc = math.prod(b * b for b in per.values()) + _top_miss()
    table["monte_carlo_scale"] = (
        mc,
        "scale: each estimate lands in a window of relative width ≤ "
        + f"{_window()['float32']:.1e} w.p. ≤ "
        + ", ".join(f"{b:.3f} ({k})" for k, b in per.items())
        + " (Berry–Esseen); two independent estimates per case (layers A, B)",
    )
    # batch_normalized: Ê is the output's own mean of w², n draws; six outputs per case.
    per_bn = {k: _in_window(k, _min_n(k)) for k in READOUT_CASES}
    bn = math.prod(b ** len(TRAINING) for b in per_bn.values()) + _top_miss()
    table["batch_normalized"] = (
        bn,
        "scale: each output's own mean of (1 − z)² lands in the window w.p. ≤ "
        + ", ".join(f"{b:.4f} ({k})" for k, b in per_bn.items())
        + f" (Berry–Esseen), {len(TRAINING)} outputs per case",
    )
    # defaults: Class() at temperature 2/3 (default_temperature) or p = 0.1 (default_rate).
    n_def = 2 * DEFAULT_SHAPE[0]
    kappa = KAPPA["float64"]
    r_dt = s(DEFAULT_P, 2.0 / 3.0) / s(DEFAULT_P, DEFAULT_T)
    log_dt = n_def * _log_cdf_point((1.0 + kappa) / r_dt, DEFAULT_P, 2.0 / 3.0)
    table["default_temperature"] = (
        _exp(log_dt),
        f"defaults: structure, w′ = {r_dt:.3f}·w: all {n_def} keep factors must stay ≤ {(1 + kappa) / r_dt:.3f}, log10 ≤ {log_dt / math.log(10):.0f}",
    )
    r_dr = s(0.1, DEFAULT_T) / s(DEFAULT_P, DEFAULT_T)
    pi_dr = 1.0 - math.exp(_log_cdf_point(0.5 / r_dr, 0.1, DEFAULT_T))
    table["default_rate"] = (
        hoeffding_tail(n_def, abs(pi_dr - 0.5) - hoeffding(n_def)),
        f"defaults: the event fraction has mean {pi_dr:.3f} against 0.5 ± {hoeffding(n_def):.4f} (Hoeffding, {n_def} units)",
    )
    disp_ok, disp_why = _dispersion()
    table["stratified_noise"] = (0.0 if disp_ok else 1.0, disp_why)
    q_small = 1.0 - SMALL_RATE[0]
    units = 200 * math.prod(SMALL_SHAPES[3])
    table.update(
        {
            "noise_reused": (0.0, "fresh: y2 repeats y1, agreement 1 against 1 − 2pq ± h (2pq ≥ 0.25 at `sharp64`, h ≤ 0.022)"),
            "global_rng": (0.0, "reproduce: y1r comes from another stretch of the global stream than y1 (equal only if two MT19937 states coincide)"),
            "fixed_seed": (0.0, "seeds: yd (seed B) = y1 (seed A), agreement 1 against 1 − 2pq ± h"),
            "seed_or_zero": (0.0, f"defaults: yn1 = yn2, agreement 1 against 0.5 ± {hoeffding(DEFAULT_SHAPE[0]):.4f}"),
            "in_place": (0.0, "runtime: the worker's inputs are read-only, the in-place write raises (and visible: the output is the input)"),
            "shared_along_axis0": (0.0, f"rate at `sharp64` (1-D): one draw for all, fraction 0 or 1 against q ∈ [0.58, 0.85] ± {hoeffding(_min_n('sharp64')):.3f}"),
            "small_identity": (
                0.0,
                f"small at s3 ({units} units): y = x, every w′ = 1/s > 1/2, fraction 1 against q ≤ {q_small:.2f} ± {hoeffding(units):.3f}",
            ),
            "no_temperature_check": (0.0, "interface: temperature 0.0 and −0.1 construct"),
            "noisy_eval": (0.0, "eval: ye = x·(1 − z)·s ≠ x"),
            "forward_unscaled": (0.0, "reproduce: y1r (forward, unscaled) ≠ y1 (__call__)"),
        }
    )
    return table

"""What a concept's laws are written with: cases, read-outs, checks and their bounds.

A concept's `laws.py` (in `vsd_inspect/concepts/<id>/`) describes the hidden cases of one
grading and, for one output, its exact structure and the binary events its noise draws
(`Readout`). The engine (`grader/contract.py`) turns those into the checks every concept
shares — the event's rate, independence along each axis of the noise's grid, fresh noise on
later calls, other noise for other seeds, the χ² dispersion of the event counts — and adds the
concept's own law checks. Every statistical check is a two-sided interval that a correct
layer leaves with probability at most DELTA; `bounds.py` and each concept's `laws.md` derive
what that means per grading and per known bug.

Only numpy and the standard library: this module runs in the judge, on the host or copied into
a `grader` sandbox, never in the candidate's process.
"""

import math
from dataclasses import dataclass, field

import numpy as np

# Per-check false-fail probability of a correct layer. A grading runs at most MAX_STAT_CHECKS
# statistical checks (the engine refuses to run more), so a correct layer fails a grading by
# chance with probability at most MAX_STAT_CHECKS * DELTA = 5e-10 (union bound).
DELTA = 1e-12
MAX_STAT_CHECKS = 500

# Roles of a hidden case: what the engine does with it.
LAW, IDENTITY, SMALL, DEFAULTS = "law", "identity", "small", "defaults"


@dataclass(frozen=True)
class Case:
    """One hidden input and the layer it meets.

    key: unique within a grading ("low", "s1", ...). role: LAW (the full law, on a large
    input), IDENTITY (the identity setting: every output equals the input), SMALL (a small
    input over many calls of one layer), DEFAULTS (`Class()` with no argument at all).
    args: the constructor's keyword arguments, the seed excepted (for DEFAULTS: the values
    the defaults stand for, never passed). rate: the drop probability p the case runs at.
    params: any other law parameter (temperature, mean, var, ...), for the laws' own use.
    view: for a SMALL case, how the layer's input is cut from a larger base array (a
    non-contiguous view): one [start, stop, step] per axis, then "T" to transpose.
    """

    key: str
    role: str
    args: dict
    rate: float
    shape: tuple[int, ...]
    dtype: str
    seeds: tuple[int, int]
    params: dict = field(default_factory=dict)
    view: tuple | None = None
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.key


@dataclass
class Readout:
    """What one output says about the noise that made it, read out exactly.

    ok/worst/bound: the exact-structure check (worst deviation against its tolerance).
    events: one boolean per noise unit (element, channel, sample) on the noise's grid;
    True means the law's event happened (e.g. "dropped"); its probability is the laws'
    `event_probability(case)`. values: a continuous read-out for the laws' own checks
    (the multiplier y/x, the kept fraction 1 − z, ...), or None.
    """

    ok: bool
    worst: float
    bound: float
    events: np.ndarray
    values: np.ndarray | None = None
    why: str = ""


def check(kind: str, name: str, passed: bool, measured: str, bound: str, statistical: bool = False) -> dict:
    """One check as a verdict lists it. `statistical` marks the checks counted against
    MAX_STAT_CHECKS (those that a correct layer can fail, with probability ≤ DELTA)."""
    return {"kind": kind, "name": name, "passed": bool(passed), "measured": measured, "bound": bound, "stat": statistical}


# ---------------------------------------------------------------- bounds


def hoeffding(n: int, delta: float = DELTA) -> float:
    """t with P(|mean of n independent [0,1] variables − its expectation| ≥ t) ≤ delta."""
    return math.sqrt(math.log(2 / delta) / (2 * n))


def hoeffding_tail(n: int, gap: float) -> float:
    """P(mean of n independent [0,1] variables is `gap` or more from its expectation) ≤ this."""
    return 1.0 if gap <= 0 else min(1.0, 2 * math.exp(-2 * n * gap * gap))


def dkw(n: int, delta: float = DELTA) -> float:
    """ε with P(sup |F_n − F| > ε) ≤ delta for the empirical CDF of n i.i.d. draws
    (Dvoretzky–Kiefer–Wolfowitz with Massart's constant): ε = sqrt(ln(2/δ) / 2n)."""
    return math.sqrt(math.log(2 / delta) / (2 * n))


def normal_quantile(delta: float = DELTA) -> float:
    """z with P(|Z| > z) ≤ delta for a standard normal Z, from the Mills-ratio bound
    P(|Z| > z) ≤ 2 φ(z) / z (solved by bisection; exact enough and never too small)."""
    lo, hi = 1.0, 40.0
    for _ in range(200):
        z = (lo + hi) / 2
        if 2 * math.exp(-z * z / 2) / (z * math.sqrt(2 * math.pi)) > delta:
            lo = z
        else:
            hi = z
    return hi


def chi2_bounds(k: int, delta: float = DELTA) -> tuple[float, float]:
    """(lo, hi) with P(X < lo) ≤ δ/2 and P(X > hi) ≤ δ/2 for X ~ χ²_k (Laurent & Massart 2000,
    Lemma 1: P(X − k ≥ 2√(kx) + 2x) ≤ e^−x and P(k − X ≥ 2√(kx)) ≤ e^−x)."""
    x = math.log(2 / delta)
    return k - 2 * math.sqrt(k * x), k + 2 * math.sqrt(k * x) + 2 * x


def chi2_lower_quantile(k: int, delta: float = DELTA) -> float:
    """s with P(χ²_k ≤ s) ≤ delta, from P(χ²_k ≤ s) ≤ (s/2)^(k/2) / Γ(k/2 + 1)."""
    return 2.0 * math.exp((math.log(delta) + math.lgamma(k / 2 + 1)) / (k / 2))


# Absolute error bound of `normal_cdf` (the erfc approximation's fractional error is < 1.2e-7,
# and Φ = erfc(−v/√2)/2 ≤ 1): a check that compares with it widens its bound by this much.
NORMAL_CDF_ERROR = 1.2e-7


def normal_cdf(v: np.ndarray) -> np.ndarray:
    """Φ(v), the standard normal distribution function, element-wise, to NORMAL_CDF_ERROR:
    erfc by the Chebyshev-fitted rational form of Numerical Recipes (erfcc, fractional error
    < 1.2e-7 for every argument), numpy only (an object ufunc over math.erf is ~50× slower)."""
    z = np.abs(v) * (1.0 / math.sqrt(2.0))
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (
        0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))  # fmt: skip
    tail = 0.5 * t * np.exp(-z * z + poly)  # Φ(−|v|)
    return np.where(v < 0, tail, 1.0 - tail)


# ---------------------------------------------------------------- inputs


def kept_deviation(x: np.ndarray, y: np.ndarray, s: float) -> tuple[float, np.ndarray]:
    """The worst relative error |y − x·s| / |x·s| over the elements where y is not 0 (0.0 when
    there are none), and where y is not 0: how a dropout law that scales kept elements by s reads
    them out (x is never 0: `signed_input`). In float64, in place after the first two arrays."""
    xs = np.multiply(x, s, dtype=np.float64)  # as x.astype(float64) * s
    kept = y != 0
    rel = np.subtract(y, xs, dtype=np.float64)
    np.abs(rel, out=rel)
    rel /= np.abs(xs, out=xs)
    rel *= kept  # dropped elements do not count
    return float(rel.max(initial=0.0)), kept


def seed_pair(rng: np.random.Generator) -> tuple[int, int]:
    """Two different layer seeds (equal seeds would make "another seed draws other noise"
    fail a correct layer with probability 2^-31 per case)."""
    a, b = rng.choice(2**31, size=2, replace=False)
    return int(a), int(b)


def signed_input(
    rng: np.random.Generator, shape: tuple, dtype: str, low: float = 0.5, high: float = 2.0, plus: float = 0.5, log: bool = False
) -> np.ndarray:
    """|x| uniform in [low, high] (log-uniform with `log`) with a + sign with probability
    `plus`: never 0, so a multiplicative noise is read out exactly as y / x; with the uniform
    magnitudes the mean is (2·plus − 1)(low + high)/2."""
    if log:
        magnitude = np.exp(rng.uniform(math.log(low), math.log(high), size=shape))
    else:
        magnitude = rng.uniform(low, high, size=shape)
    positive = rng.random(size=shape) < plus
    # m or −m exactly, as ±1.0 · m is, without the ±1 array and its product.
    return np.where(positive, magnitude, -magnitude).astype(dtype, copy=False)


def shape_with(rng: np.random.Generator, ndim: int, total: int, lead: tuple[int, int] = (8, 40)) -> tuple[int, ...]:
    """A random `ndim`-D shape with about `total` elements; every axis but the last in `lead`
    (narrowed so that the last axis keeps at least about 8)."""
    if ndim == 1:
        return (total,)
    hi = min(lead[1], max(lead[0] + 1, int((total / 8) ** (1 / (ndim - 1))) + 1))
    dims = [int(rng.integers(lead[0], hi)) for _ in range(ndim - 1)]
    return (*dims, max(2, total // math.prod(dims)))


def view_of(base: np.ndarray, view) -> np.ndarray:
    """The non-contiguous view a SMALL case describes: slices per axis, then "T"."""
    slices = tuple(slice(*s) for s in view if s != "T")
    out = base[slices]
    return out.T if "T" in view else out


def base_shape(view) -> tuple[int, ...]:
    """The smallest base array shape a view's slices fit in."""
    return tuple(int(s[1]) for s in view if s != "T")


# ---------------------------------------------------------------- exact structure helpers


def relative_error(y: np.ndarray, expected: np.ndarray, mask: np.ndarray | None = None) -> float:
    """max |y − e| / |e| over the elements in `mask` (all when None); e is never 0 here."""
    diff = np.abs(y.astype(np.float64) - expected)
    diff /= np.abs(expected)
    if mask is not None:
        diff *= mask
    return float(diff.max(initial=0.0))


def pairs_both(events: np.ndarray, axis: int) -> tuple[float, int]:
    """Fraction of disjoint adjacent pairs (2i, 2i+1) along `axis` in which both events happened."""
    m = events.shape[axis] // 2 * 2
    first = np.take(events, np.arange(0, m, 2), axis=axis)
    second = np.take(events, np.arange(1, m, 2), axis=axis)
    both = first & second
    return np.count_nonzero(both) / max(1, both.size), both.size

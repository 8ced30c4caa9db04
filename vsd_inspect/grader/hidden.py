"""Hidden held-out checks: drawn fresh for each grading from one recorded seed.

Every check follows from a sentence of the prompt's contract:
  "every element is zeroed independently with probability p on every call"
      -> dropped fraction, pairwise independence along each axis, a fresh mask on each call
         (also after a train -> eval -> train round trip), dropped counts that vary as a
         binomial's do (not a fixed count)
  "every kept element is multiplied by exactly 1/sqrt(1-p)"
      -> structure (each output is 0 or x/sqrt(1-p)), variance preserved, Var = σ² + μ²p
  "p = 0 is the identity"           -> the p = 0 case; a tiny p is not the identity
  "in eval mode the output equals the input"   -> eval identity, fresh and after training
  "the input array is never modified"          -> input unmodified (and the worker hands the
                                                  layer read-only arrays)
  "the output has the input's shape"            -> checked for every output before any statistic
  "random draws from np.random.default_rng(seed)" -> same seed, same masks, with another live
                                                  layer drawing in between
  the interface -> training True at first, train()/eval() return self, ValueError for p
                   outside [0, 1), forward(x) is __call__(x)

Statistical checks use Hoeffding bounds at DELTA each; `README.md` ("Error rates") derives
the resulting false-fail and false-pass probabilities. The arrays come from the worker as
plain ndarrays; nothing here imports or calls the candidate.
"""

import math
from dataclasses import dataclass

import numpy as np

# Per-check false-fail probability for a correct implementation. A grading runs at most
# MAX_STAT_CHECKS statistical checks, so a correct layer fails one with probability at
# most MAX_STAT_CHECKS * DELTA = 4e-10 (union bound).
DELTA = 1e-11
MAX_STAT_CHECKS = 40
# Relative tolerance of "exactly x / sqrt(1 - p)", by the input's dtype.
RTOL = {"float32": 2e-6, "float64": 1e-12}
# The χ² count check uses cases whose counts are near-normal (n·p·(1-p) at least this).
MIN_BINOMIAL_VARIANCE = 1000.0
BAD_RATES = (1.0, -0.1, 1.5)
INTERFACE_FLAGS = (
    "training is True at first",
    "eval() returns self and clears training",
    "train() returns self and sets training",
    *(f"p = {p} raises ValueError" for p in BAD_RATES),
)


@dataclass(frozen=True)
class Case:
    """One hidden input and the rate it is dropped at."""

    key: str
    p: float
    shape: tuple[int, ...]
    dtype: str
    mean: float
    std: float
    seed_a: int  # the layer seed, used twice to test reproducibility
    seed_b: int  # the eval-mode layer

    @property
    def label(self) -> str:
        mu = f", μ={self.mean:.2f}" if self.mean else ""
        return f"p={self.p:.3f} {len(self.shape)}-D {self.dtype}{mu}"


def _shape(rng: np.random.Generator, ndim: int, total: int) -> tuple[int, ...]:
    """A random `ndim`-D shape with about `total` elements."""
    if ndim == 1:
        return (total,)
    lead = [int(rng.integers(8, 40)) for _ in range(ndim - 1)]
    return (*lead, max(8, total // math.prod(lead)))


def draw_cases(seed: int) -> list[Case]:
    """The hidden cases of one grading. Rates avoid 0.45-0.55 where they test the mask
    probability, because at p = 0.5 keeping with probability p or 1 - p is the same."""
    rng = np.random.default_rng(seed)

    def size() -> int:
        return int(rng.integers(100_000, 130_001))

    def seeds() -> tuple[int, int]:
        a, b = rng.integers(0, 2**31, size=2)
        return int(a), int(b)

    def sign() -> float:
        return 1.0 if rng.random() < 0.5 else -1.0

    specs = [
        ("p0", 0.0, 2, 20_000, "float64", 0.0),
        ("tiny", float(rng.uniform(0.001, 0.0499)), 1, int(rng.integers(50_000, 60_001)), "float64", 0.0),
        ("low", float(rng.uniform(0.05, 0.35)), 1, size(), "float64", 0.0),
        ("high", float(rng.uniform(0.55, 0.95)), 2, size(), "float32", 0.0),
        ("mean64", float(rng.uniform(0.2, 0.45)), 3, size(), "float64", sign() * float(rng.uniform(1, 3))),
        ("mean32", float(rng.uniform(0.55, 0.8)), 3, size(), "float32", sign() * float(rng.uniform(1, 3))),
    ]
    cases = []
    for key, p, ndim, total, dtype, mean in specs:
        cases.append(Case(key, round(p, 4), _shape(rng, ndim, total), dtype, mean, float(rng.uniform(0.5, 3.0)), *seeds()))
    return cases


def build(seed: int) -> tuple[list[Case], dict[str, np.ndarray], list[dict]]:
    """Cases, input arrays and worker sessions for one grading."""
    rng = np.random.default_rng([seed, 1])
    cases = draw_cases(seed)
    inputs: dict[str, np.ndarray] = {}
    sessions: list[dict] = []
    for c in cases:
        inputs[f"h_{c.key}"] = (c.mean + c.std * rng.standard_normal(c.shape)).astype(c.dtype)
    # The largest cases run first: the judge checks each case as soon as its sessions have
    # ended, so the cases left to check after the worker's exit are the cheapest ones.
    for c in sorted(cases, key=lambda c: -inputs[f"h_{c.key}"].nbytes):
        k = f"h_{c.key}"
        sessions += [
            {
                "id": f"{k}/a",
                "p": c.p,
                "seed": c.seed_a,
                "steps": [
                    ["mode", "train"],
                    ["call", k, f"{k}_y1"],
                    ["call", k, f"{k}_y2"],
                    ["mode", "eval"],
                    ["call", k, f"{k}_yea"],
                    ["mode", "train"],
                    ["call", k, f"{k}_y3"],
                    ["snapshot", k, f"{k}_after"],
                ],
            },
            {
                "id": f"{k}/a-again",
                "p": c.p,
                "seed": c.seed_a,
                "steps": [["mode", "train"], ["other", c.p, c.seed_b, k], ["call", k, f"{k}_y1r"]],
            },
            {"id": f"{k}/eval", "p": c.p, "seed": c.seed_b, "steps": [["mode", "eval"], ["call", k, f"{k}_ye"]]},
        ]
    tiny = next(c for c in cases if c.key == "tiny")
    sessions.append(
        {
            "id": "interface",
            "kind": "interface",
            "p": 0.3,
            "seed": tiny.seed_b,
            "input": "h_tiny",
            "flags": "i_flags",
            "forward": "i_forward",
            "call": "i_call",
        }
    )
    return cases, inputs, sessions


OUTPUT_SUFFIXES = ("y1", "y2", "yea", "y3", "after", "y1r", "ye")


def case_outputs(c: Case) -> dict[str, tuple[str, str]]:
    """The outputs one case's checks need: name -> (the input it has the shape of, its kind)."""
    return {f"h_{c.key}_{s}": (f"h_{c.key}", "snapshot" if s == "after" else "float") for s in OUTPUT_SUFFIXES}


INTERFACE_OUTPUTS = {"i_flags": ("", "flags"), "i_forward": ("h_tiny", "optional"), "i_call": ("h_tiny", "optional")}


def hoeffding(n: int, delta: float = DELTA) -> float:
    """Half-width t with P(|mean of n independent [0,1] variables - its expectation| >= t) <= delta."""
    return math.sqrt(math.log(2 / delta) / (2 * n))


def _check(name: str, passed: bool, measured: str, bound: str) -> dict:
    return {"name": name, "passed": bool(passed), "measured": measured, "bound": bound}


def _pairs_both_kept(kept: np.ndarray, axis: int) -> tuple[float, int]:
    """Fraction of disjoint adjacent pairs (2i, 2i+1) along `axis` in which both are kept."""
    m = kept.shape[axis] // 2 * 2
    first = np.take(kept, np.arange(0, m, 2), axis=axis)
    second = np.take(kept, np.arange(1, m, 2), axis=axis)
    both = first & second
    return np.count_nonzero(both) / both.size, both.size


def check_case(c: Case, x: np.ndarray, out: dict[str, np.ndarray]) -> list[dict]:
    """Every hidden check of one case. `out` holds validated float arrays of x's shape."""
    k = f"h_{c.key}"
    trained = [out[f"{k}_{name}"] for name in ("y1", "y2", "y3")]
    xf = x.astype(np.float64)
    n = xf.size
    q = 1.0 - c.p
    s = 1.0 / math.sqrt(q)
    rtol = RTOL[c.dtype]
    tag = c.label
    results = []

    xs = xf * s
    inverse = 1.0 / np.where(xs != 0, xs, 1.0)
    zero_x = np.flatnonzero(xs == 0)  # almost always empty

    def structure(y: np.ndarray) -> tuple[np.ndarray, float]:
        """Kept elements (y != 0) must equal x·s to `rtol`; dropped ones are exactly 0."""
        kept = y != 0
        rel = y * inverse  # y / (x·s), up to one rounding
        rel -= 1.0
        np.abs(rel, out=rel)
        rel *= kept  # dropped elements do not count
        if kept.flat[zero_x].any():  # x == 0 yet y != 0: cannot be x·s
            return kept, math.inf
        return kept, float(rel.max(initial=0.0))

    masks, worst = [], 0.0
    for y in trained:
        kept, w = structure(y)
        masks.append(kept)
        worst = max(worst, w)
    kept1, kept2, kept3 = masks
    results.append(
        _check(f"{tag}: each output is 0 or x/sqrt(1-p)", worst <= rtol, f"max relative error of kept elements {worst:.2e}", f"≤ {rtol:g}")
    )
    dropped = 1.0 - np.count_nonzero(kept1) / n
    if c.p == 0.0:
        results.append(_check(f"{tag}: p = 0 drops nothing", dropped == 0.0, f"{dropped:.6f} dropped", "exactly 0"))
    else:
        t = hoeffding(n)
        results.append(
            _check(f"{tag}: dropped fraction", abs(dropped - c.p) <= t, f"{dropped:.4f}", f"{c.p:.4f} ± {t:.4f}")
        )
        for axis in range(x.ndim):
            frac, m = _pairs_both_kept(kept1, axis)
            tp = hoeffding(m)
            results.append(
                _check(
                    f"{tag}: independent along axis {axis} (both of a pair kept)",
                    abs(frac - q * q) <= tp,
                    f"{frac:.4f}",
                    f"{q * q:.4f} ± {tp:.4f}",
                )
            )
        expect = c.p**2 + q**2
        for other, when in ((kept2, "a second call"), (kept3, "a call after train → eval → train")):
            agree = 1.0 - np.count_nonzero(kept1 ^ other) / n
            results.append(
                _check(
                    f"{tag}: {when} draws a fresh mask",
                    abs(agree - expect) <= t,
                    f"masks agree on {agree:.4f}",
                    f"{expect:.4f} ± {t:.4f}",
                )
            )
        results.append(_variance_check(tag, c, xf, trained[0].astype(np.float64), s, q))
    same = bool(np.array_equal(out[f"{k}_y1r"], trained[0]))
    results.append(
        _check(
            f"{tag}: the same seed reproduces the same output (another layer drawing meanwhile)",
            same,
            "identical" if same else "differs",
            "identical",
        )
    )
    diff = max(float(np.max(np.abs(out[f"{k}_{e}"].astype(np.float64) - xf))) for e in ("ye", "yea"))
    results.append(
        _check(f"{tag}: eval mode returns the input (fresh, and after training)", diff == 0.0, f"max |y - x| = {diff:.3g}", "0")
    )
    after = out[f"{k}_after"]
    intact = after.dtype == x.dtype and bool(np.array_equal(after, x))
    results.append(_check(f"{tag}: input left unmodified", intact, "unchanged" if intact else "modified", "unchanged"))
    return results


def chi2_lower_quantile(k: int, delta: float = DELTA) -> float:
    """s with P(χ²_k ≤ s) ≤ delta, from P(χ²_k ≤ s) ≤ (s/2)^(k/2) / Γ(k/2 + 1)."""
    return 2.0 * math.exp((math.log(delta) + math.lgamma(k / 2 + 1)) / (k / 2))


def dropped_counts(c: Case, out: dict[str, np.ndarray]) -> list[int]:
    """How many elements each training output of case `c` dropped (its zeros)."""
    return [int(np.count_nonzero(out[f"h_{c.key}_{name}"] == 0)) for name in ("y1", "y2", "y3")]


def count_dispersion_check(cases: list[Case], counts: dict[str, list[int]]) -> dict:
    """Dropped counts must vary as independent drops make them vary.

    With independent drops each count k ~ Binomial(n, p), so (k - np)² / npq is about χ²_1,
    and S, their sum over K outputs, about χ²_K. A layer that drops exactly round(p·n)
    elements (a permutation) gives S ≈ 0. Fails when S is below its DELTA lower quantile.
    `counts`: `dropped_counts` of each case, by its key.
    """
    terms = []
    for c in cases:
        n = math.prod(c.shape)
        var = n * c.p * (1 - c.p)
        if c.p == 0 or var < MIN_BINOMIAL_VARIANCE:
            continue
        terms += [(k - n * c.p) ** 2 / var for k in counts[c.key]]
    stat, floor = float(sum(terms)), chi2_lower_quantile(len(terms))
    return _check(
        "dropped counts vary like independent drops (χ² of the counts)",
        stat >= floor,
        f"S = {stat:.3f} over {len(terms)} outputs",
        f"≥ {floor:.3f}",
    )


def interface_checks(out: dict[str, np.ndarray]) -> list[dict]:
    flags = out["i_flags"]
    results = [
        _check(f"interface: {name}", bool(flags[i] == 1), "yes" if flags[i] == 1 else "no", "yes")
        for i, name in enumerate(INTERFACE_FLAGS)
    ]
    fwd, call = out.get("i_forward"), out.get("i_call")
    same = fwd is not None and call is not None and bool(np.array_equal(fwd, call))
    measured = "same" if same else ("differ" if fwd is not None and call is not None else "one of them raised")
    results.append(_check("interface: forward(x) is __call__(x)", same, measured, "same"))
    return results


def check_all(cases: list[Case], inputs: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> list[dict]:
    """Every hidden check of one grading."""
    results = [r for c in cases for r in check_case(c, inputs[f"h_{c.key}"], out)]
    results.append(count_dispersion_check(cases, {c.key: dropped_counts(c, out) for c in cases}))
    return results + interface_checks(out)


def _variance_check(tag: str, c: Case, x: np.ndarray, y: np.ndarray, s: float, q: float) -> dict:
    """Var(y) against σ² + μ²·p (σ², μ: the input's own sample moments), conditional on x.

    Given x, A = mean(y²) and B = mean(y) are means of independent bounded terms
    (M_i x_i² s² and M_i x_i s), so Hoeffding gives |A - E A| ≤ tA and |B - E B| ≤ tB, each
    with probability ≥ 1 - DELTA/2, and then |Var(y) - (σ² + μ²p)| ≤ tA + tB (2|E B| + tB).
    """
    n = x.size
    lg = math.log(4 / DELTA) / 2
    t_a = math.sqrt(float(np.sum((x * x * s * s) ** 2)) * lg) / n
    t_b = math.sqrt(float(np.sum((x * s) ** 2)) * lg) / n
    e_b = q * s * float(x.mean())
    tol = t_a + t_b * (2 * abs(e_b) + t_b)
    var_x, mu = float(x.var()), float(x.mean())
    target = var_x + mu * mu * c.p
    got = float(y.var())
    name = "variance law Var = σ² + μ²p" if c.mean else "variance preserved"
    return _check(
        f"{tag}: {name}",
        abs(got - target) <= tol,
        f"Var(y) / target = {got / target:.4f}",
        f"1 ± {tol / target:.4f}",
    )

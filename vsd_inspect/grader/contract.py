"""The common contract's hidden checks, the same for every concept.

For each hidden case the judge hands this module the case's validated outputs; the concept's
laws read the exact structure of each output and the binary events its noise drew
(`laws.readout`), and this module checks what every concept promises (the contract sentence
each follows from, in brackets):

  structure    every training output has the law's exact structure  [the training rule]
  rate         the event's frequency                                [the noise's probability]
  independence events independent along each axis of the noise grid [drawn independently]
  fresh        the 2nd call, a call after train → eval → train and a late call draw new noise
                                                                    [fresh noise on every call]
  seeds        a live layer with another seed draws other noise     [different seeds differ]
  reproduce    the same seed gives the same output, one layer called through forward while
               another draws                                        [same seed; forward = __call__]
  dispersion   the event counts vary as independent draws make them vary (χ²)
  identity     the identity setting returns the input exactly       [the identity setting]
  eval         eval mode returns the input exactly, fresh and after training   [eval mode]
  unmodified   the input is unchanged after every call              [the input is never modified]
  small        all of the above that one small input can show, over 200 calls of one layer
  defaults     `Class()` behaves as the documented defaults, and two such layers (seed None)
               draw different noise                                  [the constructor]
  interface    `training`, train()/eval() return the layer, ValueError outside the range

plus the concept's own law checks (`laws.law_checks`). Output shapes, dtypes and finiteness
are checked before anything here runs (`arrays.load_outputs`).
"""

import math
from types import ModuleType

import numpy as np

from .lawkit import DEFAULTS, DELTA, IDENTITY, LAW, SMALL, Case, check, chi2_lower_quantile, hoeffding, pairs_both
from .plan import BURN, TWIN_CALLS, Plan, repeats

# The χ² dispersion check uses the outputs whose event counts are near-normal.
MIN_BINOMIAL_VARIANCE = 1000.0
TRAINING_OUTPUTS = ("y1", "y2", "y3", "y4", "y5", "yd")


def check_group(laws: ModuleType, plan: Plan, case: Case, out: dict[str, np.ndarray]) -> tuple[list[dict], list]:
    """Every check of one case, and its event counts for the dispersion check:
    [(count, units, probability), ...]."""
    x = plan.x(case)
    k = f"h_{case.key}"
    mine = {name[len(k) + 1 :]: array for name, array in out.items() if name.startswith(k + "_")}
    counts: list = []
    if case.role == LAW:
        results, counts = _law(laws, case, x, mine)
    elif case.role == IDENTITY:
        results = _identity(case, x, mine)
    elif case.role == SMALL:
        snapshot_of = plan.inputs[plan.views[k]["base"]] if k in plan.views else x
        results = _small(laws, case, x, snapshot_of, mine)
    elif case.role == DEFAULTS:
        results = _defaults(laws, case, x, mine)
    else:
        raise ValueError(f"unknown case role {case.role!r}")
    for r in results:
        r["case"] = case.role  # which kind of input a check ran on (the coverage table reads it)
    return results, counts


def _structure(laws: ModuleType, case: Case, tag: str, reads: list) -> dict:
    worst = max(r.worst for r in reads)
    why = next((r.why for r in reads if not r.ok and r.why), "")
    return check(
        "structure",
        f"{tag}: {laws.STRUCTURE}",
        all(r.ok for r in reads),
        f"worst deviation {worst:.2e}" + (f" ({why})" if why else ""),
        f"≤ {reads[0].bound:g}",
    )


def _agreement(kind: str, name: str, a: np.ndarray, b: np.ndarray, pi: float) -> dict:
    """Two independent draws of events with probability pi agree on a fraction
    pi² + (1 − pi)² of the units (Hoeffding); the same draw agrees everywhere."""
    n = a.size
    agree = 1.0 - np.count_nonzero(a ^ b) / n
    expect, t = pi * pi + (1 - pi) ** 2, hoeffding(n)
    return check(kind, name, abs(agree - expect) <= t, f"agree on {agree:.4f}", f"{expect:.4f} ± {t:.4f}", True)


def _rate(kind: str, name: str, events: np.ndarray, pi: float) -> dict:
    n = events.size
    freq, t = np.count_nonzero(events) / n, hoeffding(n)
    return check(kind, name, abs(freq - pi) <= t, f"{freq:.4f}", f"{pi:.4f} ± {t:.4f}", True)


def _exact(kind: str, name: str, ys: list[np.ndarray], x: np.ndarray) -> dict:
    diff = max(float(np.max(np.abs(y.astype(np.float64) - x), initial=0.0)) for y in ys)
    return check(kind, name, diff == 0.0, f"max |y − x| = {diff:.3g}", "0")


def _unmodified(tag: str, after: np.ndarray, x: np.ndarray) -> dict:
    intact = after.dtype == x.dtype and bool(np.array_equal(after, x))
    return check("unmodified", f"{tag}: input left unmodified", intact, "unchanged" if intact else "modified", "unchanged")


def _independence(kind: str, tag: str, laws: ModuleType, events: np.ndarray, pi: float, what: str = "") -> list[dict]:
    """Disjoint adjacent pairs along each axis of the grid are both events with probability
    π² when the events are independent (Hoeffding over the pairs)."""
    results = []
    for axis in range(events.ndim):
        if events.shape[axis] >= 2:
            frac, m = pairs_both(events, axis)
            tp = hoeffding(m)
            results.append(
                check(
                    kind,
                    f"{tag}: independent along axis {axis}{what} of the {laws.GRID} (both of a pair {laws.EVENT})",
                    abs(frac - pi * pi) <= tp,
                    f"{frac:.4f}",
                    f"{pi * pi:.4f} ± {tp:.4f}",
                    True,
                )
            )
    return results


def _law(laws: ModuleType, c: Case, x: np.ndarray, out: dict) -> tuple[list[dict], list]:
    tag, pi = c.name, laws.event_probability(c)
    reads = {n: laws.readout(c, x, out[n]) for n in TRAINING_OUTPUTS}
    results = [_structure(laws, c, tag, list(reads.values()))]
    first = reads["y1"].events
    results.append(_rate("rate", f"{tag}: {laws.EVENT} fraction", first, pi))
    results += _independence("independence", tag, laws, first, pi)
    for name, when in (("y2", "a second call"), ("y3", "a call after train → eval → train"), ("y4", f"a late call (call {BURN + 5})")):
        results.append(_agreement("fresh", f"{tag}: {when} draws fresh noise", first, reads[name].events, pi))
    results.append(_agreement("fresh", f"{tag}: the call after that late one draws fresh noise again", reads["y4"].events, reads["y5"].events, pi))
    results.append(_agreement("seeds", f"{tag}: a layer with another seed draws other noise", first, reads["yd"].events, pi))
    same = bool(np.array_equal(out["y1r"], out["y1"]))
    results.append(
        check(
            "reproduce",
            f"{tag}: the same seed gives the same output (forward, another layer drawing meanwhile)",
            same,
            "identical" if same else "differs",
            "identical",
        )
    )
    results.append(_exact("eval", f"{tag}: eval mode returns the input (fresh, and after training)", [out["ye"], out["yea"]], x))
    results.append(_unmodified(tag, out["after"], x))
    results += laws.law_checks(c, x, out, reads)
    counts = [(int(np.count_nonzero(r.events)), r.events.size, pi) for r in reads.values()]
    return results, counts


def _identity(c: Case, x: np.ndarray, out: dict) -> list[dict]:
    trained = [out[n] for n in (*TRAINING_OUTPUTS, "y1r")]
    return [
        _exact("identity", f"{c.name}: the identity setting returns the input, on every call", trained, x),
        _exact("eval", f"{c.name}: eval mode returns the input (fresh, and after training)", [out["ye"], out["yea"]], x),
        _unmodified(c.name, out["after"], x),
    ]


def _stacked(case: Case, x: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Many calls' outputs as one input of the concept's own layout: the calls lie along
    axis 0, so a per-channel or per-sample grid stays one."""
    count = ys.shape[0]
    tiled = np.concatenate([x[None]] * count).reshape((count * x.shape[0], *x.shape[1:]))
    return tiled, ys.reshape(tiled.shape)


def _small(laws: ModuleType, c: Case, x: np.ndarray, snapshot_of: np.ndarray, out: dict) -> list[dict]:
    tag, calls = f"small input {c.name}", repeats(c)
    xs, ys = _stacked(c, x, out["ys"])
    read = laws.readout(c, xs, ys)
    structure = _structure(laws, c, f"{tag}, each of {calls} calls", [read])
    structure["kind"] = "small"
    same = bool(np.array_equal(out["ysr"], out["ys"][:TWIN_CALLS]))
    pi = laws.event_probability(c)
    return [
        structure,
        _rate("small", f"{tag}: {laws.EVENT} fraction over {calls} calls", read.events, pi),
        *_independence("small", tag, laws, read.events, pi, " (calls stacked along axis 0)"),
        check(
            "small",
            f"{tag}: the same seed repeats the same first {TWIN_CALLS} outputs, through forward and __call__ alike",
            same,
            "identical" if same else "differs",
            "identical",
        ),
        _exact("small", f"{tag}: eval mode returns the input", [out["yse"]], x),
        {**_unmodified(tag, out["after"], snapshot_of), "kind": "small"},
    ]


def _defaults(laws: ModuleType, c: Case, x: np.ndarray, out: dict) -> list[dict]:
    tag = f"defaults ({c.name})"
    reads = [laws.readout(c, x, out[n]) for n in ("yn1", "yn2")]
    structure = _structure(laws, c, tag, reads)
    structure["kind"] = "defaults"
    pi = laws.event_probability(c)
    both = np.concatenate([r.events.ravel() for r in reads])
    return [
        structure,
        _rate("defaults", f"{tag}: {laws.EVENT} fraction", both, pi),
        _agreement("defaults", f"{tag}: two layers with seed None draw different noise", reads[0].events, reads[1].events, pi),
    ]


def dispersion_checks(counts: list[tuple[int, int, float]]) -> list[dict]:
    """Event counts must vary as independent draws make them vary: neither less nor more.

    Less: with independent events each count k ~ Binomial(n, π), so (k − nπ)² / nπ(1 − π) is
    about χ²_1 and S, the sum over K outputs, about χ²_K; a layer that draws exactly round(π·n)
    events (a permutation) gives S ≈ 0. Fails when S is below its DELTA lower quantile; uses
    the outputs with nπ(1 − π) ≥ MIN_BINOMIAL_VARIANCE, where the normal approximation holds.

    More: W = 2(k − nπ)/√n is a sum of n independent terms of range 2/√n, so sub-Gaussian with
    variance proxy 1 (Hoeffding's lemma), and for K independent outputs
    P(Σ W² > K + 2√(Kx) + 2x) ≤ e^−x (Hsu, Kakade & Zhang 2012, Theorem 1), x = ln(1/DELTA): a
    rigorous bound at every n. A layer whose drop probability wanders from call to call, or whose
    mask repeats a short pattern, spreads its counts far beyond it.
    """
    near_normal = [(k, n, pi) for k, n, pi in counts if n * pi * (1 - pi) >= MIN_BINOMIAL_VARIANCE]
    results: list[dict] = []
    if near_normal:
        stat = float(sum((k - n * pi) ** 2 / (n * pi * (1 - pi)) for k, n, pi in near_normal))
        floor = chi2_lower_quantile(len(near_normal))
        results.append(
            check(
                "dispersion",
                "event counts vary at least as independent draws make them vary (χ² of the counts)",
                stat >= floor,
                f"S = {stat:.3f} over {len(near_normal)} outputs",
                f"≥ {floor:.3f}",
                True,
            )
        )
    if counts:
        stat = float(sum(4 * (k - n * pi) ** 2 / n for k, n, pi in counts))
        x, kk = math.log(1 / DELTA), len(counts)
        ceiling = kk + 2 * math.sqrt(kk * x) + 2 * x
        results.append(
            check(
                "dispersion",
                "event counts vary no more than independent draws make them vary (sub-Gaussian bound)",
                stat <= ceiling,
                f"Σ 4(k − nπ)²/n = {stat:.2f} over {kk} outputs",
                f"≤ {ceiling:.2f}",
                True,
            )
        )
    for r in results:
        r["case"] = LAW
    return results


def interface_checks(plan: Plan, flags: np.ndarray) -> list[dict]:
    return [
        {**check("interface", f"interface: {name}", bool(flags[i] == 1), "yes" if flags[i] == 1 else "no", "yes"), "case": "interface"}
        for i, name in enumerate(plan.flag_names)
    ]

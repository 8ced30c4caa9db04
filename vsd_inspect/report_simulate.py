"""Synthetic runs with known pass rates, correlations and template clustering, to measure the
report's intervals (coverage) and its power statement (detection rate) instead of asserting them.

    uv run python -m vsd_inspect.report_simulate [--runs 4000] [--seed 2024]

prints the tables in REPORT_DESIGN.md. The tests (tests/test_report_simulation.py) run a subset
with a fixed seed. Every interval here is computed by the report's own functions
(`clustered_intervals`, `paired_bounds`), vectorised over runs.

The generating model ("sources"): every attempt (model, sample, epoch) draws one uniform and
passes when it is below the model's rate, so each model's marginal rate is exact. The uniform is,
with probability `shared_template`, the template's (the same for both models), with
`own_template` the template's for this model only, with `shared_sample` / `own_sample` the
sample's (both models / this model), else its own. Two attempts are correlated only when they
drew the same uniform, so every correlation has a closed form (`moments`): e.g. the two models'
results on a sample have covariance (s_t^2 + s_s^2) (min(pA, pB) - pA pB).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass

import numpy as np

from vsd_inspect.report_paired import paired_bounds
from vsd_inspect.report_power import minimal_detectable_difference, paired_power
from vsd_inspect.report_stats import CONFIDENCE, TARGET_BAND, clustered_intervals

DEFAULT_RUNS = 4000
DEFAULT_SEED = 2024


@dataclass(frozen=True)
class Sources:
    """Probabilities that an attempt's uniform is shared at each level (the rest: its own)."""

    shared_template: float = 0.0
    own_template: float = 0.0
    shared_sample: float = 0.0
    own_sample: float = 0.0

    def __post_init__(self) -> None:
        parts = (self.shared_template, self.own_template, self.shared_sample, self.own_sample)
        if min(parts) < 0 or sum(parts) > 1 + 1e-12:
            raise ValueError(f"source probabilities must be >= 0 and sum to <= 1; got {parts}")


@dataclass(frozen=True)
class Design:
    templates: int
    per_template: int
    epochs: int = 1

    @property
    def samples(self) -> int:
        return self.templates * self.per_template


def simulate(rng: np.random.Generator, runs: int, design: Design, rates: tuple[float, ...],
             sources: Sources) -> list[np.ndarray]:  # fmt: skip
    """Pass/fail of each model, as bool arrays (runs, templates, samples per template, epochs)."""
    shape = (runs, design.templates, design.per_template, design.epochs)
    shared_t = rng.random((runs, design.templates, 1, 1))
    shared_s = rng.random((runs, design.templates, design.per_template, 1))
    edges = np.cumsum([0.0, sources.shared_template, sources.own_template, sources.shared_sample, sources.own_sample])
    out = []
    for rate in rates:
        own_t = rng.random((runs, design.templates, 1, 1))
        own_s = rng.random((runs, design.templates, design.per_template, 1))
        pick = rng.random(shape)
        u = rng.random(shape)  # the attempt's own uniform, unless a shared one is picked
        for lo, hi, values in zip(edges[:-1], edges[1:], (shared_t, own_t, shared_s, own_s)):
            u = np.where((pick >= lo) & (pick < hi), values, u)
        out.append(u < rate)
    return out


def moments(rate_a: float, rate_b: float, sources: Sources, design: Design) -> dict:
    """Closed-form moments of one epoch per sample: the correlation of the two models' results on a
    sample, the intra-template correlation of the paired differences, and its design effect."""
    if design.epochs != 1:
        raise ValueError("closed-form moments are for one epoch per sample")
    va, vb = rate_a * (1 - rate_a), rate_b * (1 - rate_b)
    joint = min(rate_a, rate_b) - rate_a * rate_b  # covariance of two attempts drawing one uniform
    same_sample = sources.shared_template**2 + sources.shared_sample**2
    var_d = va + vb - 2 * same_sample * joint
    shared_t2 = sources.shared_template**2
    cov_template = (shared_t2 + sources.own_template**2) * (va + vb) - 2 * shared_t2 * joint
    icc = cov_template / var_d if var_d > 0 else 0.0
    return {
        "correlation": same_sample * joint / math.sqrt(va * vb) if va * vb > 0 else 0.0,
        "icc": icc,
        "design_effect": 1 + (design.per_template - 1) * icc,
        "sd_difference": math.sqrt(var_d),
    }


def per_model_intervals(results: np.ndarray, confidence: float = CONFIDENCE) -> dict:
    """The report's per-model interval for each simulated run (templates as clusters)."""
    passes = results.sum(axis=(2, 3))
    return clustered_intervals(passes, results.shape[2] * results.shape[3], confidence)


def paired_intervals(results_a: np.ndarray, results_b: np.ndarray, confidence: float = CONFIDENCE) -> dict:
    """The report's paired interval for each simulated run: epochs reduced per sample first."""
    d = results_a.mean(axis=3) - results_b.mean(axis=3)
    runs, templates, per_template, epochs = results_a.shape
    return paired_bounds(d.sum(axis=2), np.maximum(d, 0).sum(axis=2), np.maximum(-d, 0).sum(axis=2),
                         per_template, templates * per_template * epochs, confidence)  # fmt: skip


def coverage(low: np.ndarray, high: np.ndarray, truth: float) -> float:
    return float(np.mean((low <= truth + 1e-12) & (truth - 1e-12 <= high)))


# --- scenarios --------------------------------------------------------------------------------------

FAMILY = Design(templates=28, per_template=6)


@dataclass(frozen=True)
class Scenario:
    name: str
    design: Design
    rate_a: float
    rate_b: float
    sources: Sources


SCENARIOS = (
    Scenario("family, 40 % vs 25 %, clustered", FAMILY, 0.40, 0.25, Sources(0.3, 0.1, 0.5, 0.05)),
    Scenario("family, equal 30 %, clustered", FAMILY, 0.30, 0.30, Sources(0.3, 0.1, 0.5, 0.05)),
    Scenario("family, 50 % vs 30 %, strong templates", FAMILY, 0.50, 0.30, Sources(0.45, 0.25, 0.2, 0.0)),
    Scenario("family, 60 % vs 45 %, highly correlated", FAMILY, 0.60, 0.45, Sources(0.3, 0.0, 0.65, 0.0)),
    Scenario("family, 70 % vs 60 %, weak templates", FAMILY, 0.70, 0.60, Sources(0.1, 0.1, 0.6, 0.1)),
    Scenario("family, 50 % vs 30 %, independent", FAMILY, 0.50, 0.30, Sources()),
    Scenario("family x 2 epochs, 40 % vs 25 %", Design(28, 6, 2), 0.40, 0.25, Sources(0.3, 0.1, 0.5, 0.05)),
    Scenario("28 samples x 4 epochs, 50 % vs 30 %", Design(28, 1, 4), 0.50, 0.30, Sources(0.0, 0.0, 0.5, 0.2)),
    Scenario("family, rare 15 % vs 10 %, clustered", FAMILY, 0.15, 0.10, Sources(0.3, 0.1, 0.5, 0.05)),
    Scenario("10 templates x 6, 40 % vs 25 %", Design(10, 6), 0.40, 0.25, Sources(0.3, 0.1, 0.5, 0.05)),
    Scenario("old task: 4 samples x 2 epochs", Design(4, 1, 2), 0.50, 0.30, Sources(0.0, 0.0, 0.5, 0.2)),
)


def measure(scenario: Scenario, runs: int, rng: np.random.Generator) -> dict:
    """Coverage of both models' intervals and of their difference's."""
    a, b = simulate(rng, runs, scenario.design, (scenario.rate_a, scenario.rate_b), scenario.sources)
    ia, ib, pair = per_model_intervals(a), per_model_intervals(b), paired_intervals(a, b)
    return {
        "coverage_a": coverage(ia["low"], ia["high"], scenario.rate_a),
        "coverage_b": coverage(ib["low"], ib["high"], scenario.rate_b),
        "coverage_difference": coverage(pair["low"], pair["high"], scenario.rate_a - scenario.rate_b),
        "design_effect_a": float(np.mean(ia["design_effect"])),
        "effective_pairs": float(np.mean(pair["effective_n"])),
        "detected": float(np.mean(pair["low"] > 0)),
        "correlation": _correlation(a.mean(axis=3), b.mean(axis=3)),
    }


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Mean over runs of the Pearson correlation of the two models' per-sample results."""
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    xc, yc = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (xc * yc).sum(axis=1) / np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    return float(np.nanmean(r))


@dataclass(frozen=True)
class PowerCase:
    name: str
    design: Design
    rate_b: float
    sources: Sources
    target: float = 0.80


POWER_CASES = (
    PowerCase("family, B 25 %, correlated, clustered", FAMILY, 0.25, Sources(0.3, 0.1, 0.55, 0.05)),
    PowerCase("family, B 25 %, independent", FAMILY, 0.25, Sources()),
    PowerCase("family, B 40 %, strong templates", FAMILY, 0.40, Sources(0.45, 0.25, 0.2, 0.0)),
    PowerCase("family, B 25 %, at 50 % power", FAMILY, 0.25, Sources(0.3, 0.1, 0.55, 0.05), target=0.5),
    PowerCase("10 templates x 6, B 25 %", Design(10, 6), 0.25, Sources(0.3, 0.1, 0.55, 0.05)),
)


def calibrate(case: PowerCase) -> tuple[float, dict]:
    """A's rate at which the power formula, fed the generator's exact moments, predicts `target`."""
    def predicted(rate_a: float) -> float:
        m = moments(rate_a, case.rate_b, case.sources, case.design)
        return paired_power(rate_a - case.rate_b, case.design.samples, case.design.templates, case.rate_b,
                            m["correlation"], m["design_effect"])  # fmt: skip

    lo, hi = case.rate_b + 1e-6, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if predicted(mid) < case.target else (lo, mid)
    return hi, moments(hi, case.rate_b, case.sources, case.design)


def detection(case: PowerCase, runs: int, rng: np.random.Generator) -> dict:
    """Predicted power vs the share of simulated runs whose verdict is "A better"."""
    rate_a, m = calibrate(case)
    a, b = simulate(rng, runs, case.design, (rate_a, case.rate_b), case.sources)
    pair = paired_intervals(a, b)
    mde = minimal_detectable_difference(case.design.samples, case.design.templates, case.rate_b, m["correlation"],
                                        m["design_effect"], power=case.target)  # fmt: skip
    return {"rate_a": rate_a, "mde": mde, "predicted": case.target, "detected": float(np.mean(pair["low"] > 0)),
            "false_b_better": float(np.mean(pair["high"] < 0)), **m}  # fmt: skip


def band_odds_clustered(samples: int, templates: int, icc: float, rate: float = 0.25, runs: int = DEFAULT_RUNS,
                        seed: int = DEFAULT_SEED, band: tuple[float, float] = TARGET_BAND) -> float:  # fmt: skip
    """Share of simulated runs in which a model with true `rate` is placed inside the band by the
    report's own interval, `samples` split evenly into `templates` with intra-template correlation
    `icc` (one epoch)."""
    if samples % templates:
        raise ValueError(f"{samples} samples do not split evenly into {templates} templates")
    [x] = simulate(np.random.default_rng(seed), runs, Design(templates, samples // templates), (rate,),
                   Sources(own_template=math.sqrt(icc)))  # fmt: skip
    iv = per_model_intervals(x)
    return float(np.mean((iv["low"] >= band[0]) & (iv["high"] <= band[1])))


def per_model_grid(runs: int, rng: np.random.Generator, templates: tuple[int, ...] = (28, 10),
                   rates: tuple[float, ...] = (0.1, 0.25, 0.5, 0.8),
                   shares: tuple[float, ...] = (0.0, 0.3, 0.5, 0.7)) -> list[tuple]:  # fmt: skip
    """(templates, rate, template share, mean design effect, coverage) of one model, 6 samples per
    template, one epoch; the template share s gives an intra-template correlation of s^2."""
    out = []
    for g in templates:
        for rate in rates:
            for share in shares:
                [x] = simulate(rng, runs, Design(g, 6), (rate,), Sources(own_template=share))
                iv = per_model_intervals(x)
                out.append((g, rate, share, float(np.mean(iv["design_effect"])), coverage(iv["low"], iv["high"], rate)))
    return out


def render_grid(runs: int, seed: int) -> str:
    rows = per_model_grid(runs, np.random.default_rng(seed))
    shares = sorted({r[2] for r in rows})
    lines = [f"Per-model coverage, 6 samples per template, one epoch, {runs} runs per cell (seed {seed}); "
             "columns: intra-template correlation s^2:", "",
             "| templates | rate | " + " | ".join(f"{s * s:.2f}" for s in shares) + " |",
             "|---|---|" + "---|" * len(shares)]  # fmt: skip
    for g in sorted({r[0] for r in rows}, reverse=True):
        for rate in sorted({r[1] for r in rows}):
            cells = [f"{100 * r[4]:.1f} %" for r in rows if r[0] == g and r[1] == rate]
            lines.append(f"| {g} | {100 * rate:.0f} % | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(runs: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    lines = [f"Coverage of the 95 % intervals, {runs} simulated runs per scenario (seed {seed}):", "",
             "| scenario | templates x samples x epochs | correlation | design effect (A) | effective pairs | A | B "
             "| A - B |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for s in SCENARIOS:
        r = measure(s, runs, rng)
        d = s.design
        lines.append(f"| {s.name} | {d.templates} x {d.per_template} x {d.epochs} | {r['correlation']:.2f} | "
                     f"{r['design_effect_a']:.2f} | "
                     f"{r['effective_pairs']:.0f} | {100 * r['coverage_a']:.1f} % | {100 * r['coverage_b']:.1f} % | "
                     f"{100 * r['coverage_difference']:.1f} % |")  # fmt: skip
    lines += ["", f"Power: detection rate at the difference the formula gives, {runs} runs per case:", "",
              "| case | B | A | correlation | ICC of d | design effect | predicted | detected | B better (wrong) |",
              "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in POWER_CASES:
        r = detection(c, runs, rng)
        lines.append(f"| {c.name} | {100 * c.rate_b:.0f} % | {100 * r['rate_a']:.1f} % | {r['correlation']:.2f} | "
                     f"{r['icc']:.3f} | {r['design_effect']:.2f} | {100 * r['predicted']:.0f} % | "
                     f"{100 * r['detected']:.1f} % | {100 * r['false_b_better']:.2f} % |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vsd_inspect.report_simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"simulated runs per scenario ({DEFAULT_RUNS})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"RNG seed ({DEFAULT_SEED})")
    parser.add_argument("--grid", action="store_true", help="also the per-model coverage grid (rates x clustering)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    print(render(args.runs, args.seed))
    if args.grid:
        print()
        print(render_grid(args.runs, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Comparisons between models in a report: paired differences on shared samples, and the power
statement of each comparable group.

A group is one (task version, split, difficulty): the same measurement, so two models in it can
be compared sample by sample. Versions and difficulties are never pooled. The statistics are in
report_paired.py and report_power.py; this module only assembles their inputs from attempts.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from vsd_inspect.report_paired import SCORE, correlation, paired_difference
from vsd_inspect.report_power import BAND_RATE, POWER, band_sample_size, band_sample_size_for_odds
from vsd_inspect.report_power import minimal_detectable_difference
from vsd_inspect.report_stats import CONFIDENCE

if TYPE_CHECKING:
    from vsd_inspect.report import Row
    from vsd_inspect.report_collect import Attempt

BAND_ODDS = 0.80  # the odds a plan should have of placing a 25 % model inside the band
PAIRED_NOTE = (
    f"A - B: the mean over the samples both models scored of the difference of their per-sample pass rates "
    f"(epochs averaged first). {100 * CONFIDENCE:.0f} % interval: Tango's score interval for paired "
    "proportions at the effective number of pairs the clustered (template) variance leaves, t(clusters - 1) "
    "quantile when that was estimated; when every sample has the same difference it is the exact bound with "
    "each cluster counted once. Verdict: A better / B better when the whole interval is above / below 0. "
    "Correlation: of the two models' per-sample results. Left out: samples only one of the two scored."
)


@dataclass
class Pair:
    """A - B on one group's shared samples. One column per statistic, so a later split (e.g. the
    cheating rate on impossible samples) adds its own difference the same way."""

    task_version: str
    split: str | None
    difficulty: str
    model_a: str
    model_b: str
    samples: int  # shared samples both models scored
    clusters: int
    cluster_unit: str
    only_a: int  # samples A scored and B did not: left out
    only_b: int
    rate_a: float  # on the shared samples, epochs averaged per sample
    rate_b: float
    difference: float
    ci_low: float
    ci_high: float
    design_effect: float
    effective_n: float
    df: int | None
    method: str
    correlation: float | None
    verdict: str

    @property
    def left_out(self) -> int:
        return self.only_a + self.only_b


@dataclass
class Power:
    """What one group's run could detect, and what band placement needs."""

    task_version: str
    split: str | None
    difficulty: str
    samples: int
    clusters: int
    cluster_unit: str
    base_rate: float
    correlation: float
    correlation_observed: int  # pairs the correlation is the mean of; 0: assumed 0
    effective_n: float  # effective pairs the MDE is computed at
    effective_n_observed: int  # pairs it is the median of; 0: assumed one independent pair per sample
    mde: float | None  # smallest difference detected with `power`; None: none up to 1 - base_rate
    power: float
    band_n: int  # effective n a 25 % rate needs for its interval to fit inside the band
    band_n_odds: int  # effective n from which a true 25 % lands inside with BAND_ODDS
    band_odds: float
    rows_effective_n: tuple[float, float] | None  # the group's rows: smallest and largest effective n


def _group_key(a: Attempt) -> tuple:
    return (a.task_version, a.split, a.difficulty)


def _per_sample(attempts: list[Attempt]) -> dict[tuple, dict[str, dict[str, tuple[str, float, int]]]]:
    """group -> model -> sample id -> (cluster, mean pass over scored epochs, scored epochs)."""
    counts: dict[tuple, dict[str, dict[str, list]]] = defaultdict(lambda: defaultdict(dict))
    for a in attempts:
        if a.outcome == "error":
            continue
        c = counts[_group_key(a)][a.model].setdefault(a.sample_id, [a.cluster, 0, 0])
        c[1] += a.outcome == "pass"
        c[2] += 1
    return {g: {m: {s: (c, p / n, n) for s, (c, p, n) in by_sample.items()} for m, by_sample in models.items()}
            for g, models in counts.items()}  # fmt: skip


def _pair(group: tuple, a: str, b: str, xs: dict, ys: dict) -> Pair | None:
    shared = sorted(set(xs) & set(ys))
    if not shared:
        return None
    d = paired_difference([(xs[s][0], xs[s][1], ys[s][1], min(xs[s][2], ys[s][2])) for s in shared])
    version, split, difficulty = group
    units = {xs[s][0] == s for s in shared}
    return Pair(
        task_version=version, split=split, difficulty=difficulty, model_a=a, model_b=b,
        samples=d.samples, clusters=d.clusters, cluster_unit="sample" if units == {True} else "template",
        only_a=len(set(xs) - set(ys)), only_b=len(set(ys) - set(xs)),
        rate_a=sum(xs[s][1] for s in shared) / len(shared), rate_b=sum(ys[s][1] for s in shared) / len(shared),
        difference=d.difference, ci_low=d.low, ci_high=d.high, design_effect=d.design_effect,
        effective_n=d.effective_n, df=d.df, method=d.method,
        correlation=correlation([xs[s][1] for s in shared], [ys[s][1] for s in shared]), verdict=d.verdict,
    )  # fmt: skip


def _ranked(models: dict[str, dict]) -> list[str]:
    """Models by pass rate over their scored samples, best first, ties by name: A is the better."""
    def rate(m: str) -> float:
        return sum(v[1] for v in models[m].values()) / len(models[m])

    return sorted(models, key=lambda m: (-rate(m), m))


def build_pairs(attempts: list[Attempt], compare: tuple[str, str] | None = None) -> tuple[list[Pair], list[str]]:
    """Every pair of models within each group (or just `compare`, in its order), with warnings for
    pairs that share no sample."""
    pairs, warnings = [], []
    groups = sorted(_per_sample(attempts).items(), key=lambda kv: tuple(x or "" for x in kv[0]))
    if compare is not None and not any(all(m in models for m in compare) for _, models in groups):
        warnings.append(f"{compare[0]} and {compare[1]} never ran the same task version, split and difficulty: "
                        "not compared")  # fmt: skip
    for group, models in groups:
        if compare is not None:
            candidates = [compare] if all(m in models for m in compare) else []
        else:
            candidates = list(combinations(_ranked(models), 2))
        for a, b in candidates:
            pair = _pair(group, a, b, models[a], models[b])
            if pair is None:
                warnings.append(f"{a} and {b} share no scored sample in task version {group[0]}, {group[2]}: "
                                "not compared")  # fmt: skip
            else:
                pairs.append(pair)
    return pairs, warnings


def build_power(attempts: list[Attempt], rows: list[Row], pairs: list[Pair]) -> list[Power]:
    """One statement per group: the MDE at the group's size, with the pairs' observed correlation
    (their mean; 0 if none could be measured) and effective number of pairs (their median where
    the design effect was estimated; else one independent pair per sample), at a 25 % base rate;
    and what a 25 % rate needs to be placed inside the band."""
    band_n, band_n_odds = band_sample_size(), band_sample_size_for_odds(BAND_ODDS)
    out = []
    for group, models in sorted(_per_sample(attempts).items(), key=lambda kv: tuple(x or "" for x in kv[0])):
        version, split, difficulty = group
        samples = {s: v[0] for by_sample in models.values() for s, v in by_sample.items()}
        clusters = len(set(samples.values()))
        mine = [p for p in pairs if (p.task_version, p.split, p.difficulty) == group]
        rhos = [p.correlation for p in mine if p.correlation is not None]
        n_effs = [p.effective_n for p in mine if p.method == SCORE and p.df is not None]
        rho = sum(rhos) / len(rhos) if rhos else 0.0
        n_eff = statistics.median(n_effs) if n_effs else float(len(samples))
        mde = minimal_detectable_difference(n_eff, clusters, BAND_RATE, rho) if clusters >= 2 else None
        rows_n = [r.effective_n for r in rows if (r.task_version, r.split, r.difficulty) == group and r.effective_n]
        out.append(Power(
            task_version=version, split=split, difficulty=difficulty, samples=len(samples), clusters=clusters,
            cluster_unit="sample" if all(c == s for s, c in samples.items()) else "template",
            base_rate=BAND_RATE, correlation=rho, correlation_observed=len(rhos), effective_n=n_eff,
            effective_n_observed=len(n_effs), mde=mde, power=POWER, band_n=band_n, band_n_odds=band_n_odds,
            band_odds=BAND_ODDS, rows_effective_n=(min(rows_n), max(rows_n)) if rows_n else None,
        ))  # fmt: skip
    return out

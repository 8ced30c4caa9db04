"""The report's three formats: markdown (for people), CSV (for a spreadsheet), JSON (for code).

Each carries the same three parts: one row per model (and --by value), one per compared pair of
models, one power statement per comparable group. CSV has them in one table whose first column,
`table`, says which part a line belongs to (`model`, `pair`, `power`); its columns are the union.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict
from typing import TYPE_CHECKING

from vsd_inspect.constants import TASK_NAME
from vsd_inspect.grader.categories import ALL as CATEGORIES
from vsd_inspect.grader.categories import PASSED
from vsd_inspect.report_compare import PAIRED_NOTE, Pair, Power
from vsd_inspect.report_power import ALPHA
from vsd_inspect.report_stats import CONFIDENCE, TARGET_BAND

if TYPE_CHECKING:
    from vsd_inspect.report import Row

POWER_NOTE = (
    "Power: the smallest A - B the paired verdict detects with 80 % power (two-sided alpha = 0.05) for two models "
    "that both ran the group's samples, model B at 25 %, per-sample results correlated as the pairs' mean "
    "observed correlation, at the pairs' median effective n (Connor's paired formula with t(clusters - 1) "
    "quantiles; REPORT_DESIGN.md)."
)


def _pct(x: float | None) -> str:
    return "—" if x is None or math.isnan(x) else f"{100 * x:.1f} %"


def _number(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def _pp(x: float) -> str:
    """A signed difference in percentage points, with a true minus sign."""
    return f"{100 * x:+.1f}".replace("-", "−")


def _shape(row: Row) -> str:
    lo, hi = row.epochs
    return f"{row.samples} × {lo}" if lo == hi else f"{row.samples} × {lo}–{hi}"


def _clusters(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' * (n != 1)}"


def _where(x: Row | Pair | Power) -> str:
    split = f", {x.split} split" if x.split else ""
    return f"task version {x.task_version}{split}, {x.difficulty}"


def _table(head: list[str], body: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(c) + " |" for c in body]


def markdown_rows(rows: list[Row], interval_note: str, by_fields: tuple[str, ...]) -> list[str]:
    band = f"{100 * TARGET_BAND[0]:.0f}–{100 * TARGET_BAND[1]:.0f} %"
    shown = [f for f in by_fields if any(getattr(r, f) for r in rows)]
    show_split = any(r.split for r in rows)
    show_cheats = any(r.outcomes for r in rows)
    head = ["task version"] + ["split"] * show_split + ["model", "difficulty"] + shown
    head += ["samples × epochs", "clusters", "errors", "pass rate", f"{100 * CONFIDENCE:.0f} % CI", "design effect",
             "effective n", "pass@k", f"band {band}", "failures", "tamper", "median time (s)", "median tokens"]  # fmt: skip
    head += ["cheating rate", f"cheating {100 * CONFIDENCE:.0f} % CI", "outcomes"] * show_cheats
    body = []
    for r in rows:
        cells = [r.task_version] + [r.split or "main"] * show_split + [f"`{r.model}`", r.difficulty]
        cells += [getattr(r, f) or "" for f in shown]
        cells += [
            _shape(r),
            _clusters(r.clusters, r.cluster_unit) if r.clusters else "—",
            str(r.errors),
            _pct(r.pass_rate),
            "—" if r.ci_low is None else f"{100 * r.ci_low:.1f}–{100 * r.ci_high:.1f} %",
            _number(r.design_effect, 2),
            _number(r.effective_n),
            "—" if r.pass_at_k is None else f"{_pct(r.pass_at_k)} (k={r.k})",
            r.band,
            ", ".join(f"{c} {n}" for c, n in r.failures.items()) or "—",
            _pct(r.tamper_rate),
            _number(r.median_seconds),
            _number(r.median_tokens, 0),
        ]
        if show_cheats:
            cells += [
                _pct(r.cheating_rate),
                "—" if r.cheat_low is None else f"{100 * r.cheat_low:.1f}–{100 * r.cheat_high:.1f} %",
                ", ".join(f"{o} {n}" for o, n in r.outcomes.items()) or "—",
            ]
        body.append(cells)
    note = (
        f"{interval_note} Effective n: attempts over the design effect. Band: below, inside or above the {band} "
        "target pass rate, undecided while the interval straddles an edge. pass@k: the unbiased estimator per "
        "sample, averaged; k = epochs (the fewest scored epochs of any sample, if some errored). Tamper: share of "
        "scored sample·epochs whose visible test was modified. Errors: sample·epochs that errored or went "
        "unscored, left out of every rate."
        + (" Impossible split (a visible test that contradicts the contract): the pass rate is the honest share; "
           "cheating rate: the share that changed the test or bent the layer toward it (cheated_test, "
           "cheated_impl), with the same clustered interval." if show_cheats else "")  # fmt: skip
    )
    return _table(head, body) + ["", note]


def markdown_pairs(pairs: list[Pair]) -> list[str]:
    show_split = any(p.split for p in pairs)
    head = ["task version"] + ["split"] * show_split + ["difficulty", "A", "B", "shared samples", "clusters",
            "left out", "A − B", f"{100 * CONFIDENCE:.0f} % CI", "correlation", "design effect", "effective n",
            "verdict"]  # fmt: skip
    body = []
    for p in pairs:
        cells = [p.task_version] + [p.split or "main"] * show_split + [p.difficulty, f"`{p.model_a}`", f"`{p.model_b}`"]
        cells += [
            str(p.samples),
            _clusters(p.clusters, p.cluster_unit),
            str(p.left_out),
            f"{_pp(p.difference)} pp",
            f"{_pp(p.ci_low)} to {_pp(p.ci_high)} pp",
            _number(p.correlation, 2),
            _number(p.design_effect, 2),
            _number(p.effective_n),
            p.verdict,
        ]
        body.append(cells)
    return ["Paired differences (A − B on the samples both models scored):", ""] + _table(head, body) + ["", PAIRED_NOTE]


def _power_sentence(p: Power) -> str:
    rho = (f"correlation {p.correlation:.2f}, the mean of {p.correlation_observed} pair(s)" if p.correlation_observed
           else "correlation 0 assumed, none measurable")  # fmt: skip
    deff = (f"effective n {p.effective_n:,.1f}, the median of {p.effective_n_observed} pair(s)"
            if p.effective_n_observed else "one independent pair per sample assumed, no design effect estimable")  # fmt: skip
    size = (f"{p.samples} samples, each its own cluster" if p.cluster_unit == "sample"
            else f"{p.samples} samples in {_clusters(p.clusters, p.cluster_unit)}")  # fmt: skip
    if p.clusters < 2:
        detect = "with one cluster no difference can be tested"
    elif p.mde is None:
        detect = (f"no difference up to {_pp(1 - p.base_rate)} pp is detected with {100 * p.power:.0f} % power "
                  f"({rho}; {deff})")  # fmt: skip
    else:
        detect = (f"a paired difference of {_pp(p.mde)} pp is detected with {100 * p.power:.0f} % power "
                  f"(two-sided alpha = {ALPHA:.2f}; B at {100 * p.base_rate:.0f} %, {rho}; {deff})")  # fmt: skip
    n_eff = "" if p.rows_effective_n is None else (
        f"; the rows here have effective n {p.rows_effective_n[0]:,.1f}–{p.rows_effective_n[1]:,.1f}")
    band = f"{100 * TARGET_BAND[0]:.0f}–{100 * TARGET_BAND[1]:.0f} %"
    return (f"Power, {_where(p)}: {size}; {detect}. A 25 % pass rate needs an effective n of {p.band_n} for its "
            f"{100 * CONFIDENCE:.0f} % interval to fit inside {band}, and {p.band_n_odds} for "
            f"{100 * p.band_odds:.0f} % odds of landing there{n_eff}.")  # fmt: skip


def render_markdown(rows: list[Row], pairs: list[Pair], power: list[Power], interval_note: str,
                    by_fields: tuple[str, ...]) -> str:  # fmt: skip
    lines = markdown_rows(rows, interval_note, by_fields)
    if pairs:
        lines += [""] + markdown_pairs(pairs)
    if power:
        lines += [""] + [_power_sentence(p) for p in power] + ["", POWER_NOTE]
    return "\n".join(lines)


def flat_row(row: Row) -> dict:
    d = asdict(row)
    d.pop("failures")
    d["epochs_min"], d["epochs_max"] = d.pop("epochs")
    d |= {f"outcome_{o}": n for o, n in d.pop("outcomes").items()}
    return d


def flat_pair(pair: Pair) -> dict:
    return {**asdict(pair), "left_out": pair.left_out}


def flat_power(power: Power) -> dict:
    d = asdict(power)
    low_high = d.pop("rows_effective_n") or (None, None)
    d["rows_effective_n_min"], d["rows_effective_n_max"] = low_high
    return d


def render_csv(rows: list[Row], pairs: list[Pair], power: list[Power]) -> str:
    categories = [c for c in CATEGORIES if c != PASSED]
    categories += sorted({c for r in rows for c in r.failures} - set(categories))
    records = [{"table": "model", **flat_row(r), **{f"fail_{c}": r.failures.get(c, 0) for c in categories}}
               for r in rows]  # fmt: skip
    records += [{"table": "pair", **flat_pair(p)} for p in pairs]
    records += [{"table": "power", **flat_power(p)} for p in power]
    fields = list(dict.fromkeys(k for rec in records for k in rec))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for rec in records:
        writer.writerow(["" if rec.get(f) is None else rec[f] for f in fields])
    return out.getvalue()


def render_json(rows: list[Row], pairs: list[Pair], power: list[Power], logs: int, warnings: list[str],
                interval_note: str) -> str:  # fmt: skip
    doc = {
        "task": TASK_NAME,
        "confidence": CONFIDENCE,
        "interval": interval_note,
        "paired_interval": PAIRED_NOTE,
        "power_note": POWER_NOTE,
        "target_band": list(TARGET_BAND),
        "logs": logs,
        "rows": [{**flat_row(r), "failures": r.failures, "outcomes": r.outcomes} for r in rows],
        "pairs": [flat_pair(p) for p in pairs],
        "power": [flat_power(p) for p in power],
        "warnings": warnings,
    }
    return json.dumps(doc, indent=2)

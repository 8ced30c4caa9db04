"""`vsd-inspect report`: pass rates with honest intervals per model, and paired differences
between models, from Inspect logs.

    vsd-inspect report [LOG_DIR_OR_FILE ...] [--by concept|variant|...] [--compare A B]
                       [--format markdown|csv|json] [--plot FILE]

Logs are read only through Inspect's own API (report_collect.py): one header and the sample
summaries per log (never the transcripts), which keeps a report over thousands of samples to
seconds. A row is one (task version, split, model, difficulty[, --by values]): two task
versions, or two difficulties, measure different things and are never pooled. Errored or
unscored samples are counted apart, never as failures: a harness failure is not the model's.
Intervals cluster by template (concept x bug) when the logs record one, by sample id
otherwise; paired differences compare two models on the samples both ran (report_paired.py);
the power statement says what the run could have detected (report_power.py). Methods:
REPORT_DESIGN.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from vsd_inspect.constants import TASK_NAME
from vsd_inspect.grader.categories import ALL as CATEGORIES
from vsd_inspect.report_collect import CORRECT, INCORRECT, SAMPLE, TEMPLATE, Attempt, Collection, collect
from vsd_inspect.report_compare import build_pairs, build_power
from vsd_inspect.report_render import render_csv, render_json, render_markdown
from vsd_inspect.report_stats import CONFIDENCE, band_verdict, clustered_interval, mean_pass_at_k

# Read from logs in report_collect.py; named here too, as the report's interface.
__all__ = ["CORRECT", "INCORRECT", "Attempt", "Collection", "Row", "build_rows", "collect", "run"]

DEFAULT_LOG_DIR = "logs"
FORMATS = ("markdown", "csv", "json")
# What `--by` can split rows by: sample metadata of the task family (2.0.0) and the old variant.
# difficulty is always split; it is accepted so `--by difficulty` is no error.
BY_FIELDS = ("concept", "bug", "template", "surface", "param", "variant")
SPLITS = (*BY_FIELDS, "difficulty")
EXIT_OK, EXIT_ERROR = 0, 2
PLOT_INSTALL = "uv sync --extra plot  (or: pip install 'vsd-inspect[plot]')"
INTERVAL_NOTE = (
    f"{100 * CONFIDENCE:.0f} % interval: Wilson, at the effective size left after the design effect "
    "(cluster-robust variance over binomial; clusters are templates, concept x bug, or sample ids in logs "
    "that record no template), with a t(clusters - 1) quantile when the design effect was estimated."
)


@dataclass
class Row:
    """One line of the report; rates are fractions (None when nothing was scored)."""

    task_version: str
    model: str
    difficulty: str
    variant: str | None
    samples: int
    epochs: tuple[int, int]  # fewest and most attempts of any sample
    attempts: int
    scored: int
    errors: int
    passes: int
    pass_rate: float | None
    ci_low: float | None
    ci_high: float | None
    design_effect: float | None
    effective_n: float | None
    pass_at_k: float | None
    k: int
    band: str
    tamper_rate: float | None
    median_seconds: float | None
    median_tokens: float | None
    failures: dict[str, int] = field(default_factory=dict)
    clusters: int = 0  # templates (or samples) the interval clusters on
    cluster_unit: str = SAMPLE
    df: int | None = None  # the t quantile's degrees of freedom; None: the normal quantile
    split: str | None = None
    concept: str | None = None  # the --by values of this row; None when not split by them
    bug: str | None = None
    template: str | None = None
    surface: str | None = None
    param: str | None = None
    # The impossible split (grader/impossible.py): outcome counts, and the share that cheated
    # (test changed, or the layer bent toward the contradicting test) with its clustered interval.
    outcomes: dict[str, int] = field(default_factory=dict)
    cheating_rate: float | None = None
    cheat_low: float | None = None
    cheat_high: float | None = None


CHEATS = ("cheated_test", "cheated_impl")


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _clusters(group: list[Attempt], unit: Callable[[Attempt], str]) -> list[tuple[int, int]]:
    """(passes, scored attempts) per unit, in first-seen order."""
    counts: dict[str, list[int]] = {}
    for a in group:
        c = counts.setdefault(unit(a), [0, 0])
        c[0] += a.outcome == "pass"
        c[1] += a.outcome != "error"
    return [(p, m) for p, m in counts.values()]


def _row(key: tuple, group: list[Attempt]) -> Row:
    version, split, model, difficulty, by = key
    per_sample: dict[str, list[Attempt]] = defaultdict(list)
    for a in group:
        per_sample[a.sample_id].append(a)
    samples = _clusters(group, lambda a: a.sample_id)  # pass@k counts per sample
    clusters = _clusters(group, lambda a: a.cluster)  # the interval per template (or sample)
    scored = [a for a in group if a.outcome != "error"]
    sizes = [len(atts) for atts in per_sample.values()]
    if scored:
        ci = clustered_interval(clusters)
        at_k, k = mean_pass_at_k(samples)
        stats = {
            "pass_rate": ci.rate, "ci_low": ci.low, "ci_high": ci.high, "design_effect": ci.design_effect,
            "effective_n": ci.effective_n, "pass_at_k": at_k, "k": k, "band": band_verdict(ci.low, ci.high),
            "tamper_rate": sum(a.test_modified for a in scored) / len(scored), "df": ci.df,
            "clusters": ci.clusters,
        }  # fmt: skip
    else:
        stats = {
            "pass_rate": None, "ci_low": None, "ci_high": None, "design_effect": None, "effective_n": None,
            "pass_at_k": None, "k": 0, "band": "no scores", "tamper_rate": None, "df": None, "clusters": 0,
        }  # fmt: skip
    failures = Counter(a.category or "?" for a in scored if a.outcome == "fail")
    outcomes = Counter(a.split_outcome for a in scored if a.split_outcome)
    if outcomes:  # cheating clusters like passing does: per template (or sample)
        cheats: dict[str, list[int]] = {}
        for a in scored:
            c = cheats.setdefault(a.cluster, [0, 0])
            c[0] += a.split_outcome in CHEATS
            c[1] += 1
        cheat = clustered_interval([(k, m) for k, m in cheats.values()])
        stats |= {"cheating_rate": cheat.rate, "cheat_low": cheat.low, "cheat_high": cheat.high}
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return Row(
        task_version=version,
        model=model,
        difficulty=difficulty,
        samples=len(per_sample),
        epochs=(min(sizes), max(sizes)),
        attempts=len(group),
        scored=len(scored),
        errors=len(group) - len(scored),
        passes=sum(a.outcome == "pass" for a in scored),
        median_seconds=_median([a.seconds for a in scored if a.seconds is not None]),
        median_tokens=_median([a.tokens for a in scored]),
        failures=dict(sorted(failures.items(), key=lambda kv: (-kv[1], order.get(kv[0], len(order)), kv[0]))),
        outcomes=dict(sorted(outcomes.items())),
        cluster_unit=TEMPLATE if all(a.cluster_unit == TEMPLATE for a in group) else SAMPLE,
        split=split,
        **dict(by),
        **{f: None for f in BY_FIELDS if f not in dict(by)},
        **stats,
    )


def _by_fields(by: list[str] | None) -> list[str]:
    return [f for f in BY_FIELDS if f in (by or [])]


def build_rows(attempts: list[Attempt], by: list[str] | None = None) -> list[Row]:
    """Group attempts into rows; sorted so that rows to compare (same version, split, difficulty,
    --by values) sit together, best pass rate first."""
    fields = _by_fields(by)
    groups: dict[tuple, list[Attempt]] = defaultdict(list)
    for a in attempts:
        key = (
            a.task_version,
            a.split,
            a.model,
            a.difficulty,  # always: a pass rate on easy and one on hard measure different things
            tuple((f, getattr(a, f)) for f in fields),
        )
        groups[key].append(a)
    rows = [_row(key, group) for key, group in groups.items()]
    unscored_last = -1.0
    rows.sort(
        key=lambda r: (
            r.task_version,
            r.split or "",
            r.difficulty,
            tuple(getattr(r, f) or "" for f in fields),
            -(unscored_last if r.pass_rate is None else r.pass_rate),
            r.model,
        )
    )
    return rows


def unsplit_fields(attempts: list[Attempt], by: list[str] | None) -> list[str]:
    """Warnings for --by fields some logs do not record (task 1.0.0 has no concept, bug, ...)."""
    out = []
    for f in _by_fields(by):
        versions = sorted({a.task_version for a in attempts if getattr(a, f) is None})
        if versions:
            out.append(f"--by {f}: the logs of task version {', '.join(versions)} record no {f}; "
                       "their rows are not split by it")  # fmt: skip
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "logs",
        nargs="*",
        default=[DEFAULT_LOG_DIR],
        metavar="LOG_DIR_OR_FILE",
        help=f"log files or directories, searched recursively (default: {DEFAULT_LOG_DIR}/)",
    )
    parser.add_argument("--by", action="append", choices=SPLITS, default=[],
                        help="also split rows by this sample field, e.g. concept (repeatable; rows are always "
                             "split by task version and difficulty)")  # fmt: skip
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"),
                        help="compare only these two models (A - B); default: every pair that shares samples")  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default="markdown", help="table format (default markdown)")
    parser.add_argument("--plot", metavar="FILE", help="also draw pass rates and paired differences to a PNG")


def _compare_problem(compare: list[str] | None, attempts: list[Attempt]) -> str | None:
    if not compare:
        return None
    a, b = compare
    if a == b:
        return f"--compare needs two different models; got {a} twice"
    known = sorted({x.model for x in attempts})
    missing = [m for m in (a, b) if m not in known]
    if missing:
        return f"--compare: no scored samples of {' or '.join(missing)} in these logs; the models are: {', '.join(known)}"
    return None


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 2 when nothing usable was found, --compare names an unknown model,
    or the plot cannot be drawn."""
    if args.plot:
        from vsd_inspect.report_plot import MissingMatplotlib, load_pyplot

        try:
            load_pyplot()
        except MissingMatplotlib:
            print(f"vsd-inspect: --plot needs matplotlib; install it with: {PLOT_INSTALL}", file=sys.stderr)
            return EXIT_ERROR
    found = collect(args.logs)
    if not found.attempts:
        for message in found.warnings:
            print(f"vsd-inspect: warning: {message}", file=sys.stderr)
        print(f"vsd-inspect: no {TASK_NAME} samples in {', '.join(args.logs)}; run an eval first, "
              f"e.g. inspect eval vsd_inspect/task.py --model vsd/oracle", file=sys.stderr)  # fmt: skip
        return EXIT_ERROR
    compare = getattr(args, "compare", None)
    problem = _compare_problem(compare, [a for a in found.attempts if a.outcome != "error"])
    if problem:
        for message in found.warnings:
            print(f"vsd-inspect: warning: {message}", file=sys.stderr)
        print(f"vsd-inspect: {problem}", file=sys.stderr)
        return EXIT_ERROR
    rows = build_rows(found.attempts, args.by)
    pairs, pair_warnings = build_pairs(found.attempts, tuple(compare) if compare else None)
    power = build_power(found.attempts, rows, pairs)
    found.warnings += unsplit_fields(found.attempts, args.by) + pair_warnings
    for message in found.warnings:
        print(f"vsd-inspect: warning: {message}", file=sys.stderr)
    renderers = {
        "csv": lambda: render_csv(rows, pairs, power),
        "json": lambda: render_json(rows, pairs, power, found.logs, found.warnings, INTERVAL_NOTE) + "\n",
        "markdown": lambda: render_markdown(rows, pairs, power, INTERVAL_NOTE, BY_FIELDS) + "\n",
    }
    try:
        sys.stdout.write(renderers[args.format]())
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader has what it wanted; say nothing more on stdout
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if args.plot:
        from vsd_inspect.report_plot import plot_rows

        try:
            plot_rows(rows, args.plot, pairs)
        except OSError as ex:
            print(f"vsd-inspect: cannot write the plot: {ex}", file=sys.stderr)
            return EXIT_ERROR
        print(f"vsd-inspect: wrote {args.plot}", file=sys.stderr)
    return EXIT_OK

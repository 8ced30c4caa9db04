"""`vsd-inspect report`: pass rates with honest intervals, per model, from Inspect logs.

    vsd-inspect report [LOG_DIR_OR_FILE ...] [--by variant] [--format markdown|csv|json] [--plot FILE]

Logs are read only through Inspect's own API: one header and the sample summaries per log
(never the transcripts), which keeps a report over thousands of samples to seconds. A row
is one (task version, model, difficulty[, variant]): two task versions, or two difficulties,
measure different things and are never pooled. Errored or unscored samples are counted
apart, never as failures: a harness failure is not the model's.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vsd_inspect.constants import TASK_NAME
from vsd_inspect.grader.categories import ALL as CATEGORIES
from vsd_inspect.grader.categories import PASSED
from vsd_inspect.report_stats import CONFIDENCE, TARGET_BAND, band_verdict, clustered_interval, mean_pass_at_k

if TYPE_CHECKING:  # Inspect is imported when logs are read: `vsd-inspect grade` never pays for it
    import anyio
    from inspect_ai.log import EvalLog, EvalSampleSummary

SCORER = "vsd_scorer"
CORRECT, INCORRECT = "C", "I"  # inspect_ai.scorer's values, named here to keep Inspect's import lazy
DEFAULT_LOG_DIR = "logs"
FORMATS = ("markdown", "csv", "json")
SPLITS = ("variant", "difficulty")  # difficulty is always split; accepted so `--by difficulty` is no error
LOG_SUFFIXES = (".eval", ".json")
EXIT_OK, EXIT_ERROR = 0, 2
READ_CONCURRENCY = 8  # logs read at once on the one event loop
PLOT_INSTALL = "uv sync --extra plot  (or: pip install 'vsd-inspect[plot]')"
# Fields a summary cannot hold back and the full sample is never needed for.
_HEAVY_FIELDS = {"messages", "events", "store", "attachments", "output"}
INTERVAL_NOTE = (
    f"{100 * CONFIDENCE:.0f} % interval: Wilson, at the effective size left after the design effect of "
    "repeating each sample over epochs (cluster-robust variance, samples as clusters)."
)


@dataclass(frozen=True)
class Attempt:
    """One sample x epoch as the report needs it: what was graded, and what it cost."""

    task_version: str
    model: str
    difficulty: str
    variant: str
    sample_id: str
    outcome: str  # "pass", "fail" or "error"
    category: str | None
    test_modified: bool
    seconds: float | None
    tokens: int


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


class Collection:
    """Attempts read from a set of logs, with the warnings the reading raised."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self.warnings: list[str] = []
        self.logs = 0

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def _display(location: str) -> str:
    return location.removeprefix("file://")


def _log_files(paths: list[str], found: Collection) -> list[tuple[str, float]]:
    """(location, mtime) of every log under the given files and directories, each once."""
    from inspect_ai.log import list_eval_logs

    files: dict[str, float] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for info in list_eval_logs(str(path), recursive=True):
                location = _display(info.name)  # mtime from the file itself: the listing's is in ms
                files.setdefault(location, Path(location).stat().st_mtime)
        elif path.is_file() and path.suffix not in LOG_SUFFIXES:
            found.warn(f"{raw}: skipped, not an Inspect log ({' or '.join(LOG_SUFFIXES)} file)")
        elif path.is_file():
            files.setdefault(str(path.resolve()), path.stat().st_mtime)
        else:
            found.warn(f"{raw}: no such file or directory")
    return sorted(files.items())


@dataclass
class _LogRead:
    """One log file as read: its header and sample summaries, or why it is skipped."""

    location: str
    mtime: float
    header: EvalLog | None = None
    summaries: list[EvalSampleSummary] = field(default_factory=list)
    signals: dict[tuple[str, int], dict] = field(default_factory=dict)  # read from full samples
    problem: str | None = None


async def _read_log(location: str, mtime: float, limiter: anyio.CapacityLimiter) -> _LogRead:
    """Header first, so a foreign log's samples are never read.

    A summary keeps score metadata only under 1 kB; when the tamper signals were dropped
    (a workspace with many added files), that one sample is read in full, minus transcript.
    A foreign file can fail in the zip, zstd, JSON or schema layer, so any error becomes the
    reason it is skipped: named in a warning, never hidden and never a crash.
    """
    from inspect_ai.log import read_eval_log_async, read_eval_log_sample_async, read_eval_log_sample_summaries_async

    async with limiter:
        try:
            header = await read_eval_log_async(location, header_only=True)
        except Exception as ex:  # noqa: BLE001
            return _LogRead(location, mtime, problem=f"not a readable Inspect log ({type(ex).__name__}: {ex})")
        if header.eval.task.rsplit("/", 1)[-1] != TASK_NAME:
            return _LogRead(location, mtime, problem=f"a log of task {header.eval.task!r}, not {TASK_NAME}")
        read = _LogRead(location, mtime, header)
        try:
            read.summaries = await read_eval_log_sample_summaries_async(location)
            for s in read.summaries:
                score = (s.scores or {}).get(SCORER)
                if score is not None and not isinstance((score.metadata or {}).get("signals"), dict):
                    full = await read_eval_log_sample_async(location, s.id, s.epoch, exclude_fields=_HEAVY_FIELDS)
                    full_score = (full.scores or {}).get(SCORER)
                    full_meta = (full_score.metadata if full_score else None) or {}
                    read.signals[(str(s.id), s.epoch)] = full_meta.get("signals", {})
        except Exception as ex:  # noqa: BLE001
            read.problem = f"its samples could not be read ({type(ex).__name__}: {ex})"
        return read


async def _read_all(files: list[tuple[str, float]]) -> list[_LogRead]:
    """All logs on one event loop: a loop per file (the sync API) costs more than the reading."""
    import anyio

    limiter = anyio.CapacityLimiter(READ_CONCURRENCY)
    reads: list[_LogRead] = []

    async def one(location: str, mtime: float) -> None:
        reads.append(await _read_log(location, mtime, limiter))

    async with anyio.create_task_group() as tg:
        for location, mtime in files:
            tg.start_soon(one, location, mtime)
    return sorted(reads, key=lambda r: r.location)


def _newest_of_each_run(reads: list[_LogRead], found: Collection) -> list[_LogRead]:
    """Of a run's retries (one task id) only the newest log counts: Inspect seeds each retry's
    log with every sample the earlier attempt finished, so counting both would double them."""
    runs: dict[str, list[_LogRead]] = defaultdict(list)
    for r in reads:
        runs[r.header.eval.task_id or r.location].append(r)
    kept = []
    for logs in runs.values():
        logs.sort(key=lambda r: (r.mtime, r.location))
        for older in logs[:-1]:
            found.warn(f"{older.location}: skipped, an earlier attempt of a run retried in {logs[-1].location}")
        kept.append(logs[-1])
    return sorted(kept, key=lambda r: r.location)


def _attempts(read: _LogRead) -> list[Attempt]:
    header = read.header
    default_difficulty = str(header.eval.task_args.get("difficulty", "?"))
    out = []
    for s in read.summaries:
        score = (s.scores or {}).get(SCORER)
        scored = s.error is None and score is not None and score.value in (CORRECT, INCORRECT)
        signals = read.signals.get((str(s.id), s.epoch), (score.metadata or {}).get("signals") if scored else None)
        signals = signals if scored and isinstance(signals, dict) else {}
        out.append(
            Attempt(
                task_version=str(header.eval.task_version),
                model=header.eval.model,
                difficulty=str(s.metadata.get("difficulty", default_difficulty)),
                variant=str(s.metadata.get("variant", "?")),
                sample_id=str(s.id),
                outcome=("pass" if score.value == CORRECT else "fail") if scored else "error",
                category=score.answer if scored else None,
                test_modified=bool(signals.get("test_modified", False)),
                seconds=s.working_time if s.working_time is not None else s.total_time,
                tokens=sum(u.total_tokens for u in s.model_usage.values()),
            )
        )
    return out


def collect(paths: list[str]) -> Collection:
    """Every vsd_dropout attempt under `paths`; unreadable and foreign files become warnings."""
    import anyio

    found = Collection()
    reads = anyio.run(_read_all, _log_files(paths, found))
    usable = []
    for r in reads:
        if r.header is None:
            found.warn(f"{r.location}: skipped, {r.problem}")
        else:
            usable.append(r)
    for r in _newest_of_each_run(usable, found):
        if r.problem:
            found.warn(f"{r.location}: skipped, {r.problem}")
            continue
        if r.header.status != "success":
            found.warn(f"{r.location}: the eval ended with status {r.header.status!r}; its finished samples count")
        found.attempts += _attempts(r)
        found.logs += 1
    versions = sorted({a.task_version for a in found.attempts})
    if len(versions) > 1:
        found.warn(
            f"the logs hold {len(versions)} task versions ({', '.join(versions)}): rows are split by version, "
            "never pooled; compare pass rates only within one version"
        )
    return found


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _row(key: tuple, group: list[Attempt]) -> Row:
    version, model, difficulty, variant = key
    per_sample: dict[str, list[Attempt]] = defaultdict(list)
    for a in group:
        per_sample[a.sample_id].append(a)
    clusters = [  # (passes, scored attempts) per sample: the unit the interval and pass@k count in
        (sum(a.outcome == "pass" for a in atts), sum(a.outcome != "error" for a in atts))
        for atts in per_sample.values()
    ]
    scored = [a for a in group if a.outcome != "error"]
    sizes = [len(atts) for atts in per_sample.values()]
    if scored:
        ci = clustered_interval(clusters)
        at_k, k = mean_pass_at_k(clusters)
        stats = {
            "pass_rate": ci.rate, "ci_low": ci.low, "ci_high": ci.high, "design_effect": ci.design_effect,
            "effective_n": ci.effective_n, "pass_at_k": at_k, "k": k, "band": band_verdict(ci.low, ci.high),
            "tamper_rate": sum(a.test_modified for a in scored) / len(scored),
        }  # fmt: skip
    else:
        stats = {
            "pass_rate": None, "ci_low": None, "ci_high": None, "design_effect": None, "effective_n": None,
            "pass_at_k": None, "k": 0, "band": "no scores", "tamper_rate": None,
        }  # fmt: skip
    failures = Counter(a.category or "?" for a in scored if a.outcome == "fail")
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return Row(
        task_version=version,
        model=model,
        difficulty=difficulty,
        variant=variant,
        samples=len(per_sample),
        epochs=(min(sizes), max(sizes)),
        attempts=len(group),
        scored=len(scored),
        errors=len(group) - len(scored),
        passes=sum(a.outcome == "pass" for a in scored),
        median_seconds=_median([a.seconds for a in scored if a.seconds is not None]),
        median_tokens=_median([a.tokens for a in scored]),
        failures=dict(sorted(failures.items(), key=lambda kv: (-kv[1], order.get(kv[0], len(order)), kv[0]))),
        **stats,
    )


def build_rows(attempts: list[Attempt], by: list[str] | None = None) -> list[Row]:
    """Group attempts into rows; sorted so that rows to compare (same version, difficulty,
    variant) sit together, best pass rate first."""
    split_variant = "variant" in (by or [])
    groups: dict[tuple, list[Attempt]] = defaultdict(list)
    for a in attempts:
        key = (
            a.task_version,
            a.model,
            a.difficulty,  # always: a pass rate on easy and one on hard measure different things
            a.variant if split_variant else None,
        )
        groups[key].append(a)
    rows = [_row(key, group) for key, group in groups.items()]
    unscored_last = -1.0
    rows.sort(
        key=lambda r: (
            r.task_version,
            r.difficulty,
            r.variant or "",
            -(unscored_last if r.pass_rate is None else r.pass_rate),
            r.model,
        )
    )
    return rows


def _pct(x: float | None) -> str:
    return "—" if x is None or math.isnan(x) else f"{100 * x:.1f} %"


def _number(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def _shape(row: Row) -> str:
    lo, hi = row.epochs
    return f"{row.samples} × {lo}" if lo == hi else f"{row.samples} × {lo}–{hi}"


def render_markdown(rows: list[Row]) -> str:
    band = f"{100 * TARGET_BAND[0]:.0f}–{100 * TARGET_BAND[1]:.0f} %"
    show_variant = any(r.variant for r in rows)
    head = ["task version", "model", "difficulty"] + ["variant"] * show_variant
    head += ["samples × epochs", "errors", "pass rate", f"{100 * CONFIDENCE:.0f} % CI", "pass@k", f"band {band}"]
    head += ["failures", "tamper", "median time (s)", "median tokens"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r.task_version, f"`{r.model}`", r.difficulty]
        cells += [r.variant or ""] * show_variant
        cells += [
            _shape(r),
            str(r.errors),
            _pct(r.pass_rate),
            "—" if r.ci_low is None else f"{100 * r.ci_low:.1f}–{100 * r.ci_high:.1f} %",
            "—" if r.pass_at_k is None else f"{_pct(r.pass_at_k)} (k={r.k})",
            r.band,
            ", ".join(f"{c} {n}" for c, n in r.failures.items()) or "—",
            _pct(r.tamper_rate),
            _number(r.median_seconds),
            _number(r.median_tokens, 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        f"{INTERVAL_NOTE} Band: below, inside or above the {band} target pass rate, undecided while the "
        "interval straddles an edge. pass@k: the unbiased estimator per sample, averaged; k = epochs (the "
        "fewest scored epochs of any sample, if some errored). Tamper: share of scored sample·epochs whose "
        "visible test was modified. Errors: sample·epochs that errored or went unscored, left out of every rate."
    )
    lines += ["", note]
    return "\n".join(lines)


def _flat(row: Row) -> dict:
    d = asdict(row)
    d.pop("failures")
    d["epochs_min"], d["epochs_max"] = d.pop("epochs")
    return d


def render_csv(rows: list[Row]) -> str:
    categories = [c for c in CATEGORIES if c != PASSED]
    categories += sorted({c for r in rows for c in r.failures} - set(categories))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    flat = [_flat(r) for r in rows]
    fields = list(flat[0]) if flat else []
    writer.writerow(fields + [f"fail_{c}" for c in categories])
    for r, d in zip(rows, flat):
        writer.writerow(["" if d[f] is None else d[f] for f in fields] + [r.failures.get(c, 0) for c in categories])
    return out.getvalue()


def render_json(rows: list[Row], found: Collection) -> str:
    rows_out = []
    for r in rows:
        d = _flat(r)
        d["failures"] = r.failures
        rows_out.append(d)
    doc = {
        "task": TASK_NAME,
        "confidence": CONFIDENCE,
        "interval": INTERVAL_NOTE,
        "target_band": list(TARGET_BAND),
        "logs": found.logs,
        "rows": rows_out,
        "warnings": found.warnings,
    }
    return json.dumps(doc, indent=2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "logs",
        nargs="*",
        default=[DEFAULT_LOG_DIR],
        metavar="LOG_DIR_OR_FILE",
        help=f"log files or directories, searched recursively (default: {DEFAULT_LOG_DIR}/)",
    )
    parser.add_argument("--by", action="append", choices=SPLITS, default=[],
                        help="split rows by bug variant too (rows are always split by difficulty)")  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default="markdown", help="table format (default markdown)")
    parser.add_argument("--plot", metavar="FILE", help="also draw pass rates with their intervals to a PNG")


def run(args: argparse.Namespace) -> int:
    """Print the table; exit 2 when nothing usable was found or the plot cannot be drawn."""
    if args.plot:
        from vsd_inspect.report_plot import MissingMatplotlib, load_pyplot

        try:
            load_pyplot()
        except MissingMatplotlib:
            print(f"vsd-inspect: --plot needs matplotlib; install it with: {PLOT_INSTALL}", file=sys.stderr)
            return EXIT_ERROR
    found = collect(args.logs)
    for message in found.warnings:
        print(f"vsd-inspect: warning: {message}", file=sys.stderr)
    if not found.attempts:
        print(f"vsd-inspect: no {TASK_NAME} samples in {', '.join(args.logs)}; run an eval first, "
              f"e.g. inspect eval vsd_inspect/task.py --model vsd/oracle", file=sys.stderr)  # fmt: skip
        return EXIT_ERROR
    rows = build_rows(found.attempts, args.by)
    renderers = {"csv": lambda: render_csv(rows), "json": lambda: render_json(rows, found) + "\n"}
    try:
        sys.stdout.write(renderers.get(args.format, lambda: render_markdown(rows) + "\n")())
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader has what it wanted; say nothing more on stdout
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if args.plot:
        from vsd_inspect.report_plot import plot_rows

        try:
            plot_rows(rows, args.plot)
        except OSError as ex:
            print(f"vsd-inspect: cannot write the plot: {ex}", file=sys.stderr)
            return EXIT_ERROR
        print(f"vsd-inspect: wrote {args.plot}", file=sys.stderr)
    return EXIT_OK

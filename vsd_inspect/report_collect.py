"""Reading Inspect logs for `vsd-inspect report` (report.py): the logs under the paths given,
each one's header first and then its sample summaries (never the transcripts), all on one event
loop; one `Attempt` per sample x epoch; only the newest log of a retried run; and a warning,
never a crash, for every file skipped and why."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vsd_inspect.constants import TASK_NAME

if TYPE_CHECKING:  # Inspect is imported when logs are read: `vsd-inspect grade` never pays for it
    import anyio
    from inspect_ai.log import EvalLog, EvalSampleSummary

SCORER = "vsd_scorer"
CORRECT, INCORRECT = "C", "I"  # inspect_ai.scorer's values, named here to keep Inspect's import lazy
LOG_SUFFIXES = (".eval", ".json")
READ_CONCURRENCY = 8  # logs read at once on the one event loop
# Fields a summary cannot hold back and the full sample is never needed for.
_HEAVY_FIELDS = {"messages", "events", "store", "attachments", "output"}
TEMPLATE, SAMPLE = "template", "sample"  # the clustering unit


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
    # The task family's sample metadata (None in logs that predate it, task 1.0.0).
    concept: str | None = None
    bug: str | None = None
    template: str | None = None  # f"{concept}/{bug}": the unit a model's successes cluster in
    surface: str | None = None
    param: str | None = None
    # The dataset split a score names (None: the main split). A later `impossible` split records
    # `outcome` in {honest, cheated_test, cheated_impl, other_fail}: kept here so a row can count it.
    split: str | None = None
    split_outcome: str | None = None

    @property
    def cluster(self) -> str:
        """The unit the interval clusters on: the template, else the sample itself."""
        return self.template if self.template is not None else self.sample_id

    @property
    def cluster_unit(self) -> str:
        return TEMPLATE if self.template is not None else SAMPLE



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


def _text(value: object) -> str | None:
    """A metadata value as the report keys on it; None for missing or empty."""
    return None if value is None or value == "" else str(value)


def _attempts(read: _LogRead) -> list[Attempt]:
    """One Attempt per sample summary. Metadata is read tolerantly: each key the task family
    writes (concept, bug, template, ...) falls back to None when a log predates it."""
    header = read.header
    default_difficulty = str(header.eval.task_args.get("difficulty", "?"))
    out = []
    for s in read.summaries:
        meta = s.metadata if isinstance(s.metadata, dict) else {}
        score = (s.scores or {}).get(SCORER)
        scored = s.error is None and score is not None and score.value in (CORRECT, INCORRECT)
        score_meta = (score.metadata if score is not None and isinstance(score.metadata, dict) else None) or {}
        signals = read.signals.get((str(s.id), s.epoch), score_meta.get("signals") if scored else None)
        signals = signals if scored and isinstance(signals, dict) else {}
        concept, bug = _text(meta.get("concept")), _text(meta.get("bug"))
        template = _text(meta.get("template")) or (f"{concept}/{bug}" if concept and bug else None)
        category = _text(score_meta.get("category")) or (_text(score.answer) if score is not None else None)
        out.append(
            Attempt(
                task_version=str(header.eval.task_version),
                model=header.eval.model,
                difficulty=str(meta.get("difficulty", default_difficulty)),
                variant=_text(meta.get("variant")) or template or "?",
                sample_id=str(s.id),
                outcome=("pass" if score.value == CORRECT else "fail") if scored else "error",
                category=category if scored else None,
                test_modified=bool(signals.get("test_modified", False)),
                seconds=s.working_time if s.working_time is not None else s.total_time,
                tokens=sum(u.total_tokens for u in (s.model_usage or {}).values()),
                concept=concept,
                bug=bug,
                template=template,
                surface=_text(meta.get("surface")),
                param=_text(meta.get("param")),
                split=_side_split(score_meta.get("split", meta.get("split"))),
                split_outcome=_text(score_meta.get("outcome")) if scored else None,
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


def _side_split(value) -> str | None:
    """A split other than the main one (the main split's rows carry none)."""
    text = _text(value)
    return None if text in (None, "main") else text

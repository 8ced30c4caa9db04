"""The RL door for many gradings: `grade_many` and `grade_solution_async`, on a warm pool.

    from vsd_inspect import grade_many, grade_solution_async
    results = grade_many(workspaces, workers=2, sample=ID)      # [GradeResult, ...], in order
    result = await grade_solution_async(workspace, sample=ID)   # one GradeResult
    result.reward, result.metrics, result.seed, result.grader_version

Each grading is `grade_solution`'s, run the same way with the same seed, so it gives the same
verdict (`result.verdict` is that dict); only how its two jailed processes start differs: they
fork from the warm pool's zygotes (`grader/pool.py`), which have numpy loaded, instead of
starting an interpreter each. With 2 workers or more, each grading is also judged in a judge
process of its own (`judge_processes.py`, each with its warm pool), so that the judges do not
take turns at one interpreter's lock. A host that cannot run the pool (not Linux, no pidfds)
grades the same way `grade_solution` does, exec'ing each process.

The result contract, for a trainer:
  reward          1.0 or 0.0, nothing else (1.0 exactly when every check passed)
  metrics         numbers beside the reward, for logging: check counts, the visible test's
                  figures, the grading's seconds; never an input to the reward
  seed            the hidden checks' seed: pass it back (`seeds=[...]`) to replay the verdict
  grader_version, task_version, sample: what measured it
  HarnessError    raised, never a 0: grading itself failed (a broken sandbox, a zygote that
                  died twice, a missing workspace), so the sample says nothing about the policy
"""

import asyncio
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vsd_inspect.constants import DEFAULT_RATES, DEFAULT_TOLERANCE
from vsd_inspect.grader import judge, pool as warm
from vsd_inspect.grader.categories import HarnessError
from vsd_inspect.grader.jail import Limits

if TYPE_CHECKING:
    from vsd_inspect.judge_processes import JudgeProcesses

DEFAULT_WORKERS = 2
# A grading whose zygote died (the candidate cannot reach it in namespaces; a non-root host's
# candidate can kill it) is graded again once, from a new zygote (with the seed it was given).
RETRIES_AFTER_LOST_ZYGOTE = 1
# How often `grade_many`'s waiting thread wakes. A Ctrl-C's handler runs in the main thread, but
# the kernel may deliver the signal to any thread; the main thread learns of it only when it
# next runs Python code, which a lock wait without a timeout would put off until the gradings
# had ended by themselves.
INTERRUPT_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class GradeResult:
    """One grading, as a trainer consumes it (see the module's docstring)."""

    reward: float
    passed: bool
    category: str
    feedback: str
    seed: int
    sample: str
    grader_version: str
    task_version: str
    metrics: dict[str, float]
    verdict: dict = field(repr=False)

    @classmethod
    def from_verdict(cls, verdict: dict) -> "GradeResult":
        passed = verdict["passed"]
        reward = verdict["reward"]
        if passed is not True and passed is not False or reward != (1.0 if passed else 0.0):
            raise HarnessError(f"a verdict with passed={passed!r} and reward={reward!r}: not a 0/1 reward")
        return cls(
            reward=1.0 if passed else 0.0,
            passed=passed,
            category=verdict["category"],
            feedback=verdict["feedback"],
            seed=int(verdict["hidden_seed"]),
            sample=verdict["sample"],
            grader_version=verdict["grader_version"],
            task_version=verdict["task_version"],
            metrics=metrics(verdict),
            verdict=verdict,
        )

    def to_dict(self) -> dict:
        """Everything but the full verdict, JSON-ready (for a trainer's logs)."""
        return {k: getattr(self, k) for k in ("reward", "passed", "category", "feedback", "seed", "sample", "grader_version", "task_version", "metrics")}


def metrics(verdict: dict) -> dict[str, float]:
    """The numbers a trainer logs beside the reward."""
    checks = verdict.get("checks", [])
    out: dict[str, float] = {
        "checks": float(len(checks)),
        "checks_failed": float(sum(not c["passed"] for c in checks)),
        "visible_failed": float(sum(not c["passed"] for c in checks if c["group"] == "visible")),
        "hidden_failed": float(sum(not c["passed"] for c in checks if c["group"] == "hidden")),
        "tampered": 1.0 if verdict.get("signals", {}).get("tampered") else 0.0,
        "grading_seconds": float(verdict.get("seconds", math.nan)),
        "worker_seconds": float(verdict.get("worker", {}).get("seconds", math.nan)),
    }
    for name, value in verdict.get("figures", {}).items():
        out[f"figure/{name}"] = float(value)
    return out


# ---------------------------------------------------------------- the process's warm pool

_default: warm.WarmPool | None = None
_default_lock = threading.Lock()


def default_pool() -> warm.WarmPool | None:
    """This process's warm pool, started on first use and kept until exit (None where the
    host cannot run one: gradings then exec their processes)."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            if warm.available():
                return None
            _default = warm.WarmPool()
        return _default


_default_judges: "JudgeProcesses | None" = None


def default_judges(workers: int) -> "JudgeProcesses | None":
    """This process's judge processes, at least `workers` of them, started on first use and
    kept until exit (None where the host cannot run a warm pool)."""
    global _default_judges
    with _default_lock:
        if _default_judges is None or _default_judges.closed:
            if warm.available():
                return None
            from vsd_inspect.judge_processes import JudgeProcesses

            _default_judges = JudgeProcesses(workers)
        _default_judges.ensure(workers)
        return _default_judges


def _forget_default_in_child() -> None:
    """In a forked copy of this process: the zygotes and judge processes are the parent's
    (their sockets close)."""
    global _default, _default_judges
    if _default is not None:
        for zygote in list(_default._zygotes.values()):  # no lock: another thread may have held it
            zygote.close()
        _default = None
    if _default_judges is not None:
        _default_judges.forget()
        _default_judges = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_default_in_child)


# ---------------------------------------------------------------- one grading


def _grade(workspace, sample, seed, rates, tolerance, limits, launcher: warm.GradingLauncher) -> GradeResult:
    """`grade_solution` with `launcher` (its pool's zygotes, or exec'ing without a pool); once
    more, from a new zygote, if the zygote of one of its processes died."""
    from vsd_inspect.api import grade_solution

    attempt = 0
    while True:
        try:
            with judge.use_launcher(launcher):
                return GradeResult.from_verdict(grade_solution(workspace, rates, tolerance, seed, limits, sample=sample))
        except warm.ZygoteLost:
            attempt += 1
            if attempt > RETRIES_AFTER_LOST_ZYGOTE or launcher.cancelled:
                raise


def _door(pool: warm.WarmPool | None, judges: "JudgeProcesses | None", workers: int):
    """How the gradings run: (a new launcher for one, the call that grades a workspace with it,
    `_grade`'s arguments). In one of `judges`' judge processes, or in the caller's thread on
    `pool`'s zygotes; by default, judge processes for 2 workers or more, else this process's pool."""
    if judges is not None and pool is not None:
        raise ValueError("a pool or judge processes (which have their own pools), not both")
    if judges is None and pool is None and workers > 1:
        judges = default_judges(workers)
    if judges is not None:
        return judges.launcher, judges.grade
    pool = pool if pool is not None else default_pool()
    return (lambda: warm.GradingLauncher(pool)), _grade


def _per_item(value, n: int, what: str) -> list:
    """One value for every workspace, or a list or tuple of one each."""
    if not isinstance(value, (list, tuple)):
        return [value] * n
    if len(value) != n:
        raise ValueError(f"{what}: {len(value)} given for {n} workspaces")
    return list(value)


def grade_many(
    workspaces: Sequence[str | os.PathLike],
    *,
    workers: int = DEFAULT_WORKERS,
    sample: str | Sequence[str] | None = None,
    seeds: int | Sequence[int | None] | None = None,
    rates=DEFAULT_RATES,
    tolerance: float = DEFAULT_TOLERANCE,
    limits: Limits = Limits(),
    pool: warm.WarmPool | None = None,
    judges: "JudgeProcesses | None" = None,
    return_exceptions: bool = False,
) -> list[GradeResult]:
    """Grade each workspace, `workers` at a time; results in the workspaces' order.

    sample: one sample (an id or a `Sample`) for all, or a list of one per workspace (default:
    the seed's sample). seeds: None (fresh, recorded in each result), one for all, or a list of
    one per workspace. judges: judge processes (`judge_processes.JudgeProcesses`) to judge each
    grading in, each with its own warm pool, instead of threads of this process: the same
    verdicts, faster, as the judges no longer take turns at this interpreter's lock (by
    default with 2 workers or more and no `pool`: this process's, `default_judges`). pool: a
    warm pool whose zygotes the gradings use, judged in threads here (not with `judges`; by
    default with 1 worker: this process's, `default_pool`). A HarnessError is raised (the other gradings finish
    first) unless `return_exceptions`, which puts it in its place. Interrupted (Ctrl-C), it
    kills the gradings under way before the interruption goes on.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers}")
    new_launcher, grade = _door(pool, judges, workers)
    paths = [Path(w) for w in workspaces]
    samples = _per_item(sample, len(paths), "sample")
    seed_list = _per_item(seeds, len(paths), "seeds")
    launchers = [new_launcher() for _ in paths]
    results: list = [None] * len(paths)

    def one(i: int) -> None:
        try:
            results[i] = grade(paths[i], samples[i], seed_list[i], rates, tolerance, limits, launchers[i])
        except (HarnessError, NotADirectoryError) as ex:
            results[i] = ex

    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vsd-grade")
    try:
        pending = {executor.submit(one, i) for i in range(len(paths))}
        while pending:  # never a wait without a timeout: see INTERRUPT_POLL_SECONDS
            done, pending = wait(pending, timeout=INTERRUPT_POLL_SECONDS, return_when=FIRST_EXCEPTION)
            for future in done:
                future.result()  # what a grading raised other than a HarnessError: the rest stop
    except BaseException:
        for launcher in launchers:
            launcher.cancel()
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown()
    if not return_exceptions:
        for r in results:
            if isinstance(r, BaseException):
                raise r
    return results


async def grade_solution_async(
    workspace_dir: str | os.PathLike,
    rates=DEFAULT_RATES,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int | None = None,
    limits: Limits = Limits(),
    *,
    sample: str | None = None,
    pool: warm.WarmPool | None = None,
    judges: "JudgeProcesses | None" = None,
) -> GradeResult:
    """`grade_solution` without blocking the event loop, on `pool` or in one of `judges`' judge
    processes (as `grade_many`). Cancelling the awaiting task kills the grading's processes at
    once (its files are removed right after)."""
    new_launcher, grade = _door(pool, judges, 1)
    launcher = new_launcher()
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, grade, Path(workspace_dir), sample, seed, rates, tolerance, limits, launcher)
    try:
        return await future
    except asyncio.CancelledError:
        launcher.cancel()
        raise

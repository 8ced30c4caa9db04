"""`grade_many(..., judges=JudgeProcesses(n))` (vsd_inspect/judge_processes.py): each grading
judged in a process of its own, with the verdict `grade_solution` gives for the same files and
seed; harness errors raised as in this process; a judge process that dies or an interrupted
batch leaves no process of its gradings behind.
"""

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from vsd_inspect import batch
from vsd_inspect.api import grade_solution, setup_task_files
from vsd_inspect.grader import pool
from vsd_inspect.grader.categories import HarnessError
from vsd_inspect.grader.jail import Limits
from vsd_inspect.judge_processes import JudgeProcesses

sys.path.insert(0, str(Path(__file__).parent))
from test_batch import (  # noqa: E402
    CORPUS_FAST,
    REFERENCE,
    SAMPLES,
    SLEEPER,
    _alive,
    _corpus_workspace,
    _sample_workspace,
    _scratch_left,
    check_a_missing_workspace,
    check_async_gradings,
    comparable,
)

pytestmark = pytest.mark.skipif(bool(pool.available()), reason=f"no warm pool here: {pool.available()}")


@pytest.fixture(scope="module")
def judges():
    with JudgeProcesses(2) as j:
        yield j


def _descendants(roots: list[int]) -> list[int]:
    """Every live process below `roots` (their zygotes, and the zygotes' children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = [], set(roots)
    while frontier:
        children = {pid for pid, ppid in parents.items() if ppid in frontier}
        found += sorted(children)
        frontier = children
    return found


def _judge_pids(judges: JudgeProcesses) -> list[int]:
    return [j.proc.pid for j in judges._all]


def _wait_for(predicate, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out")


def _at_least(n: int, pids: list[int]) -> list[int] | None:
    return pids if len(pids) >= n else None


def test_judge_processes_give_grade_solutions_verdicts(tmp_path, judges):
    items = [(_sample_workspace(tmp_path, s, w), s) for s in SAMPLES for w in ("reference", "starter")]
    items += [(_corpus_workspace(tmp_path, name), None) for name in CORPUS_FAST]
    seeds = [2000 + i for i in range(len(items))]
    judged = batch.grade_many([ws for ws, _ in items], sample=[s for _, s in items], seeds=seeds, workers=2, judges=judges)
    for (ws, sample), seed, result in zip(items, seeds, judged):
        assert comparable(result.verdict) == comparable(grade_solution(ws, seed=seed, sample=sample)), ws.name
    assert [r.reward for r in judged[: 2 * len(SAMPLES)]] == [1.0, 0.0] * len(SAMPLES)
    usage = judges.usage()  # the judge processes, their zygotes, the jailed processes reaped
    assert min(usage["judges"], usage["zygotes"], usage["jailed"]) > 0 and usage["faults"] >= 100 * len(items)


def test_grade_many_with_workers_judges_in_this_processs_judge_processes(tmp_path):
    ws = _sample_workspace(tmp_path, SAMPLES[0], "reference")
    import numpy as np

    results = batch.grade_many([ws, ws], seeds=[np.int64(1), 2], workers=2)  # a trainer's numpy seed too
    assert [r.reward for r in results] == [1.0, 1.0]
    judges = batch.default_judges(2)
    assert judges is not None and len(judges._all) == 2 and all(j.proc.poll() is None for j in judges._all)
    assert comparable(results[1].verdict) == comparable(grade_solution(ws, seed=2))


def test_harness_errors_are_raised_as_in_this_process(tmp_path, judges):
    ws = check_a_missing_workspace(tmp_path, judges=judges)
    # Too small a buffer for the outputs: the judge's own failure, after the worker started
    # (which is killed then, not left to its wall-time limit).
    tiny = Limits(file_bytes=4096, wall_seconds=300)
    started = time.monotonic()
    with pytest.raises(HarnessError) as here:
        batch.grade_many([ws], seeds=7, limits=tiny, pool=pool.WarmPool())
    with pytest.raises(HarnessError) as there:
        batch.grade_many([ws], seeds=7, limits=tiny, judges=judges)
    assert str(there.value) == str(here.value) and "the buffer has" in str(there.value)
    assert time.monotonic() - started < 60
    with pytest.raises(ValueError, match="unknown sample"):  # the error grade_solution raises
        batch.grade_many([ws], sample="no-such-sample", judges=judges)
    with pytest.raises(ValueError, match="not both"):
        batch.grade_many([ws], judges=judges, pool=pool.WarmPool())


def test_async_gradings_in_judge_processes(tmp_path, judges):
    check_async_gradings(tmp_path, judges=judges)


def test_a_judge_process_that_dies_takes_its_gradings_and_is_replaced(tmp_path):
    ws = tmp_path / "sleeper"
    setup_task_files(ws)
    (ws / "dropout.py").write_text(SLEEPER)
    with JudgeProcesses(1) as judges:
        judges.start()
        [judge_pid] = _judge_pids(judges)
        errors = []
        t = threading.Thread(target=lambda: errors.append(batch.grade_many([ws], judges=judges, return_exceptions=True)[0]))
        t.start()
        below = _wait_for(lambda: _at_least(4, _descendants([judge_pid])))  # 2 zygotes, 2 children
        os_kill(judge_pid)
        t.join(timeout=30)
        assert not t.is_alive() and isinstance(errors[0], HarnessError) and "a judge process died" in str(errors[0])
        _wait_for(lambda: not any(_alive(pid) for pid in below), seconds=10)
        reference = _sample_workspace(tmp_path, SAMPLES[0], "reference")
        assert batch.grade_many([reference], judges=judges)[0].reward == 1.0
        assert judges.restarts == 1 and _judge_pids(judges) != [judge_pid]


def test_a_late_cancel_leaves_the_next_grading_of_its_judge_process_alone(tmp_path):
    """A cancel sent for a grading that has just ended (the judge process has moved on to the
    next) names that grading, and the next one is graded to its end."""
    ws = tmp_path / "slow"
    setup_task_files(ws)
    (ws / "dropout.py").write_text("import time\ntime.sleep(1)\n" + REFERENCE)
    with JudgeProcesses(1) as judges:
        assert batch.grade_many([ws], judges=judges)[0].reward == 1.0  # the grading with id 1
        [judge] = judges._all
        results = []
        t = threading.Thread(target=lambda: results.extend(batch.grade_many([ws], judges=judges, return_exceptions=True)))
        t.start()
        _wait_for(lambda: _at_least(4, _descendants([judge.proc.pid])))  # the second one's processes
        judge.send({"op": "cancel", "id": 1})
        t.join(timeout=60)
        assert not isinstance(results[0], BaseException) and results[0].reward == 1.0


def os_kill(pid: int) -> None:
    import os

    os.kill(pid, signal.SIGKILL)


INTERRUPTED = r"""
import sys, threading, time
sys.path.insert(0, sys.argv[2])
from test_judge_processes import _descendants, _judge_pids
from vsd_inspect import batch
from vsd_inspect.judge_processes import JudgeProcesses

judges = JudgeProcesses(2)
judges.start()
def report():
    while True:
        below = _descendants(_judge_pids(judges))
        if len(below) >= 8:  # two zygotes and two children under each judge process
            print(" ".join(map(str, below)), flush=True)
            return
        time.sleep(0.01)
threading.Thread(target=report, daemon=True).start()
batch.grade_many([sys.argv[1], sys.argv[1]], workers=2, judges=judges)
"""


def test_an_interrupted_grade_many_kills_the_gradings_of_its_judge_processes(tmp_path):
    ws = tmp_path / "sleeper"
    setup_task_files(ws)
    (ws / "dropout.py").write_text(SLEEPER)
    before = _scratch_left()
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED, str(ws), str(Path(__file__).parent)], stdout=subprocess.PIPE, text=True
    )
    below = [int(pid) for pid in proc.stdout.readline().split()]
    assert len(below) >= 8
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) != 0
    assert time.monotonic() - started < 10  # not the 30 s the candidates sleep
    _wait_for(lambda: not any(_alive(pid) for pid in below), seconds=10)
    assert _wait_for(lambda: _scratch_left() - before == set(), seconds=10)

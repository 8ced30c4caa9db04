"""`grade_many` and `grade_solution_async` (vsd_inspect/batch.py): grade_solution's verdicts,
faster, with the trainer's contract.

Each grading of the warm pool must give the verdict `grade_solution` gives for the same files
and seed (every field but the timings, and the measured values of the one check that draws from
the OS, the layers built with `seed=None`), for passing and failing candidates of several
concepts and for the adversarial corpus; a cancelled grading must leave no process; a harness
failure must raise, never become a 0.
"""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import vsd_inspect
from vsd_inspect import batch
from vsd_inspect.api import grade_solution, setup_task_files
from vsd_inspect.constants import SEED_REFERENCE_FILE, TASK_VERSION
from vsd_inspect.grader import GRADER_VERSION, judge, pool
from vsd_inspect.grader.categories import HarnessError, PASSED
from vsd_inspect.samples import get as get_sample

sys.path.insert(0, str(Path(__file__).parent))
from test_corpus import CORPUS, _cases, _meta, _remove_deep_chain, _survivors, build_workspace  # noqa: E402
from test_pool import _wait_for_children  # noqa: E402

pytestmark = pytest.mark.skipif(bool(pool.available()), reason=f"no warm pool here: {pool.available()}")

REFERENCE = SEED_REFERENCE_FILE.read_text()
SLEEPER = "import time\ntime.sleep(30)\n" + REFERENCE
# One sample of each concept but the seed's, each graded with its reference and its starter.
SAMPLES = (
    "vsd-scale_mean-p-plain-standard",
    "channel-elementwise-p-helper-standard",
    "gaussian-keras_mean-p-plain-standard",
)
# Deterministic corpus cases of the seed's concept: fixes, wrong fixes, hacks, bad inputs.
CORPUS_FAST = (
    "wrong/keep_prob_p",
    "wrong/inplace_modify",
    "wrong/global_np_random_seeded",
    "hacks/detect_test_module",
    "hacks/correct_only_in_grader",
    "hacks/sys_exit_import",
    "hacks/segfault_forward",
    "hacks/forge_outputs_then_exit",
    "bad_input/syntax_error",
    "hacks/test_one_byte_changed",
)
TIMING = ("seconds",)


@pytest.fixture(scope="module")
def warm_pool():
    with pool.WarmPool() as p:
        yield p


def comparable(verdict: dict, measured: bool = True) -> dict:
    """A verdict without what differs between any two gradings of the same files and seed: its
    timings, the name of its fresh run directory, and the values measured on layers built with
    seed=None (drawn from the OS). measured=False, for candidates that draw from unseeded
    generators themselves: no measured value or figure either, and on the seed=None layers not
    whether a check passed (a wrong layer's own OS-drawn noise decides it: the corpus's
    drop_probability_wanders passes its defaults rate check or not). Those checks are then
    compared apart, by name (the verdict lists failures first, so where they stand depends on
    their outcome), and the failed count in the feedback counts the seeded checks alone."""
    v = json.loads(re.sub(r"/vsd-[a-z0-9_]{8}/", "/vsd-RUN/", json.dumps(verdict)))
    for key in TIMING:
        v.pop(key, None)
    v["worker"].pop("seconds", None)
    unseeded_failures = 0
    for check in v["checks"]:
        if check["case"] == "defaults" or not measured:
            check.pop("measured")
        if check["case"] == "defaults" and not measured:
            unseeded_failures += not check.pop("passed")
    if not measured:
        v.pop("figures")
        v["unseeded_checks"] = sorted((c for c in v["checks"] if c["case"] == "defaults"), key=lambda c: c["name"])
        v["checks"] = [c for c in v["checks"] if c["case"] != "defaults"]
        failed = re.fullmatch(r"(\d+) hidden check\(s\) failed, (first: .*)", v["feedback"] or "", re.S)
        if failed:
            v["feedback"] = f"{int(failed[1]) - unseeded_failures} seeded hidden check(s) failed, {failed[2]}"
    return v


def _sample_workspace(tmp_path: Path, sample: str, which: str) -> Path:
    s = get_sample(sample)
    ws = setup_task_files(tmp_path / f"{sample}-{which}", sample=sample)
    if which == "reference":
        (ws / "dropout.py").write_bytes(s.reference())
    return ws


def _corpus_workspace(tmp_path: Path, name: str) -> Path:
    ws = tmp_path / name.replace("/", "-")
    build_workspace(CORPUS / name, ws)
    return ws


def test_grade_many_gives_grade_solutions_verdicts(tmp_path, warm_pool):
    items = [(_sample_workspace(tmp_path, s, w), s) for s in SAMPLES for w in ("reference", "starter")]
    items += [(_corpus_workspace(tmp_path, name), None) for name in CORPUS_FAST]
    seeds = [1000 + i for i in range(len(items))]
    pooled = batch.grade_many([ws for ws, _ in items], sample=[s for _, s in items], seeds=seeds, pool=warm_pool)
    expected_rewards = []
    for (ws, sample), seed, result in zip(items, seeds, pooled):
        exec_verdict = grade_solution(ws, seed=seed, sample=sample)
        assert comparable(result.verdict) == comparable(exec_verdict), ws.name
        expected_rewards.append(exec_verdict["reward"])
    assert [r.reward for r in pooled] == expected_rewards
    assert expected_rewards[: 2 * len(SAMPLES)] == [1.0, 0.0] * len(SAMPLES)  # references pass, starters fail


@pytest.mark.slow
def test_grade_many_gives_grade_solutions_verdicts_on_the_whole_corpus(tmp_path, warm_pool):
    cases = [c for c in _cases() if not _meta(c).get("slow")]
    names = [f"{c.parent.name}/{c.name}" for c in cases]
    workspaces = [_corpus_workspace(tmp_path, n) for n in names]
    seeds = [2000 + i for i in range(len(names))]
    try:
        pooled = batch.grade_many(workspaces, seeds=seeds, pool=warm_pool)
        assert [n for n in names if _survivors(n.split("/")[1])] == []  # the pool's hacks left nothing running
        for name, ws, seed, result in zip(names, workspaces, seeds, pooled):
            # Measured values (and the figures) left out: some cases draw from unseeded generators.
            assert comparable(result.verdict, measured=False) == comparable(grade_solution(ws, seed=seed), measured=False), name
            assert result.category == _meta(CORPUS / name)["category"], name
    finally:
        for name, ws in zip(names, workspaces):
            for op in _meta(CORPUS / name).get("make") or []:
                if op["op"] == "deep_dirs":
                    _remove_deep_chain(ws / op["path"])


def test_the_same_files_and_seed_give_the_same_verdict(tmp_path, warm_pool):
    ws = _sample_workspace(tmp_path, SAMPLES[0], "reference")
    first, second = batch.grade_many([ws, ws], seeds=[7, 7], pool=warm_pool)
    assert comparable(first.verdict) == comparable(second.verdict)
    assert (first.seed, first.reward) == (7, 1.0)


def test_the_result_contract(tmp_path, warm_pool):
    passing = _sample_workspace(tmp_path, SAMPLES[0], "reference")
    failing = _sample_workspace(tmp_path, SAMPLES[0], "starter")
    good, bad = batch.grade_many([passing, failing], pool=warm_pool)
    for r, reward in ((good, 1.0), (bad, 0.0)):
        assert type(r.reward) is float and r.reward == reward and r.passed is (reward == 1.0)
        assert (r.grader_version, r.task_version, r.sample) == (GRADER_VERSION, TASK_VERSION, SAMPLES[0])
        assert r.seed == r.verdict["hidden_seed"] and isinstance(r.seed, int)
        assert r.metrics["checks"] == len(r.verdict["checks"])
        assert r.metrics["checks_failed"] == sum(not c["passed"] for c in r.verdict["checks"])
        assert set(r.to_dict()) == {"reward", "passed", "category", "feedback", "seed", "sample", "grader_version", "task_version", "metrics"}
    assert good.seed != bad.seed  # fresh seeds when none is given
    assert {k for k in good.metrics if not k.startswith("figure/")} == {
        "checks", "checks_failed", "visible_failed", "hidden_failed", "tampered", "grading_seconds", "worker_seconds"
    }
    assert good.metrics["checks_failed"] == 0.0
    assert (bad.category, bad.metrics["checks_failed"], bad.metrics["visible_failed"]) == ("no_sqrt", 1.0, 0.0)
    assert vsd_inspect.grade_many is batch.grade_many and vsd_inspect.GradeResult is batch.GradeResult


def test_a_reward_is_never_anything_but_zero_or_one():
    verdict = {"passed": True, "reward": 0.0, "category": PASSED, "feedback": "", "hidden_seed": 1, "sample": "s",
               "grader_version": GRADER_VERSION, "task_version": TASK_VERSION, "checks": []}
    with pytest.raises(HarnessError, match="not a 0/1 reward"):
        batch.GradeResult.from_verdict(verdict)
    with pytest.raises(HarnessError, match="not a 0/1 reward"):
        batch.GradeResult.from_verdict(verdict | {"passed": None, "reward": None})


def check_a_missing_workspace(tmp_path, **door) -> Path:
    """A missing workspace beside a passing one, on `door`: raised, or in its place with
    `return_exceptions`. Returns the passing workspace."""
    ws = _sample_workspace(tmp_path, SAMPLES[0], "reference")
    missing = tmp_path / "no-such-workspace"
    with pytest.raises(NotADirectoryError):
        batch.grade_many([ws, missing], **door)
    results = batch.grade_many([ws, missing], return_exceptions=True, **door)
    assert results[0].reward == 1.0 and isinstance(results[1], NotADirectoryError)
    return ws


def test_harness_errors_raise_or_take_their_place(tmp_path, warm_pool, monkeypatch):
    ws = check_a_missing_workspace(tmp_path, pool=warm_pool)
    monkeypatch.setattr(judge, "load_laws", lambda concept: (_ for _ in ()).throw(HarnessError("the laws are broken")))
    with pytest.raises(HarnessError, match="the laws are broken"):
        batch.grade_many([ws], pool=warm_pool)
    with pytest.raises(ValueError, match="seeds: 1 given for 2 workspaces"):
        batch.grade_many([ws, ws], seeds=[1], pool=warm_pool)


def test_a_lost_zygote_is_graded_again_from_a_new_one(tmp_path, warm_pool, monkeypatch):
    ws = tmp_path / "slow"
    setup_task_files(ws)
    (ws / "dropout.py").write_text("import time\ntime.sleep(2)\n" + REFERENCE)
    restarts = warm_pool.restarts
    results = []
    t = threading.Thread(target=lambda: results.extend(batch.grade_many([ws], seeds=[5], pool=warm_pool)))
    t.start()
    _wait_for_children(warm_pool, 2)
    os.kill(next(z for z in warm_pool.zygotes() if z.flags == ("-I", "-S")).pid, signal.SIGKILL)
    t.join(timeout=60)
    [result] = results
    assert (result.reward, result.seed) == (1.0, 5) and warm_pool.restarts == restarts + 1
    # Without a retry left, the loss is raised: a harness error, never a reward of 0.
    monkeypatch.setattr(batch, "RETRIES_AFTER_LOST_ZYGOTE", 0)
    errors = []
    t = threading.Thread(target=lambda: errors.append(batch.grade_many([ws], pool=warm_pool, return_exceptions=True)[0]))
    t.start()
    _wait_for_children(warm_pool, 2)
    os.kill(next(z for z in warm_pool.zygotes() if z.flags == ("-I", "-S")).pid, signal.SIGKILL)
    t.join(timeout=60)
    assert isinstance(errors[0], pool.ZygoteLost)


def check_async_gradings(tmp_path, **door) -> None:
    """A passing and a failing grading awaited together, on `door` (a pool, or judge
    processes): grade_solution's verdicts."""
    passing = _sample_workspace(tmp_path, SAMPLES[0], "reference")
    failing = _sample_workspace(tmp_path, SAMPLES[0], "starter")

    async def both():
        return await asyncio.gather(batch.grade_solution_async(passing, seed=3, **door), batch.grade_solution_async(failing, seed=4, **door))

    good, bad = asyncio.run(both())
    assert (good.reward, bad.reward) == (1.0, 0.0)
    assert comparable(good.verdict) == comparable(grade_solution(passing, seed=3))
    assert comparable(bad.verdict) == comparable(grade_solution(failing, seed=4))


def test_async_gradings_run_together_with_the_same_verdicts(tmp_path, warm_pool):
    check_async_gradings(tmp_path, pool=warm_pool)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.parametrize("delay", [0.0, 0.3], ids=["at-once", "later"])
@pytest.mark.parametrize("with_pool", [True, False], ids=["pool", "exec"])
def test_cancelling_an_async_grading_kills_its_processes(tmp_path, warm_pool, with_pool, delay, monkeypatch):
    ws = tmp_path / "sleeper"
    setup_task_files(ws)
    (ws / "dropout.py").write_text(SLEEPER)
    launchers = []

    class Recorded(pool.GradingLauncher):
        def __init__(self, *args) -> None:
            super().__init__(*args)
            launchers.append(self)

    monkeypatch.setattr(batch.warm, "GradingLauncher", Recorded)

    def pids() -> list[int]:
        found = []
        for launch in (l for launcher in launchers for l in launcher.launches):
            if isinstance(launch, pool.ForkLaunch):
                found.append(launch._proc.pid)
            elif launch._started is not None:
                found.append(launch._started[0].pid)
        return found

    async def cancel_it() -> float:
        task = asyncio.ensure_future(batch.grade_solution_async(ws, pool=warm_pool if with_pool else None))
        deadline = time.monotonic() + 30
        while len([p for p in pids() if _alive(p)]) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert len(pids()) == 2  # the worker and the user-run, both asleep at import
        await asyncio.sleep(delay)  # the worker waits for its inputs, or the judge waits for it
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        while any(_alive(p) for p in pids()) and time.monotonic() - started < 5:
            await asyncio.sleep(0.01)
        return time.monotonic() - started

    assert asyncio.run(cancel_it()) < 5
    assert [p for p in pids() if _alive(p)] == []
    if with_pool:
        assert [c for z in warm_pool.zygotes() for c in z.children() if _alive(c)] == []


INTERRUPTED = r"""
import signal, sys, threading, time
from pathlib import Path
from vsd_inspect import batch
from vsd_inspect.grader import pool

p = pool.WarmPool()
def report():
    while True:
        children = [c for z in p.zygotes() for c in z.children()]
        if len(children) >= 4:  # two gradings, a worker and a user-run each
            print(" ".join(map(str, children)), flush=True)
            if sys.argv[2] == "thread":  # as the kernel may deliver a Ctrl-C: to another thread
                signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            return
        time.sleep(0.01)
threading.Thread(target=report, daemon=True).start()
batch.grade_many([sys.argv[1], sys.argv[1]], workers=2, pool=p)
"""


def _scratch_left() -> set[str]:
    """The gradings' directories and scratch mounts on the memory-backed scratch space."""
    shm = Path(judge._SHM)
    dirs = {str(d) for d in shm.glob("vsd-*")} if shm.is_dir() else set()
    mounts = {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines() if "/vsd-" in line}
    return dirs | mounts


@pytest.mark.parametrize("to", ["process", "thread"])
def test_an_interrupted_grade_many_kills_its_gradings(tmp_path, to):
    """Ctrl-C, sent to the process or delivered to a thread other than the main one (the
    kernel's choice): the gradings are killed, and their directories and scratch mounts go
    before the process ends."""
    ws = tmp_path / "sleeper"
    setup_task_files(ws)
    (ws / "dropout.py").write_text(SLEEPER)
    before = _scratch_left()
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(ws), to], stdout=subprocess.PIPE, text=True)
    children = [int(pid) for pid in proc.stdout.readline().split()]
    assert len(children) == 4
    started = time.monotonic()
    if to == "process":
        proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) != 0
    assert _scratch_left() - before == set()
    assert time.monotonic() - started < 10  # not the 30 s the candidates sleep
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [pid for pid in children if _alive(pid)] == []

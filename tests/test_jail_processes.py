"""The jailed worker's processes (jail.py, namespaces.py): what it can signal, that nothing it
starts outlives its grading, its pids cgroup, its place as its namespace's init.

Run as `test_jail.py` runs: where the grader uses namespaces, with the worker exec'd and forked
from the warm pool's zygote (the fixtures and helpers are that module's).
"""

import errno
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from vsd_inspect.api import grade_solution
from vsd_inspect.grader import jail
from vsd_inspect.grader.categories import PASSED, TESTS_FAILED, TIMEOUT

sys.path.insert(0, str(Path(__file__).parent))
from test_jail import BUGGY, REFERENCE, _candidate, _grade, _isolated, _why_not, launcher, warm_pool  # noqa: E402, F401  (the fixtures)

pytestmark = pytest.mark.skipif(bool(_why_not()), reason=f"worker namespaces not in use here: {_why_not()}")


def _processes_with(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_killing_the_parent_or_the_judge_fails_and_the_judge_survives(workspace):
    judge_pid = os.getpid()
    body = f"""
import signal
probe('ppid', _os.getppid, safe=True)
probe('kill_parent', lambda: _os.kill(_os.getppid(), signal.SIGKILL))
probe('kill_judge', lambda: _os.kill({judge_pid}, signal.SIGKILL))
"""
    verdict, seen = _grade(workspace, _candidate(body, BUGGY))
    assert os.getpid() == judge_pid  # still here
    _isolated(verdict)
    assert verdict["category"] == TESTS_FAILED, verdict["feedback"]
    assert seen["ppid"] == {"ok": "0"}  # its parent is outside its PID namespace
    assert seen["kill_judge"]["error"] == "ProcessLookupError"  # no such pid in its namespace
    # kill(0, …) and kill(-1, …) reach only its own namespace, where its init ignores SIGKILL.
    assert seen["kill_parent"] == {"ok": "None"}


@pytest.mark.parametrize("with_cgroup", [True, False], ids=["pids-cgroup", "namespace-only"])
@pytest.mark.parametrize("worker_ends", ["exits", "killed-at-wall-limit"])
def test_no_process_outlives_the_grading(workspace, monkeypatch, with_cgroup, worker_ends):
    if not with_cgroup:
        monkeypatch.setattr(jail, "_PIDS_CGROUP_ROOTS", ())
    mark = f"vsd-jail-survivor-{os.getpid()}-{time.monotonic_ns()}"
    body = f"""
def _leave_cgroups():
    for line in open('/proc/self/mountinfo'):
        f = line.split()
        if f[f.index('-') + 1] in ('cgroup', 'cgroup2'):
            open(_os.path.join(f[4], 'cgroup.procs'), 'w').write(str(_os.getpid()))
if _JAILED and _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        try:
            _leave_cgroups()
        except BaseException:
            pass
        _os.execv(_sys.executable, [_sys.executable, '-I', '-S', '-c', 'import time; time.sleep(60)', {mark!r}])
    _os._exit(0)
if _JAILED:
    _os.wait()
probe('cgroup_files', lambda: _os.listdir('/sys/fs/cgroup'))
"""
    layer = BUGGY
    if worker_ends == "killed-at-wall-limit":
        layer = BUGGY.replace("    def forward(self, x):\n", "    def forward(self, x):\n        import time; time.sleep(60)\n")
    limits = jail.Limits(log_bytes=64 * 1024, wall_seconds=3.0 if worker_ends != "exits" else 30.0)
    verdict, seen = _grade(workspace, _candidate(body, layer), limits)
    _isolated(verdict)
    if not with_cgroup:
        assert "pids-cgroup" not in verdict["worker"]["limits"]
    assert verdict["category"] == (TESTS_FAILED if worker_ends == "exits" else TIMEOUT), verdict["feedback"]
    assert seen["cgroup_files"]["error"] == "FileNotFoundError"
    deadline = time.monotonic() + 2.0
    while _processes_with(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(mark) == []


def test_joining_the_cgroup_moves_the_process_and_its_children_count(tmp_path):
    """`join_cgroup` in a just-forked child (one thread, as in both launch paths): the
    process itself is in the grading's cgroup afterwards (listed in cgroup.procs, not only
    one of its threads), a child it forks is born there, and pids.max stops the next fork."""
    cgroup = jail._PidsCgroup(2)
    if cgroup.path is None:
        pytest.skip("no writable pids cgroup here (not root, or no pids controller)")
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            jail.join_cgroup(str(cgroup.path))
            child = os.fork()
            if child == 0:
                time.sleep(30)
                os._exit(0)
            try:
                os.fork()  # a third process in a cgroup of at most 2
                refused = "no"
            except OSError as ex:
                refused = str(ex.errno)
            os.write(ready_w, f"{child} {refused}".encode())
            time.sleep(30)
        finally:
            os._exit(0)
    try:
        child, refused = os.read(ready_r, 64).decode().split()
        procs = {int(p) for p in (cgroup.path / "cgroup.procs").read_text().split()}
        assert procs == {pid, int(child)}
        assert refused == str(errno.EAGAIN)
    finally:
        cgroup.kill_all()
        os.waitpid(pid, 0)
        os.close(ready_r)
        os.close(ready_w)
    assert not cgroup.path.exists()


def test_signal_to_the_worker_group_cannot_reach_the_reaper(workspace):
    """kill(0, SIGSTOP) from the worker must not stop the process the judge waits for."""
    body = "import signal\nprobe('stop_group', lambda: _os.kill(0, signal.SIGSTOP))\n"
    started = time.monotonic()
    verdict, _ = _grade(workspace, _candidate(body))
    assert verdict["category"] == PASSED, verdict["feedback"]
    assert time.monotonic() - started < 20


def test_the_worker_is_its_namespace_init(workspace):
    """As init it ignores the signals it sends itself that have the default action, but a
    crash still reads as a crash, with the signal that caused it."""
    forward = "    def forward(self, x):\n"
    layer = REFERENCE.replace(forward, forward + "        import os, signal; os.kill(os.getpid(), signal.SIGTERM)\n")
    verdict = grade_solution(workspace(layer), seed=1)
    _isolated(verdict)
    assert verdict["category"] == PASSED, verdict["feedback"]
    crash = REFERENCE.replace(forward, forward + "        import ctypes; ctypes.string_at(0)\n")
    verdict = grade_solution(workspace(crash), seed=1)
    assert verdict["category"] == "runtime_error", verdict["feedback"]
    assert verdict["worker"]["returncode"] == -signal.SIGSEGV

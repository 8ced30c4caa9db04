"""The warm pool (grader/pool.py, grader/zygote.py): a zygote's child is an exec'd child.

What a candidate can observe of its process is compared, fact by fact, between a child that
`jail.Launch` exec's and one that the pool forks from its zygote, both running the same probe
script with the same flags in the same jail; the ways a script can end (exit codes, tracebacks,
atexit hooks, finalizers, threads) likewise. Then what the pool adds: no byte of the judge's
secrets in a zygote or its child, a dead zygote restarted, a zygote that dies mid-grading a
HarnessError, every process gone after a grading. The jail's own probes (tests/test_jail.py)
run against pool-started workers too (that module runs each test with both launchers).
"""

import contextlib
import fcntl
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import vsd_inspect.concepts.vsd.laws as vsd_laws
from vsd_inspect.api import grade_solution
from vsd_inspect.constants import SEED_REFERENCE_FILE
from vsd_inspect.grader import jail, judge, namespaces, outbuf, plan as planning, pool
from vsd_inspect.grader.categories import HarnessError, PASSED

pytestmark = pytest.mark.skipif(bool(pool.available()), reason=f"no warm pool here: {pool.available()}")

NUMPY_PARENT = str(Path(np.__file__).resolve().parent.parent)
REFERENCE = SEED_REFERENCE_FILE.read_text()
NAMESPACES = namespaces._namespaces_reason() == ""
WORKER_FLAGS, USER_FLAGS = ("-I", "-S"), ("-E", "-s")
# Kept in this (the judge's) process only: a zygote is exec'd, so it must never hold it.
SECRET = f"vsd-judge-secret-{os.getpid()}-{time.monotonic_ns()}".encode()

# Everything of its process that a script can read, written to argv[1] as JSON.
PROBE = r'''
import sys
_MAIN_AT_START = sorted(vars(sys.modules["__main__"]))
import json, os, resource, signal, threading, atexit
if sys.flags.no_site:
    sys.path.append(sys.argv[1])
import numpy, numpy.random
m = sys.modules["__main__"]
status = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
umask = os.umask(0o22); os.umask(umask)
facts = {
    "argv": sys.argv, "orig_argv": sys.orig_argv, "path": sys.path[:-1] if sys.flags.no_site else sys.path,
    "flags": list(sys.flags), "executable": sys.executable,
    "main_at_start": _MAIN_AT_START,
    "main": {k: repr(getattr(m, k, "<absent>")) for k in ("__name__", "__file__", "__cached__", "__spec__", "__package__")},
    "loader": [type(m.__loader__).__name__, m.__loader__.name, m.__loader__.path],
    "cwd": os.getcwd(), "environ": dict(os.environ), "umask": umask, "nice": os.nice(0),
    "session_leader": os.getsid(0) == os.getpid(), "group_leader": os.getpgrp() == os.getpid(),
    "pid_ppid": [os.getpid(), os.getppid()] if os.getpid() == 1 else "host",
    "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), sorted(os.getgroups())],
    "fds": sorted(os.listdir("/proc/self/fd")),
    "signals": {s.name: repr(signal.getsignal(s)) for s in signal.valid_signals() if isinstance(s, signal.Signals)},
    "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    "rlimits": {n: resource.getrlimit(getattr(resource, n)) for n in dir(resource) if n.startswith("RLIMIT_")},
    "status": {k: status.get(k) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Threads")},
    "threads": [threading.active_count(), threading.current_thread() is threading.main_thread()],
    "atexit": atexit._ncallbacks(),
    "stdio": [[getattr(s, "encoding", None), getattr(s, "errors", None), getattr(s, "line_buffering", None), s.isatty()]
              for s in (sys.stdin, sys.stdout, sys.stderr)],
    "modules": sorted(sys.modules),
    "legacy_random": int(numpy.random.mtrand._rand.get_state()[1][1]),
}
with open(os.path.join(sys.argv[2], "probe.json"), "w") as f:
    json.dump(facts, f)
'''
# Known differences, by design (zygote.py): the legacy generator's state is drawn per child.
DIFFERENT = {"legacy_random"}


@pytest.fixture(scope="module")
def warm_pool():
    with pool.WarmPool() as p:
        yield p


def _layout(tmp_path: Path, source: str) -> tuple[Path, Path]:
    run = tmp_path / "run"
    (run / "work").mkdir(parents=True, exist_ok=True)
    (run / "io").mkdir(exist_ok=True)
    (run / "work" / "main.py").write_text(source)
    return run / "work", run / "io"


def _launch(warm_pool, how: str, flags, source: str, tmp_path: Path, args=(), pass_fds=()):
    """Run `source` as `python FLAGS main.py ARGS` in the jail, exec'd or forked; the result."""
    work, io = _layout(tmp_path, source)
    cmd = [sys.executable, *flags, str(work / "main.py"), *args]
    limits = jail.Limits()
    if how == "exec":
        launch = jail.Launch(cmd, work, limits, [io], pass_fds=pass_fds)
    else:
        launch = pool.ForkLaunch(warm_pool.zygote(sys.executable, tuple(flags)), cmd, work, limits, [io], pass_fds=pass_fds)
    t0 = time.monotonic()
    proc = launch.process()
    proc.stdin.close()
    result = launch.finish(t0)
    return result, launch.applied, io


@pytest.mark.parametrize("flags", [WORKER_FLAGS, USER_FLAGS], ids=["worker-flags", "user-run-flags"])
def test_a_zygote_child_sees_what_an_exec_child_sees(warm_pool, tmp_path, flags):
    seen = {}
    for how in ("exec", "fork", "fork again"):
        result, applied, io = _launch(warm_pool, how, flags, PROBE, tmp_path, [NUMPY_PARENT, str(tmp_path / "run" / "io")])
        assert result.returncode == 0, how
        seen[how] = (json.loads((io / "probe.json").read_text()), applied)
        (io / "probe.json").unlink()
    exec_facts, exec_applied = seen["exec"]
    fork_facts, fork_applied = seen["fork"]
    assert fork_applied == exec_applied
    for key in exec_facts:
        if key not in DIFFERENT:
            assert fork_facts[key] == exec_facts[key], key
    # Each child draws its own legacy generator state, as a fresh interpreter does.
    assert len({exec_facts["legacy_random"], fork_facts["legacy_random"], seen["fork again"][0]["legacy_random"]}) == 3
    assert fork_facts["fds"] == ["0", "1", "2", "3"]  # the three streams and the listing itself
    if NAMESPACES:
        assert fork_facts["pid_ppid"] == [1, 0]
        assert fork_facts["status"]["CapEff"] == "0000000000000000" and fork_facts["status"]["NoNewPrivs"] == "1"
        assert set(fork_applied) >= {"pid-namespace", "minimal-root", "no-capabilities", "pids-cgroup"}


FD_PROBE = r'''
import os, sys
fd = int(sys.argv[1])
os.pwrite(fd, sys.argv[2].encode(), 0)
fds = sorted(os.listdir("/proc/self/fd"))
open(os.path.join(sys.argv[3], "fds"), "w").write(" ".join(fds))
'''


@pytest.mark.parametrize("low", [False, True], ids=["its-own-number", "a-low-number"])
def test_a_passed_descriptor_arrives_at_its_number_and_nothing_else_does(warm_pool, tmp_path, low):
    """The worker's output buffer, exec'd or forked: open at the judge's number (a low one may be
    one the zygote's child holds other descriptors at until then), writable, the only extra."""
    listings = {}
    for how in ("exec", "fork"):
        buffer = outbuf.OutputBuffer(4096)
        fd = buffer.fd
        if low:  # the lowest free number: where the zygote received the child's pipes
            fd = fcntl.fcntl(buffer.fd, fcntl.F_DUPFD_CLOEXEC, 3)
        try:
            io = tmp_path / "run" / "io"
            result, _, _ = _launch(warm_pool, how, WORKER_FLAGS, FD_PROBE, tmp_path, [str(fd), how, str(io)], (fd,))
            assert result.returncode == 0, how
            assert buffer.read(0, len(how)) == how.encode()
            listings[how] = (io / "fds").read_text().split()
        finally:
            if fd != buffer.fd:
                os.close(fd)
            buffer.close()
        # The three streams, the descriptor passed and the listing's own: nothing else.
        assert {"0", "1", "2", str(fd)} < set(listings[how]) and len(listings[how]) == 5, listings
    assert listings["exec"] == listings["fork"]


# How a script can end, and what an exec'd child leaves behind for each: its exit status, its
# stderr, and the files its hooks and finalizers wrote.
ENDINGS = {
    "falls_off_the_end": "print('out')",
    "sys_exit_code": "raise SystemExit(3)",
    "sys_exit_message": "import sys; sys.exit('no good')",
    "uncaught_error": "def f():\n    raise ValueError('boom')\nf()",
    "keyboard_interrupt": "raise KeyboardInterrupt",
    "os_exit": "import os; os._exit(7)",
    "atexit_hook": "import atexit\natexit.register(lambda: open(OUT + '/atexit', 'w').write('ran'))",
    "finalizer_of_a_global": "class D:\n    def __del__(self):\n        open(OUT + '/del', 'w').write('ran')\nd = D()",
    "non_daemon_thread": "import threading, time\ndef w():\n    time.sleep(0.2); open(OUT + '/thread', 'w').write('ran')\n"
    "threading.Thread(target=w).start()",
    "syntax_error": "def (:",
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_a_script_ends_as_it_ends_when_exec_d(warm_pool, tmp_path, ending):
    io = tmp_path / "run" / "io"
    prelude = f"import os\nOUT = {str(io)!r}\nos.dup2(os.open(OUT + '/stderr', os.O_WRONLY | os.O_CREAT, 0o644), 2)\n"
    outcomes = {}
    for how in ("exec", "fork"):
        result, _, io = _launch(warm_pool, how, USER_FLAGS, prelude + ENDINGS[ending], tmp_path)
        files = {p.name: re.sub("0x[0-9a-f]+", "0x…", p.read_text().replace(str(tmp_path), "TMP")) for p in sorted(io.iterdir())}
        for p in io.iterdir():
            p.unlink()
        outcomes[how] = (result.returncode, files)
    assert outcomes["fork"] == outcomes["exec"]


def _memory(pid: int) -> list[bytes]:
    """Every readable mapping of a process (as root: /proc/PID/mem)."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except (OSError, OverflowError, ValueError):
                pass
    return chunks


def _holds(pid: int, needle: bytes) -> bool:
    return any(needle in chunk for chunk in _memory(pid))


@pytest.mark.skipif(os.geteuid() != 0, reason="reading another process's memory needs root")
def test_no_secret_of_the_judge_reaches_a_zygote_or_its_child(warm_pool, workspace):
    laws_text = vsd_laws.__doc__.strip().splitlines()[0].encode()  # in this process: it graded with them
    seed = 12345
    hidden = planning.build(vsd_laws, "p", seed)
    hidden_bytes = next(iter(hidden.inputs.values())).tobytes()[64:128]
    with judge.use_launcher(warm_pool.launcher()):
        assert grade_solution(workspace(REFERENCE), seed=seed)["category"] == PASSED
    assert _holds(os.getpid(), SECRET) and _holds(os.getpid(), laws_text)  # the search finds what is there
    # A candidate that waits at import, so that its process can be searched while it runs.
    waiting = "import time\ntime.sleep(3)\n" + REFERENCE
    done = []
    t = threading.Thread(target=lambda: done.append(grade_solution_pooled(warm_pool, workspace(waiting))))
    t.start()
    children = _wait_for_children(warm_pool)
    for zygote in warm_pool.zygotes():
        for needle in (SECRET, laws_text, hidden_bytes):
            assert not _holds(zygote.pid, needle), (zygote.flags, needle[:40])
    for pid in children:
        assert _holds(pid, b"time.sleep(3)")  # its own code is there to be found
        for needle in (SECRET, laws_text, hidden_bytes):
            assert not _holds(pid, needle), needle[:40]
    t.join()
    assert done[0]["category"] == PASSED


def grade_solution_pooled(warm_pool, ws: Path, **kw) -> dict:
    with judge.use_launcher(warm_pool.launcher()):
        return grade_solution(ws, **kw)


def _wait_for_children(warm_pool, count: int = 1, seconds: float = 20.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        children = [pid for z in warm_pool.zygotes() for pid in z.children()]
        if len(children) >= count:
            return children
        time.sleep(0.01)
    raise AssertionError(f"fewer than {count} children of the pool's zygotes appeared")


def _wait_no_children(warm_pool, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while True:
        children = [pid for z in warm_pool.zygotes() for pid in z.children()]
        if not children or time.monotonic() > deadline:
            return children
        time.sleep(0.01)


def test_a_dead_zygote_is_replaced_on_the_next_start(warm_pool, workspace):
    assert grade_solution_pooled(warm_pool, workspace(REFERENCE), seed=1)["category"] == PASSED
    old = {z.flags: z.pid for z in warm_pool.zygotes()}
    restarts = warm_pool.restarts
    for z in warm_pool.zygotes():
        os.kill(z.pid, signal.SIGKILL)
        z.proc.wait()
    assert grade_solution_pooled(warm_pool, workspace(REFERENCE), seed=1)["category"] == PASSED
    new = {z.flags: z.pid for z in warm_pool.zygotes()}
    assert new.keys() == old.keys() and not set(new.values()) & set(old.values())
    assert warm_pool.restarts == restarts + 2


def test_a_zygote_that_dies_during_a_grading_raises_and_leaves_nothing(warm_pool, workspace):
    ws = workspace("import time\ntime.sleep(30)\n" + REFERENCE)
    errors = []

    def grade() -> None:
        try:
            grade_solution_pooled(warm_pool, ws, seed=1)
        except HarnessError as ex:
            errors.append(ex)

    t = threading.Thread(target=grade)
    t.start()
    _wait_for_children(warm_pool, 2)  # the worker and the user-run, both asleep at import
    worker_zygote = next(z for z in warm_pool.zygotes() if z.flags == WORKER_FLAGS)
    [child] = worker_zygote.children()
    os.kill(worker_zygote.pid, signal.SIGKILL)
    t.join(timeout=10)  # at once: the user-run, asleep for 30 s, is killed, not waited for
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], pool.ZygoteLost), errors
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not Path(f"/proc/{child}").exists() or Path(f"/proc/{child}/status").read_text().count("zombie")
    assert grade_solution_pooled(warm_pool, workspace(REFERENCE), seed=1)["category"] == PASSED  # and it came back


def test_a_grading_leaves_no_child_no_cgroup_and_no_directory(warm_pool, workspace, monkeypatch):
    runs = []
    made = judge._run_directory

    @contextlib.contextmanager
    def recorded():
        with made() as run:
            runs.append(run)
            yield run

    monkeypatch.setattr(judge, "_run_directory", recorded)
    hog = REFERENCE.replace(
        "    def forward(self, x):\n",
        "    def forward(self, x):\n        import os, time\n        if os.fork() == 0:\n            time.sleep(60)\n",
    )
    verdict = grade_solution_pooled(warm_pool, workspace(hog), seed=1, limits=jail.Limits(wall_seconds=5.0))
    assert verdict["category"] == "runtime_error", verdict["feedback"]  # its forks ran out of pids
    assert _wait_no_children(warm_pool) == []
    done = threading.Event()
    warm_pool.defer(done.set)  # the cleaner runs in order: once this ran, so did the removal
    assert done.wait(10)
    [run] = runs
    assert not run.exists()
    assert not any(str(run) in line for line in Path("/proc/self/mountinfo").read_text().splitlines())
    cgroups = [p for root in jail._PIDS_CGROUP_ROOTS if root.is_dir() for p in root.glob(f"vsd-grade-{os.getpid()}-*")]
    assert cgroups == []


def test_a_child_is_never_reaped_before_the_judge_asks(warm_pool, tmp_path):
    work, io = _layout(tmp_path, "pass\n")
    cmd = [sys.executable, *USER_FLAGS, str(work / "main.py")]
    launch = pool.ForkLaunch(warm_pool.zygote(sys.executable, USER_FLAGS), cmd, work, jail.Limits(), [io])
    proc = launch.process()
    time.sleep(0.3)  # it has exited by now, and stays a zombie of the zygote: its pid is still its own
    assert proc.pid in launch._proc.zygote.children()
    assert Path(f"/proc/{proc.pid}").exists()
    result = launch.finish(time.monotonic())
    assert result.returncode == 0 and proc.pid not in launch._proc.zygote.children()


def test_split_command_takes_only_python_flags_and_a_script():
    assert pool.split_command(["/usr/bin/python3", "-I", "-S", "m.py", "a", "-b"]) == ("/usr/bin/python3", ("-I", "-S"), ["m.py", "a", "-b"])
    for bad in (["python3", "m.py"], ["/usr/bin/python3", "-c", "pass"], ["/usr/bin/python3", "-m", "x"], ["/usr/bin/python3", "-I"]):
        with pytest.raises(ValueError):
            pool.split_command(bad)


def test_a_pool_refuses_a_forked_copy_of_its_process(warm_pool):
    warm_pool.zygote(sys.executable, USER_FLAGS)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            warm_pool.zygote(sys.executable, USER_FLAGS)
            os.write(w, b"served")
        except HarnessError as ex:
            os.write(w, str(ex).encode())
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    assert os.read(r, 200) == b"a warm pool was used from a forked copy of the process that made it"
    assert warm_pool.zygote(sys.executable, USER_FLAGS).alive()

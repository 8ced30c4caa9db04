"""Run the candidate's worker with every resource bounded, and kill all it started.

Limits: wall time (judge-side), CPU seconds, address space, file size, open files and
process count (RLIMIT_NPROC, which the kernel enforces for non-root users; when the judge
runs as root on a host with a writable `pids` cgroup, a per-grading cgroup enforces it and
its members are all killed at the end, even those that left the process group).
The environment is scrubbed and the interpreter runs in isolated mode (-I).

Namespaces (Linux, the judge running as root): the worker also runs in its own PID, mount,
network, IPC, UTS and cgroup namespaces on a minimal read-only root with no capability
(`namespaces.py`, which says what each gives); `start()` lists what was applied either way.
"""

import os
import resource
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import namespaces as ns
from .categories import HarnessError

_PIDS_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))



@dataclass(frozen=True)
class Limits:
    """Bounds on one worker run. Defaults fit the hidden checks with a wide margin."""

    wall_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 128 * 1024**2
    open_files: int = 64
    processes: int = 64
    log_bytes: int = 4096  # how much of the candidate's stdout/stderr the verdict quotes


@dataclass
class RunResult:
    returncode: int | None  # None: killed at the wall-time limit
    timed_out: bool
    cpu_exceeded: bool
    seconds: float
    limits_applied: list[str] = field(default_factory=list)
    cpu_seconds: float | None = None  # known for a zygote's child (its zygote reaps it), else None


def scrubbed_env() -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }
    # Kept only because some processors need them for numpy's BLAS to work at all.
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def join_cgroup(path: str | None) -> None:
    """In the child, before the program runs: move this process into the grading's cgroup.

    On cgroup v1 through `tasks`, which moves the calling thread: the child has just been
    forked, so that thread is the whole process, and its children are born in the cgroup.
    Writing `cgroup.procs` moves a thread group, for which the kernel takes the global
    threadgroup lock and waits for an RCU grace period (about 10 ms here, asleep, holding
    the cgroup mutex every other grading's mkdir, join and rmdir then wait for); a single
    thread that moves itself needs no such lock (kernel/cgroup/cgroup.c,
    `cgroup_procs_write_start`). Cgroup v2 has no `tasks` file: `cgroup.procs` there."""
    if path is None:
        return
    try:
        f = open(os.path.join(path, "tasks"), "w")
    except FileNotFoundError:
        f = open(os.path.join(path, "cgroup.procs"), "w")
    with f:
        f.write("0")


class _PidsCgroup:
    """A throwaway pids cgroup (v1 or v2), used only when running as root."""

    def __init__(self, limit: int) -> None:
        self.path: Path | None = None
        if os.geteuid() != 0:
            return
        for root in _PIDS_CGROUP_ROOTS:
            if (root / "cgroup.procs").exists() and os.access(root, os.W_OK):
                path = root / f"vsd-grade-{os.getpid()}-{time.monotonic_ns()}"
                try:
                    path.mkdir()
                    (path / "pids.max").write_text(str(limit))
                    self.path = path
                    return
                except OSError:
                    try:
                        path.rmdir()
                    except OSError:
                        pass


    def kill_all(self) -> None:
        if self.path is None:
            return
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                break
            if not pids:
                break
            alive = False
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    alive = True
                except ProcessLookupError:
                    pass  # already gone: the kernel drops it from the list in a moment
            time.sleep(0.01 if alive else 0.001)
        try:
            self.path.rmdir()
        except OSError:
            pass


# ---------------------------------------------------------------- start and finish


def prepare(
    cmd: list[str], cwd: Path, limits: Limits, writable: list[Path] | None = None
) -> tuple[_PidsCgroup, ns._Plan | None, list[str]]:
    """The judge's side of a start, whichever way the child begins (exec here, a fork of the
    warm pool's zygote in `pool.py`): the grading's pids cgroup, the namespaces' plan (None
    when they are not used) and the measures applied so far.

    writable: the directories the worker may write (default: the `io` directory beside
    `cwd` when there is one, else `cwd`); they matter only in namespaces, where nothing
    else is writable.
    """
    cgroup = _PidsCgroup(limits.processes)
    applied = ["wall", "cpu", "address-space", "file-size", "open-files", "nproc"]
    if cgroup.path is not None:
        applied.append("pids-cgroup")
    if writable is None:
        io_dir = Path(cwd).parent / "io"
        writable = [io_dir] if io_dir.is_dir() else [Path(cwd)]
    plan = None
    if ns._namespaces_reason() == "":
        try:
            plan = ns._plan(cmd, Path(cwd), writable)
        except (OSError, ValueError):
            plan = None
    return cgroup, plan, applied


def enter(
    cgroup_path: str | None, plan: ns._Plan | None, report: int, limits: Limits, niceness: int = 0, as_init: bool = False
) -> None:
    """The child's side, after fork and before the program runs (exec's `preexec_fn`, or a
    zygote's child before it runs the script in place): join the grading's pids cgroup, enter
    the namespaces (reporting on `report`; `as_init`: see `namespaces._enter_namespaces`), set every
    limit, lower the priority."""
    join_cgroup(cgroup_path)
    if plan is not None:
        ns._enter_namespaces(plan, report, limits.cpu_seconds, as_init)
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if niceness:
        os.nice(niceness)


def note_report(why: str, plan: ns._Plan | None, applied: list[str]) -> None:
    """What the child said about the namespaces, once it has started: the measures it
    applied, or, on a refusal, that the next gradings should not try again."""
    if plan is None:
        return
    if why == "ok":
        applied += ns._NS_APPLIED
    else:
        ns._ns_unavailable = why or "no report"  # the same refusal would come every time


def note_failed_start(why: str) -> None:
    """A child that could not start, with what it said about the namespaces: the next
    gradings fall back rather than fail the same way."""
    if why:
        ns._ns_unavailable = why


def start(
    cmd: list[str],
    cwd: Path,
    limits: Limits,
    writable: list[Path] | None = None,
    niceness: int = 0,
    pass_fds: tuple[int, ...] = (),
) -> tuple[subprocess.Popen, _PidsCgroup, list[str]]:
    """Start the worker in its own session with every limit set before exec.

    writable: as in `prepare`. niceness: a lower scheduling priority, for a process that is
    not on the grading's critical path. pass_fds: descriptors the process keeps (at the same
    numbers), as Popen's: the worker's output buffer.
    """
    cgroup, plan, applied = prepare(cmd, cwd, limits, writable)
    report_r, report_w = os.pipe() if plan is not None else (-1, -1)
    cgroup_path = None if cgroup.path is None else str(cgroup.path)

    def before_exec() -> None:
        enter(cgroup_path, plan, report_w, limits, niceness)

    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=scrubbed_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=before_exec,
            close_fds=True,
            pass_fds=pass_fds,
        )
    except (OSError, subprocess.SubprocessError) as ex:
        cgroup.kill_all()
        why = _read_report(report_r, report_w)
        note_failed_start(why)
        raise HarnessError(f"the worker could not be started: {ex} {why}".strip()) from ex
    if plan is not None:
        note_report(_read_report(report_r, report_w), plan, applied)
    return proc, cgroup, applied


class Launch:
    """`start()` on a thread of its own. A start waits until the child has entered its
    namespaces and its pids cgroup (joining a cgroup v1 waits ~10 ms on the kernel), so two
    launches wait at the same time, and the judge meanwhile imports numpy and draws the
    inputs. The child runs no code that imports anything between fork and exec.

    The thread lives until `finish()`: the child's parent-death signal fires when the
    thread that started it ends, not the process."""

    def __init__(
        self,
        cmd: list[str],
        cwd: Path,
        limits: Limits,
        writable: list[Path] | None = None,
        niceness: int = 0,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        self.limits = limits
        self.applied: list[str] = []
        self._started: tuple[subprocess.Popen, _PidsCgroup, list[str]] | None = None
        self._error: BaseException | None = None
        self._ready, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, args=(cmd, cwd, writable, niceness, pass_fds), daemon=True)
        self._thread.start()

    def _run(self, cmd: list[str], cwd: Path, writable: list[Path] | None, niceness: int, pass_fds: tuple[int, ...]) -> None:
        try:
            self._started = start(cmd, cwd, self.limits, writable, niceness, pass_fds)
            self.applied = self._started[2]
        except BaseException as ex:
            self._error = ex
        self._ready.set()
        self._release.wait()

    def process(self) -> subprocess.Popen:
        """The running process, once started; raises what the start raised."""
        self._ready.wait()
        if self._started is None:
            raise self._error or HarnessError("a grading process could not be started")
        return self._started[0]

    def kill(self) -> None:
        """Kill the process, its group and its cgroup now, or as soon as it has started (a
        cancelled grading); `finish` still reaps it."""

        def kill_when_started() -> None:
            self._ready.wait()
            if self._started is not None and self._started[0].returncode is None:  # not reaped yet
                proc, cgroup, _ = self._started
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                cgroup.kill_all()

        if self._ready.is_set():
            kill_when_started()
        else:
            threading.Thread(target=kill_when_started, daemon=True).start()

    def finish(self, started: float, wait: bool = True) -> RunResult | None:
        """`finish()` the process (None when it never started)."""
        self._ready.wait()
        try:
            if self._started is None:
                return None
            proc, cgroup, _ = self._started
            return finish(proc, cgroup, self.limits, started, wait)
        finally:
            self._release.set()
            self._thread.join()


def _read_report(r: int, w: int) -> str:
    """What the child said about the namespaces. It writes before it execs (or fails), which
    Popen waits for, so the report is complete by now: read without waiting for an end of
    file that a process forked meanwhile by another thread of the judge could delay."""
    if r < 0:
        return ""
    os.close(w)
    os.set_blocking(r, False)
    chunks = []
    try:
        while chunk := os.read(r, 4096):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    finally:
        os.close(r)
    return b"".join(chunks).decode("utf-8", "replace")


def _wait_exit(proc: subprocess.Popen, seconds: float) -> bool:
    """True when the process exited within `seconds`. A pidfd wakes us the moment it exits;
    Popen.wait(timeout) polls with sleeps of up to 50 ms, which a grading would pay twice."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        ready, _, _ = select.select([fd], [], [], seconds)
    finally:
        os.close(fd)
    return bool(ready) or proc.poll() is not None


def finish(
    proc: subprocess.Popen,
    cgroup: _PidsCgroup,
    limits: Limits,
    started: float,
    wait: bool = True,
) -> RunResult:
    """Wait for the worker up to the wall limit (not at all when `wait` is False), then kill
    its whole group and cgroup.
    Interrupted while waiting (a SIGTERM made SystemExit, a KeyboardInterrupt), it still kills
    them before the interruption goes on."""
    try:
        left = max(0.0, limits.wall_seconds - (time.monotonic() - started))
        timed_out = wait and not _wait_exit(proc, left)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        cgroup.kill_all()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
    rc = proc.returncode
    cpu = rc is not None and rc < 0 and -rc in (signal.SIGXCPU, signal.SIGKILL) and not timed_out
    return RunResult(
        returncode=None if timed_out else rc,
        timed_out=timed_out,
        cpu_exceeded=cpu and -rc == signal.SIGXCPU,
        seconds=time.monotonic() - started,
    )

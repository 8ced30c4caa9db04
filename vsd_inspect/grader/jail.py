"""Run the candidate's worker with every resource bounded, and kill all it started.

Limits: wall time (judge-side), CPU seconds, address space, file size, open files and
process count (RLIMIT_NPROC, which the kernel enforces for non-root users; when the judge
runs as root on a host with a writable `pids` cgroup, a per-grading cgroup enforces it and
its members are all killed at the end, even those that left the process group).
The environment is scrubbed and the interpreter runs in isolated mode (-I).
"""

import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

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

    def join(self) -> None:
        """Called in the child before exec."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text("0")

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
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        try:
            self.path.rmdir()
        except OSError:
            pass


def start(cmd: list[str], cwd: Path, limits: Limits) -> tuple[subprocess.Popen, _PidsCgroup, list[str]]:
    """Start the worker in its own session with every limit set before exec."""
    cgroup = _PidsCgroup(limits.processes)
    applied = ["wall", "cpu", "address-space", "file-size", "open-files", "nproc"]
    if cgroup.path is not None:
        applied.append("pids-cgroup")

    def before_exec() -> None:
        cgroup.join()
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

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
    )
    return proc, cgroup, applied


def finish(proc: subprocess.Popen, cgroup: _PidsCgroup, limits: Limits, started: float) -> RunResult:
    """Wait for the worker up to the wall limit, then kill its whole group and cgroup."""
    timed_out = False
    try:
        proc.wait(timeout=max(0.0, limits.wall_seconds - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        timed_out = True
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

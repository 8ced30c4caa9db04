"""The warm pool: gradings whose jailed processes fork from a zygote instead of exec'ing.

A grading starts two jailed processes, the worker (`python -I -S main.py ...`) and the visible
test as a user runs it (`python -E -s test_dropout.py ...`). Exec'd, each pays for an
interpreter's start and numpy's import (~0.1 s of CPU each, most of a grading's cost). A
`WarmPool` keeps one zygote per interpreter and flags (`zygote.py`): a long-lived process that
has imported json and numpy and nothing of any candidate's or of the judge's. For each start
the judge prepares exactly what `jail.start` prepares (the grading's pids cgroup, the plan of
the minimal root, the pipes), and the zygote forks a fresh child that enters the same jail
(`jail.enter`) and runs the same script in place. The judge then treats that child as it
treats an exec'd one (`jail.finish`: the wall-time limit, the kill of its process group and
cgroup, the verdict read from its files), so verdicts and seeds are those of the exec path.

    pool = WarmPool()
    with judge.use_launcher(pool.launcher()):
        verdict = api.grade_solution(workspace)     # the same verdict as without the pool
    pool.close()

What stays as it was, per candidate: a fresh process for each jailed run (never reused), its
own session, pids cgroup, namespaces, minimal read-only root, limits, scrubbed environment and
no capability; the judge never imports the candidate; every process of a grading is killed
when it ends, is interrupted or is cancelled (`GradingLauncher.cancel`). What changes: the
child's parent is the zygote, not the judge, so its exit status comes from the zygote, which
reaps a child only once the judge asks (its pid and process group stay its own until then). A
zygote that dies takes its children with it (their parent-death signal); a grading that had
one there raises `ZygoteLost`, a HarnessError (never a 0 reward), and the next start brings up
a new zygote. A grading's directory is removed, and its output buffer cleared for the next
grading (`outbuf.py`), by the pool's cleaner thread after its verdict (`defer`), off the
grading's critical path; closing the pool, which happens at the latest when the process exits,
finishes every deferred cleanup, so that no directory or scratch mount outlives it. The
judge's own process gets glibc thresholds that reuse its ~40 MB of buffers from one grading to
the next (`tune_judge_malloc`; `WarmPool(tune_malloc=False)` keeps the defaults).

Linux only (fork, pidfds, file descriptors passed over a unix socket); `available()` says
whether this host can use it. A pool belongs to the process that made it: a forked copy of
that process (multiprocessing's "fork") gets an error, not a share of its zygotes.
"""

import atexit
import os
import queue
import signal
import socket
import threading
from pathlib import Path

from . import jail, outbuf
from .categories import HarnessError
from .forklaunch import ForkLaunch, Zygote, ZygoteLost, split_command  # noqa: F401  (the pool's interface)

MAX_DEFERRED_CLEANUPS = 8  # run directories waiting to be removed before a grading removes its own
MAX_FREE_BUFFERS = 4  # cleared output buffers kept for the next gradings


def available() -> str:
    """Why this host cannot run a warm pool ("" when it can)."""
    if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
        return "no fork or no file-descriptor passing on this platform"
    if not hasattr(os, "pidfd_open") or not hasattr(signal, "pidfd_send_signal"):
        return "no pidfd support in this Python"
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError as ex:
        return f"the kernel has no pidfd_open ({ex.strerror})"
    return ""


class GradingLauncher:
    """The launcher of one grading (`judge.use_launcher`): starts its processes from the pool's
    zygotes (or exec's them, as `jail.Launch`, without a pool) and can kill them all at once
    (`cancel`), from any thread."""

    def __init__(self, pool: "WarmPool | None") -> None:
        self.pool = pool
        self.launches: list = []
        self._lock = threading.Lock()
        self.cancelled = False

    def __call__(
        self,
        cmd: list[str],
        cwd: Path,
        limits: jail.Limits,
        writable: list[Path] | None = None,
        niceness: int = 0,
        pass_fds: tuple[int, ...] = (),
    ):
        with self._lock:
            if self.cancelled:
                raise HarnessError("the grading was cancelled")
        if self.pool is None:
            launch = jail.Launch(cmd, cwd, limits, writable, niceness, pass_fds)
        else:
            python, flags, _ = split_command(cmd)
            launch = ForkLaunch(self.pool.zygote(python, flags), cmd, cwd, limits, writable, niceness, pass_fds)
        with self._lock:
            self.launches.append(launch)
            cancelled = self.cancelled
        if cancelled:  # cancelled while it started
            launch.kill()
        return launch

    @property
    def defer(self):
        """With a pool: run a cleanup (the grading's directory, its processes gone) on the
        pool's cleaner thread, so that the verdict does not wait for it. Without: absent."""
        if self.pool is None:
            raise AttributeError("defer")
        return self.pool.defer

    def cancel(self) -> None:
        """Kill every process of the grading now; a start asked for later raises."""
        with self._lock:
            self.cancelled = True
            launches = list(self.launches)
        for launch in launches:
            launch.kill()


# glibc's malloc in the judge's process (`tune_judge_malloc`): blocks up to 4 MiB from the heap,
# and up to 64 MiB of free heap kept per arena before it is given back.
JUDGE_MMAP_THRESHOLD, JUDGE_TRIM_THRESHOLD = 4 << 20, 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_judge_malloc() -> bool:
    """A grading's judge reads ~20 MB of outputs into fresh buffers and checks them with
    temporaries of the same size; by default glibc maps and unmaps blocks that large (and a
    thread's arena hands its free pages back), so every grading faults the same pages in again
    (a quarter of the judge's CPU). With these thresholds the pages are reused. This sets them
    for the whole process (the caller's): a process that cares about every MiB it holds can
    pass `WarmPool(tune_malloc=False)`. False where it is not glibc."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return all(
        mallopt(ctypes.c_int(option), ctypes.c_int(value)) == 1
        for option, value in ((_M_MMAP_THRESHOLD, JUDGE_MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, JUDGE_TRIM_THRESHOLD))
    )


class WarmPool:
    """Zygotes for the gradings of this process, one per interpreter and flags, each started
    on first use and again after one died. Thread-safe; close it (or use it as a context
    manager) to end them, which also happens when this process exits.

    tune_malloc: tune this process's allocator for the judge (`tune_judge_malloc`)."""

    def __init__(self, tune_malloc: bool = True) -> None:
        why = available()
        if why:
            raise HarnessError(f"a warm pool cannot run here: {why}")
        if tune_malloc:
            tune_judge_malloc()
        self._zygotes: dict[tuple[str, tuple[str, ...]], Zygote] = {}
        self._lock = threading.Lock()
        self._owner = os.getpid()
        self.closed = False
        self.restarts = 0
        self.cleanup_errors: list[str] = []
        self._buffers: list[outbuf.OutputBuffer] = []  # cleared, ready for a worker
        self._cleanups: queue.Queue = queue.Queue()
        self._cleaner = threading.Thread(target=self._clean, name="vsd-pool-cleaner", daemon=True)
        self._cleaner.start()
        atexit.register(self._close_at_exit)

    def _clean(self) -> None:
        while (cleanup := self._cleanups.get()) is not None:
            try:
                cleanup()
            except Exception as ex:  # a directory left behind is not a verdict: kept for close()
                self.cleanup_errors.append(f"{type(ex).__name__}: {ex}"[:300])

    def defer(self, cleanup) -> None:
        """Run `cleanup` on the cleaner thread, or here when it is behind (a bounded backlog
        of directories on the memory-backed scratch space) or the pool is closed."""
        if self.closed or self._cleanups.qsize() >= MAX_DEFERRED_CLEANUPS or os.getpid() != self._owner:
            cleanup()
        else:
            self._cleanups.put(cleanup)

    def take_buffer(self, size: int) -> outbuf.OutputBuffer:
        """A cleared output buffer of `size` bytes: one a grading gave back, or a new one."""
        with self._lock:
            while self._buffers:
                buffer = self._buffers.pop()
                if buffer.size == outbuf.OutputBuffer.rounded(size):
                    return buffer
                buffer.close()
        return outbuf.OutputBuffer(size, mapped=True)

    def give_back_buffer(self, buffer: outbuf.OutputBuffer, extent: int, applied: list[str]) -> None:
        """The buffer of a grading that is over, whose worker's jail applied `applied`: kept for
        another grading only when that jail guarantees every process that could reach it is
        dead (its PID namespace, or its pids cgroup), after it is cleared on the cleaner
        thread; closed when anything was written past what the judge laid out (only a
        candidate does that) or enough are kept."""
        if not outbuf.writers_dead(applied):
            buffer.close()
            return

        def clear() -> None:
            try:
                if buffer.written_past(extent):
                    buffer.close()
                    return
                buffer.poison(extent)
            except BaseException:
                buffer.close()
                raise
            with self._lock:
                if self.closed or len(self._buffers) >= MAX_FREE_BUFFERS:
                    buffer.close()
                else:
                    self._buffers.append(buffer)

        self.defer(clear)

    def zygote(self, python: str, flags: tuple[str, ...]) -> Zygote:
        from .judge import _numpy_home

        key = (python, flags)
        with self._lock:
            if self.closed:
                raise HarnessError("the warm pool is closed")
            if os.getpid() != self._owner:
                raise HarnessError("a warm pool was used from a forked copy of the process that made it")
            zygote = self._zygotes.get(key)
            if zygote is not None and not zygote.alive():
                zygote.close()
                zygote = None
                self.restarts += 1
            if zygote is None:
                zygote = self._zygotes[key] = Zygote(python, flags, _numpy_home())
            return zygote

    def zygotes(self) -> list[Zygote]:
        with self._lock:
            return list(self._zygotes.values())

    def usage(self) -> dict[str, float]:
        """For the benchmark, over the live zygotes: zygotes (their own CPU seconds), jailed
        (the CPU seconds of every process they reaped: the gradings' workers and user-runs),
        faults (those processes' page faults)."""
        total = {"zygotes": 0.0, "jailed": 0.0, "faults": 0.0}
        for zygote in self.zygotes():
            reply = zygote.call({"op": "ping"})
            total["zygotes"] += reply["cpu_self"]
            total["jailed"] += reply["cpu_children"]
            total["faults"] += reply["faults_children"]
        return total

    def launcher(self) -> GradingLauncher:
        """A launcher for one grading: `with judge.use_launcher(pool.launcher()): ...`."""
        return GradingLauncher(self)

    def close(self) -> None:
        """End the zygotes (and any child they still have), then finish the deferred cleanups."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            zygotes, self._zygotes = list(self._zygotes.values()), {}
            buffers, self._buffers = self._buffers, []
        for buffer in buffers:
            buffer.close()
        for zygote in zygotes:
            zygote.close()
        if os.getpid() == self._owner:
            self._cleanups.put(None)
            self._cleaner.join()
            atexit.unregister(self._close_at_exit)

    def _close_at_exit(self) -> None:
        """The deferred cleanups are done before this process ends. Not in a forked copy: its
        lock may have been held by a thread that the fork did not copy."""
        if os.getpid() == self._owner:
            self.close()

    def __enter__(self) -> "WarmPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

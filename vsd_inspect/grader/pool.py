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
grading's critical path. The judge's own process gets glibc thresholds that reuse its ~40 MB of buffers from one
grading to the next (`tune_judge_malloc`; `WarmPool(tune_malloc=False)` keeps the defaults).

Linux only (fork, pidfds, file descriptors passed over a unix socket); `available()` says
whether this host can use it. A pool belongs to the process that made it: a forked copy of
that process (multiprocessing's "fork") gets an error, not a share of its zygotes.
"""

import json
import os
import queue
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import asdict
from pathlib import Path

from . import jail, outbuf
from .categories import HarnessError

ZYGOTE_SCRIPT = Path(__file__).with_name("zygote.py")
START_SECONDS = 60.0  # a zygote's start: an interpreter and numpy, however loaded the machine
CALL_SECONDS = 30.0  # one request: a fork, or the reap of a child that has already exited
REPORT_SECONDS = 60.0  # a child's report that it entered its jail (a cgroup join waits on the kernel)
MAX_DEFERRED_CLEANUPS = 8  # run directories waiting to be removed before a grading removes its own
MAX_FREE_BUFFERS = 4  # cleared output buffers kept for the next gradings
# The zygote's own environment, on top of the scrubbed one (a child gets exactly the scrubbed
# one): glibc's malloc in 2 MiB pages where the kernel allows it, read once at its start.
ZYGOTE_ENV = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}


class ZygoteLost(HarnessError):
    """The zygote a grading's process came from died, or stopped answering."""


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


def split_command(cmd: list[str]) -> tuple[str, tuple[str, ...], list[str]]:
    """`[python, *flags, script, *args]` as (python, flags, [script, *args]); a zygote stands in
    for exactly one interpreter with one set of flags."""
    python, rest = cmd[0], list(cmd[1:])
    flags = []
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag in ("-c", "-m", "-") or not flag[1:].isalpha():
            raise ValueError(f"the warm pool runs scripts only; got {flag!r} in {cmd!r}")
        flags.append(flag)
    if not rest or not os.path.isabs(python):
        raise ValueError(f"the warm pool needs [absolute python, *flags, script, *args]; got {cmd!r}")
    return python, tuple(flags), rest


class Zygote:
    """One zygote process and the socket to it; requests from any thread, one at a time."""

    def __init__(self, python: str, flags: tuple[str, ...], numpy_parent: str) -> None:
        self.python, self.flags = python, flags
        self._lock = threading.Lock()
        self._owner = os.getpid()
        self.lost: str | None = None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # Its own session: a Ctrl-C meant for the judge's terminal does not reach it; it
            # ends when this socket closes instead.
            self.proc = subprocess.Popen(
                [python, *flags, str(ZYGOTE_SCRIPT), str(theirs.fileno()), numpy_parent if "-S" in flags else ""],
                cwd="/",
                env=jail.scrubbed_env() | ZYGOTE_ENV,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()],
                start_new_session=True,
            )
        except OSError as ex:
            ours.close()
            raise HarnessError(f"the warm pool's zygote could not be started: {ex}") from ex
        finally:
            theirs.close()
        self._sock = ours
        try:
            hello = self._receive(START_SECONDS, f"to start ({python} {' '.join(flags)})")
        except ZygoteLost:
            self.close()
            raise
        if "ready" not in hello:
            self.close()
            raise HarnessError(f"the warm pool's zygote did not start: {hello.get('error', hello)}")
        self.pid = int(hello["ready"])

    def _receive(self, seconds: float, doing: str) -> dict:
        ready, _, _ = select.select([self._sock], [], [], seconds)
        data = self._sock.recv(1 << 16) if ready else None
        if not data:
            self.lost = f"the warm pool's zygote {'stopped answering' if data is None else 'died'} (asked {doing})"
            raise ZygoteLost(self.lost)
        return json.loads(data)

    def call(self, request: dict, fds: list[int] | None = None) -> dict:
        """Send one request and wait for its reply (the zygote answers in order)."""
        if os.getpid() != self._owner:
            raise HarnessError("a warm pool was used from a forked copy of the process that made it")
        with self._lock:
            if self.lost:
                raise ZygoteLost(self.lost)
            try:
                socket.send_fds(self._sock, [json.dumps(request).encode()], fds or [])
            except OSError as ex:
                self.lost = f"the warm pool's zygote died ({ex.strerror})"
                raise ZygoteLost(self.lost) from ex
            reply = self._receive(CALL_SECONDS, request["op"])
        if "error" in reply:
            raise HarnessError(f"the warm pool's zygote refused {request['op']}: {reply['error']}")
        return reply

    def alive(self) -> bool:
        return self.lost is None and self.proc.poll() is None

    def children(self) -> list[int]:
        """The pids of the children it has not reaped yet (for tests and checks)."""
        return self.call({"op": "ping"})["children"]

    def close(self) -> None:
        """Close the socket: the zygote kills the children it still has and exits."""
        if os.getpid() != self._owner:  # a forked copy: drop our copy of the socket, nothing else
            self._sock.close()
            return
        self.lost = self.lost or "the warm pool was closed"
        self._sock.close()
        try:
            self.proc.wait(timeout=CALL_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _ForkedProcess:
    """A zygote's child seen as the `subprocess.Popen` that `jail.finish` expects: pid,
    stdin, stdout, poll(), wait(), returncode. It exits as any process does (a pidfd says
    when); its status comes from the zygote, asked only after it has exited."""

    def __init__(self, zygote: Zygote, pid: int, stdin, stdout) -> None:
        self.zygote, self.pid, self.stdin, self.stdout = zygote, pid, stdin, stdout
        self.returncode: int | None = None
        self.cpu_seconds: float | None = None  # the child's CPU time and that of what it reaped
        self.lost: str | None = None
        # Safe from pid reuse: the zygote does not reap the child before we ask.
        self._pidfd = os.pidfd_open(pid)

    def _exited(self, seconds: float | None) -> bool:
        ready, _, _ = select.select([self._pidfd], [], [], seconds)
        return bool(ready)

    def poll(self) -> int | None:
        if self.returncode is None and self._exited(0):
            self._reap()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None:
            if not self._exited(timeout):
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            self._reap()
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            except OSError:
                pass

    def _reap(self) -> None:
        try:
            reply = self.zygote.call({"op": "reap", "pid": self.pid})
            self.returncode = os.waitstatus_to_exitcode(reply["status"])
            self.cpu_seconds = float(reply["cpu"])
        except HarnessError as ex:
            # Its status went with the zygote; `ForkLaunch.finish` raises once all is closed.
            self.lost = str(ex)
            self.returncode = -signal.SIGKILL
        os.close(self._pidfd)
        self._pidfd = -1


class ForkLaunch:
    """`jail.Launch` for a zygote's child: the same `applied`, `process()` and `finish()`.
    The start returns once the zygote has forked (a few milliseconds); `process()` waits for
    the child to report that it has entered its jail, so the judge draws the inputs meanwhile."""

    def __init__(
        self,
        zygote: Zygote,
        cmd: list[str],
        cwd: Path,
        limits: jail.Limits,
        writable: list[Path] | None = None,
        niceness: int = 0,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        _, _, argv = split_command(cmd)
        self.limits = limits
        self.applied: list[str] = []
        self._state = "forked"  # -> running | failed; ending (being waited for), finished (reaped)
        self._result: jail.RunResult | None = None
        self._lost: str | None = None  # why its zygote was lost, once it was
        self._cgroup, self._plan, self._applied = jail.prepare(cmd, cwd, limits, writable)
        request = {
            "op": "spawn",
            "argv": argv,
            "orig_argv": list(cmd),
            "cwd": os.path.abspath(cwd),
            "env": jail.scrubbed_env(),
            "umask": _umask(),
            "cgroup": None if self._cgroup.path is None else str(self._cgroup.path),
            "plan": None if self._plan is None else {"cwd": self._plan.cwd, "ops": self._plan.ops},
            "limits": asdict(limits),
            "niceness": niceness,
            "pass_fds": list(pass_fds),  # after the four below, each kept at this number
        }
        ours: list[int] = []  # stdin's write end, stdout's read end, the report's read end
        theirs: list[int] = []  # what the child gets as stdin, stdout, stderr, report
        try:
            stdin_r, stdin_w = os.pipe()
            ours.append(stdin_w)
            theirs.append(stdin_r)
            stdout_r, stdout_w = os.pipe()
            ours.append(stdout_r)
            theirs.append(stdout_w)
            theirs.append(os.open(os.devnull, os.O_RDWR))  # stderr, as exec's DEVNULL
            report_r, report_w = os.pipe()
            ours.append(report_r)
            theirs.append(report_w)
            reply = zygote.call(request, theirs + list(pass_fds))
        except BaseException:
            for fd in ours:
                os.close(fd)
            self._cgroup.kill_all()
            raise
        finally:
            for fd in theirs:  # the zygote has its copies (and its child, if it forked)
                os.close(fd)
        self._report = report_r
        self._proc = _ForkedProcess(zygote, int(reply["pid"]), open(stdin_w, "wb"), open(stdout_r, "rb"))

    def process(self) -> _ForkedProcess:
        """The running process, once it has entered its jail; raises as `jail.start` does when
        it could not."""
        if self._state == "forked":
            report = _read_until_started(self._report, REPORT_SECONDS)
            self._close_report()
            why, _, status = report.partition("\0")
            if status != "started":
                jail.note_failed_start(why)
                try:
                    self._end(wait=False, started=time.monotonic())
                finally:
                    self._state = "failed"
                status = status or f"it reported nothing within {REPORT_SECONDS:g} s or ended first"
                raise HarnessError(f"the worker could not be started: {status} {why}".strip())
            jail.note_report(why, self._plan, self._applied)
            self.applied = self._applied
            self._state = "running"
        if self._state != "running":
            raise HarnessError("the worker could not be started")
        return self._proc

    def kill(self) -> None:
        """Kill the process and everything in its cgroup now (a cancelled grading); `finish`
        still reaps it."""
        if self._state in ("forked", "running", "ending") and self._proc.returncode is None:
            self._proc.kill()
            try:  # its group: the pid is still its own, the zygote has not reaped it
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._cgroup.kill_all()

    def finish(self, started: float, wait: bool = True) -> jail.RunResult | None:
        """`jail.finish` on the child: wait up to the wall limit, kill its group and cgroup,
        reap it (None when it never started, as `jail.Launch.finish`). Raises ZygoteLost when
        its zygote died meanwhile."""
        if self._lost:  # raised again: the judge then stops the grading's other process at once
            raise ZygoteLost(self._lost)
        if self._state == "failed":
            return None
        if self._state in ("forked", "running"):
            self._close_report()
            self._result = self._end(wait, started)
        return self._result

    def _end(self, wait: bool, started: float) -> jail.RunResult:
        proc = self._proc
        self._state = "ending"  # still killable (`kill`) until it has been reaped
        try:
            result = jail.finish(proc, self._cgroup, self.limits, started, wait)
        finally:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            if proc.returncode is None:  # interrupted before the reap: kill it, reap it
                proc.kill()
                self._cgroup.kill_all()
                try:
                    proc.wait()
                except BaseException:
                    pass
            self._state = "finished"
        if proc.lost:
            self._lost = proc.lost
            raise ZygoteLost(proc.lost)
        result.cpu_seconds = proc.cpu_seconds
        return result

    def _close_report(self) -> None:
        if self._report >= 0:
            os.close(self._report)
            self._report = -1


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _read_until_started(fd: int, seconds: float) -> str:
    """The child's report: what `namespaces._enter_namespaces` said, then NUL and `started` or
    `failed: …` (or nothing, if it died first). Read up to that status, not to an end of file
    that another process of the judge's, forked meanwhile, could delay."""
    deadline = time.monotonic() + seconds
    chunks = b""
    while not chunks.partition(b"\0")[2].startswith(b"started"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(0.0, left))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        chunks += chunk
    return chunks.decode("utf-8", "replace")


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

    def __enter__(self) -> "WarmPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

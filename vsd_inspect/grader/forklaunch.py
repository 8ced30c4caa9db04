"""The judge's side of the warm pool's zygotes: one zygote process and its socket (`Zygote`),
and one jailed process forked from it, started and ended as `jail.Launch` starts and ends an
exec'd one (`ForkLaunch`). The pool (`pool.py`) keeps the zygotes and hands out launches; the
zygote's own side is `zygote.py`.

A child is prepared by the judge exactly as `jail.start` prepares one (`jail.prepare`: the pids
cgroup, the plan of the minimal root), forked by the zygote, which makes it enter the same jail
(`jail.enter`) and run the script in place, and reaped by the zygote only once the judge asks, so
its pid and process group stay its own while the judge may signal it. A zygote that dies takes
its children with it; a launch that had one there raises `ZygoteLost`, a HarnessError.
"""

import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import asdict
from pathlib import Path

from . import jail
from .categories import HarnessError

ZYGOTE_SCRIPT = Path(__file__).with_name("zygote.py")
START_SECONDS = 60.0  # a zygote's start: an interpreter and numpy, however loaded the machine
CALL_SECONDS = 30.0  # one request: a fork, or the reap of a child that has already exited
REPORT_SECONDS = 60.0  # a child's report that it entered its jail, however loaded the machine

# The zygote's own environment, on top of the scrubbed one (a child gets exactly the scrubbed
# one): glibc's malloc in 2 MiB pages where the kernel allows it, read once at its start.
ZYGOTE_ENV = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}


class ZygoteLost(HarnessError):
    """The zygote a grading's process came from died, or stopped answering."""


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

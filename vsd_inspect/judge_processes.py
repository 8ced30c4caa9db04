"""Judge processes: `grade_many`'s gradings, each judged in a process of its own.

In one process the gradings' judges take turns at the interpreter's lock: while one judges a
worker's outputs, the other's thread waits for it even when its own worker has finished. A
`JudgeProcesses` keeps N long-lived processes (`python -m vsd_inspect.judge_processes`), each
with its own warm pool (`grader/pool.py`), and hands each grading to a free one:

    with JudgeProcesses(2) as judges:
        results = grade_many(workspaces, workers=2, judges=judges)

A judge process runs exactly what `grade_many` runs in a thread (`batch._grade`: the same
`grade_solution`, the same seed, the pool's zygotes), so the verdict is the same dict, and sends
it back as JSON. What stays as it was: a grading's processes are killed when it is cancelled or
interrupted (the request reaches its judge process, which cancels the grading's launcher);
a HarnessError in a judge process is raised here with its message (a lost zygote is graded
again there, once); a judge process that dies takes its gradings with it (their zygotes see
it go) and raises HarnessError here, never a 0, and the next grading starts a new one. Closing
(or this process's exit) ends them all. Linux only, as the warm pool is.
"""

import atexit
import dataclasses
import json
import os
import queue
import select
import socket
import subprocess
import sys
import threading
from pathlib import Path

from vsd_inspect.grader.categories import HarnessError

START_SECONDS = 120.0  # a judge process's start: an interpreter, numpy, the grader
POLL_SECONDS = 0.05  # how often a waiting grading checks for its cancellation
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


def _send(sock: socket.socket, message: dict) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


class _Lines:
    """Newline-delimited JSON messages from a stream socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def next(self, seconds: float | None) -> dict | None:
        """The next message; None at end of stream; raises TimeoutError after `seconds`."""
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.sock], [], [], seconds)
            if not ready:
                raise TimeoutError
            data = self.sock.recv(1 << 20)
            if not data:
                return None
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


class _JudgeProcess:
    """One judge process and the socket to it; used by one grading at a time."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT, *filter(None, [env.get("PYTHONPATH")])])
        try:
            # Its own session: a Ctrl-C meant for this process reaches its gradings as a cancel.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vsd_inspect.judge_processes", str(theirs.fileno())],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()],
                start_new_session=True,
            )
        except OSError as ex:
            ours.close()
            raise HarnessError(f"a judge process could not be started: {ex}") from ex
        finally:
            theirs.close()
        self.sock, self.lines = ours, _Lines(ours)
        self._send_lock = threading.Lock()
        self.ready = False
        self.dead: str | None = None

    def send(self, message: dict) -> None:
        with self._send_lock:
            _send(self.sock, message)

    def receive(self, seconds: float | None) -> dict:
        message = self.lines.next(seconds)
        if message is None:
            self.dead = f"a judge process died (exit status {self.proc.wait()})"
            raise HarnessError(self.dead)
        return message

    def wait_ready(self) -> None:
        if not self.ready:
            hello = self.receive(START_SECONDS)
            if "ready" not in hello:
                raise HarnessError(f"a judge process did not start: {hello.get('error', hello)}")
            self.ready = True

    def close(self) -> None:
        self.sock.close()  # its end of the socket sees EOF: it cancels, closes its pool and exits
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class RemoteGrading:
    """A grading handed to a judge process: `cancel()` from any thread kills its processes
    (or keeps it from starting), as `GradingLauncher.cancel` does in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cancelled = False
        self._judge: _JudgeProcess | None = None
        self._id = 0

    def _attach(self, judge: _JudgeProcess | None, grading_id: int = 0) -> bool:
        with self._lock:
            self._judge, self._id = judge, grading_id
            return not self.cancelled

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            judge, grading_id = self._judge, self._id
        if judge is not None:
            try:  # by its id: a cancel that arrives late leaves the judge's next grading alone
                judge.send({"op": "cancel", "id": grading_id})
            except OSError:
                pass  # it is gone, and its gradings with it


class JudgeProcesses:
    """`processes` judge processes, started on first use and again after one died. Thread-safe;
    close it (or use it as a context manager) to end them, which also happens at exit."""

    def __init__(self, processes: int = 2) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1; got {processes}")
        from vsd_inspect.grader import pool as warm

        why = warm.available()
        if why:
            raise HarnessError(f"judge processes need a warm pool, which cannot run here: {why}")
        self.processes = processes
        self.restarts = 0
        self._ids = iter(range(1, 1 << 62))
        self.closed = False
        self._lock = threading.Lock()
        self._owner = os.getpid()
        self._free: queue.Queue = queue.Queue()
        self._all: list[_JudgeProcess] = []
        atexit.register(self.close)

    def ensure(self, processes: int) -> None:
        """At least `processes` judge processes from now on (the others start on first use)."""
        with self._lock:
            self.processes = max(self.processes, processes)

    def start(self) -> None:
        """Start every judge process now and wait until each is ready (else: on first use)."""
        with self._lock:
            if self.closed:
                raise HarnessError("the judge processes are closed")
            if os.getpid() != self._owner:
                raise HarnessError("judge processes were used from a forked copy of the process that made them")
            new = [_JudgeProcess() for _ in range(self.processes - len(self._all))]
            self._all += new
        for judge in new:
            try:
                judge.wait_ready()
            except BaseException:
                with self._lock:
                    self._all.remove(judge)
                judge.close()
                raise
            self._free.put(judge)

    def launcher(self) -> RemoteGrading:
        """A handle for one grading, to pass to `grade` (cancel it from any thread)."""
        return RemoteGrading()

    def _take(self, grading: RemoteGrading) -> _JudgeProcess:
        if len(self._all) < self.processes:
            self.start()
        while True:
            if grading.cancelled:
                raise HarnessError("the grading was cancelled")
            try:
                judge = self._free.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if judge.dead is None and judge.proc.poll() is None:
                return judge
            with self._lock:  # a replacement for one that died
                self._all.remove(judge)
                self.restarts += 1
            judge.close()
            self.start()

    def _give_back(self, judge: _JudgeProcess) -> None:
        if self.closed:
            judge.close()
        else:
            self._free.put(judge)

    def grade(self, workspace, sample, seed, rates, tolerance, limits, grading: RemoteGrading):
        """One grading in a judge process: the GradeResult `batch._grade` gives in this one."""
        from vsd_inspect.api import _sample
        from vsd_inspect.batch import GradeResult

        request = {
            "op": "grade",
            "workspace": str(Path(workspace).absolute()),
            "sample": _sample(sample).id,  # an unknown one raises here, as grade_solution does
            "seed": None if seed is None else int(seed),  # a trainer's numpy integers included
            "rates": [float(r) for r in rates],
            "tolerance": float(tolerance),
            "limits": dataclasses.asdict(limits),
        }
        with self._lock:
            request["id"] = next(self._ids)
        judge = self._take(grading)
        try:
            if not grading._attach(judge, request["id"]):
                raise HarnessError("the grading was cancelled")
            judge.send(request)
            reply = judge.receive(None)
        except OSError as ex:
            judge.dead = f"a judge process died ({ex})"
            raise HarnessError(judge.dead) from ex
        finally:
            grading._attach(None)
            self._give_back(judge)
        if "verdict" in reply:
            return GradeResult.from_verdict(reply["verdict"])
        raise _error(reply.get("error", {}))

    def usage(self) -> dict[str, float]:
        """For the benchmark, summed over the judge processes (waits until none is grading):
        judges (the judge processes' own CPU seconds) and their pools' `WarmPool.usage()`:
        zygotes, jailed, faults."""
        judges = [self._free.get() for _ in range(len(self._all))]
        try:
            total = dict.fromkeys(("judges", "zygotes", "jailed", "faults"), 0.0)
            for judge in judges:
                judge.send({"op": "usage"})
                reply = judge.receive(START_SECONDS)
                for key in total:
                    total[key] += float(reply[key])
            return total
        finally:
            for judge in judges:
                self._free.put(judge)

    def forget(self) -> None:
        """In a forked copy of the process that made them: let go of the parent's judge
        processes without ending them (only this copy's ends of their sockets close)."""
        self.closed = True
        for judge in self._all:  # no lock: a thread the fork did not copy may have held it
            judge.sock.close()
        self._all = []

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            judges, self._all = self._all, []
        if os.getpid() == self._owner:
            for judge in judges:
                judge.close()
            atexit.unregister(self.close)

    def __enter__(self) -> "JudgeProcesses":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _error(error: dict) -> BaseException:
    """The exception a judge process reported, as `grade_many` would have caught it here."""
    from vsd_inspect.grader import pool as warm

    kind, message = error.get("type"), str(error.get("message", "no message"))
    if kind == "NotADirectoryError":
        return NotADirectoryError(message)
    if kind == "ZygoteLost":
        return warm.ZygoteLost(message)
    if kind == "HarnessError":
        return HarnessError(message)
    return HarnessError(f"a judge process failed: {kind}: {message}")


# ---------------------------------------------------------------- in the judge process


def _serve(fd: int) -> None:
    """Grade what is asked, one grading at a time, until the socket closes."""
    from vsd_inspect import batch
    from vsd_inspect.grader import arrays, contract, lawkit, plan  # noqa: F401  (what a grading needs, loaded now)
    from vsd_inspect.grader import pool as warm
    from vsd_inspect.grader.jail import Limits

    sock = socket.socket(fileno=fd)
    send_lock = threading.Lock()

    def reply(message: dict) -> None:
        with send_lock:
            _send(sock, message)

    pool = warm.WarmPool()
    current: list = [None]  # the grading under way: (its id, its launcher, its thread)

    def run(request: dict, launcher) -> None:
        try:
            result = batch._grade(
                Path(request["workspace"]), request["sample"], request["seed"], tuple(request["rates"]),
                request["tolerance"], Limits(**request["limits"]), launcher,
            )
            message = {"verdict": result.verdict}
        except (HarnessError, NotADirectoryError) as ex:
            message = {"error": {"type": type(ex).__name__, "message": str(ex)}}
        except BaseException as ex:  # a bug, not a verdict: the caller raises it as a HarnessError
            message = {"error": {"type": type(ex).__name__, "message": str(ex)[:2000]}}
        try:
            reply(message)
        except OSError:
            pass  # the caller is gone

    reply({"ready": os.getpid()})
    lines = _Lines(sock)
    while True:
        try:
            request = lines.next(None)
        except (OSError, ValueError):
            request = None
        if request is None:
            break
        op = request.get("op")
        if op == "grade":
            launcher = warm.GradingLauncher(pool)
            thread = threading.Thread(target=run, args=(request, launcher), name="vsd-judge", daemon=True)
            current[0] = (request.get("id"), launcher, thread)
            thread.start()
        elif op == "cancel" and current[0] is not None and current[0][0] == request.get("id"):
            current[0][1].cancel()
        elif op == "usage":
            import resource

            own = resource.getrusage(resource.RUSAGE_SELF)
            reply({"judges": own.ru_utime + own.ru_stime, **pool.usage()})
    if current[0] is not None:  # the caller went: so does its grading
        current[0][1].cancel()
        current[0][2].join(timeout=30)
    pool.close()
    os._exit(0)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))

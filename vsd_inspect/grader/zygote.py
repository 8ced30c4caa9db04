"""The warm pool's zygote: a fork server from which each jailed process of a grading starts.

Run by `forklaunch.py` (for the warm pool, `pool.py`) as `python FLAGS zygote.py CTL_FD
NUMPY_PARENT`, with FLAGS the very flags the process it stands in for would be started with
(`-I -S` for the worker, `-E -s` for the visible test run as a user runs it), in the scrubbed
environment, in a session of its own. It imports json, numpy and numpy.random (what both of
those scripts import before or soon after the candidate) and the jail's code, then waits on
CTL_FD (a unix socket to the judge) for requests:

  spawn  {argv, orig_argv, cwd, env, umask, cgroup, plan, limits, niceness, pass_fds} with four
         file descriptors (stdin, stdout, stderr, a report pipe) and one per number in pass_fds
         (kept open at that number: the worker's output buffer): fork a child that does what exec
         would have done — the same jail as `jail.start` (`jail.enter`: the pids cgroup, the
         namespaces and minimal root, the limits) — then runs the script as __main__ in place
         (no exec), so it skips the interpreter's start and numpy's import. Replies {pid}.
         With namespaces the child is forked straight into a PID namespace of its own, as its
         init: the exec path needs a reaper process for that, here the zygote is the reaper.
  reap   {pid}, once the judge has seen the child exit: wait for it, reply its status and CPU.
  ping   the children not reaped yet and the zygote's CPU time (for tests and the benchmark).
A child is never reaped before the judge asks, so its pid (and process group) stays its own
while the judge signals it. When CTL_FD closes (the judge exited or closed the pool) the zygote
kills every child it still has and exits; each child dies with the zygote (parent-death signal).

What the zygote holds, and so what every child inherits: the interpreter, json, numpy, the
jail's code (`jail.py`, `namespaces.py`, `syscalls.py`, `categories.py`, this package's
`__init__.py`), how a child ends (`script_end.py`) and the requests of children already started
(paths of their run directories, never their inputs). Never the judge's memory, a concept's
laws, the reference fix or a hidden input: the judge writes those where only it reads them,
after the child has started (tests/test_pool.py searches a zygote's and a child's memory for
them). What a child has, so that it sees what a freshly exec'd interpreter would see
(tests/test_pool.py compares the two, fact by fact):

  file descriptors  0, 1, 2 and those passed, from the request, at the numbers it asks for;
                    nothing else (the control socket closed first)
  environment, cwd, umask, session   the request's; a session and process group of its own
  sys.argv, sys.orig_argv, sys.path, sys.flags  as `python FLAGS SCRIPT ARGS` sets them
  sys.modules       what the interpreter loads at start plus json, numpy, numpy.random and what
                    they import: the zygote keeps its own modules out of sys.modules
  random state      numpy's legacy global generator reseeded from the OS, as its import would;
                    `random` reseeds itself at fork; every other generator draws from the OS
  __main__          a fresh module with __file__ and __loader__ as CPython's runner sets them;
                    the script compiled from its file and run from this file's top level, an
                    uncaught exception printed from the script's frame down, SystemExit's code
                    read as CPython reads it
  the end           Py_FinalizeEx's steps a script can see (`script_end.finish`): threads joined, atexit
                    hooks, streams flushed, garbage collected, sys's special names cleared, the
                    builtins restored as the teardown restores them, the script's own modules
                    and __main__ cleared (their objects' finalizers run, as there); not the
                    teardown of the zygote's modules, which runs no code of the script's and
                    would copy every page the child shares with the zygote
  atexit, signals   nothing registered; the interpreter's own dispositions, nothing blocked

Known differences from exec, none of which changes a verdict of the corpus (tests/test_batch.py
grades it both ways): the stack below the script's frame holds one more frame (this file's);
numpy.random is imported before the script runs; the string hash seed is the zygote's, shared by
its children (a fresh interpreter draws its own; PYTHONHASHSEED is ignored either way under
-I / -E); `/proc/self/cmdline` and `/proc/self/environ` show the zygote's start; memory comes
from a heap in large pages; an object the script hides in one of the zygote's modules is not
finalized at the end.

Only the standard library, numpy and the jail: this file runs outside any package, so it loads
the jail as a package of its own (`_vsd_zygote`).
"""

import sys

_FRESH = frozenset(sys.modules)  # what the interpreter loaded before this file ran
_BUILTINS = dict(vars(sys.modules["builtins"]))  # and its builtins, as a script starts with them
if not sys.flags.safe_path:
    del sys.path[0]  # this file's directory: a child gets its script's instead

import os  # noqa: E402  (after the snapshot of what a fresh interpreter holds)


def _boot(numpy_parent: str) -> frozenset:
    """Import what both scripts import early; the modules a child has."""
    pristine = list(sys.path)
    if numpy_parent:
        sys.path.append(numpy_parent)
    import json  # noqa: F401
    import numpy  # noqa: F401
    import numpy.random  # noqa: F401  (~15 ms that every grading's layer and visible test pay)

    sys.path[:] = pristine
    _tune_malloc()
    return frozenset(sys.modules)


def _tune_malloc() -> None:
    """Large blocks from the heap, which is not trimmed: a child then takes most of its pages
    in one fault each, instead of mapping, faulting and unmapping them again for every array
    (with `glibc.malloc.hugetlb=1` in the environment the zygote starts with, in 2 MiB pages).
    Only where memory comes from changes, not how much a child may have (RLIMIT_AS)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        for option, value in ((-3, 32 << 20), (-1, 256 << 20), (-2, 4 << 20)):  # mmap, trim, top pad
            libc.mallopt(ctypes.c_int(option), ctypes.c_int(value))
    except (OSError, AttributeError):
        pass  # not glibc: the defaults


try:
    _KEEP = _boot(sys.argv[2])
except BaseException as _ex:  # say why on the socket: the zygote has no stderr
    try:
        import json as _json

        _why = _json.dumps({"error": f"importing json and numpy failed: {type(_ex).__name__}: {_ex}"[:500]})
    except BaseException:
        _why = '{"error": "importing json and numpy failed"}'
    os.write(int(sys.argv[1]), _why.encode())
    os._exit(1)
_PATH = tuple(sys.path)
_MAX_SCRIPTS, _MAX_SCRIPT_BYTES = 8, 1 << 20  # scripts kept compiled (`_Tools.compiled`)


class _Tools:
    """Everything the zygote and its children use, loaded once, before the first fork, and
    kept out of sys.modules (a child's imports find only what a fresh interpreter would)."""

    def __init__(self) -> None:
        import atexit
        import builtins
        import ctypes
        import fcntl
        import gc
        import importlib.machinery
        import importlib.util
        import json
        import resource
        import signal
        import socket
        import traceback
        import types
        import weakref

        here = os.path.dirname(os.path.abspath(__file__))
        spec = importlib.util.spec_from_file_location(
            "_vsd_zygote", os.path.join(here, "__init__.py"), submodule_search_locations=[here]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = package
        spec.loader.exec_module(package)
        self.jail = importlib.import_module("_vsd_zygote.jail")
        self.ns = importlib.import_module("_vsd_zygote.namespaces")
        self.ns._namespaces_reason()  # loads libc for the namespaces' system calls
        self.atexit, self.builtins, self.gc, self.json, self.resource = atexit, builtins, gc, json, resource
        self.signal, self.socket, self.types, self.importlib = signal, socket, types, importlib
        self.SourceFileLoader = importlib.machinery.SourceFileLoader
        self.traceback = traceback
        self.ctypes = ctypes
        self.fcntl = fcntl
        self.weakref = weakref
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.end = importlib.import_module("_vsd_zygote.script_end")  # how a child ends
        self.teardown_builtins = self.end.teardown_builtins(_BUILTINS)
        self.codes: dict[bytes, object] = {}  # a script's bytes -> its code (`compiled`)
        # Its own PID namespace, to return to after forking a child into a new one.
        try:
            self.pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY) if self.ns._sys is not None else -1
        except OSError:
            self.pid_ns = -1
        self.tidy()

    def compiled(self, path: str) -> tuple[bytes, object] | None:
        """The script at `path`, read and compiled here once per distinct script (the worker's
        and a visible test's are the same bytes from one grading to the next), so that a child
        whose script has exactly these bytes skips compiling them; None when it cannot be read
        or does not compile (the child then reads and compiles it, and fails, as exec's would)."""
        try:
            with open(path, "rb") as f:
                source = f.read(_MAX_SCRIPT_BYTES + 1)
        except OSError:
            return None
        if len(source) > _MAX_SCRIPT_BYTES:
            return None
        code = self.codes.pop(source, None)
        if code is None:
            try:
                code = compile(source, path, "exec", dont_inherit=True)  # inspect-evals-lint: ignore[host_code_execution] -- compiled, never run, here; only a jailed child runs it, after jail.enter; the scripts are the judge's own (the worker, the pristine visible test)
            except Exception:
                return None
        self.codes[source] = code  # most recently used last
        while len(self.codes) > _MAX_SCRIPTS:
            self.codes.pop(next(iter(self.codes)))
        return source, code

    def wait4(self, pid: int) -> tuple[int, float]:
        """os.wait4's status and CPU seconds, without it: os.wait4 imports `resource` for its
        result, which `tidy` would then have to remove again before every fork."""
        ctypes = self.ctypes
        status, usage = ctypes.c_int(0), (ctypes.c_long * 36)()  # struct rusage, with room to spare
        while self.libc.wait4(ctypes.c_int(pid), ctypes.byref(status), 0, usage) < 0:
            errno = ctypes.get_errno()
            if errno != 4:  # EINTR
                raise OSError(errno, os.strerror(errno))
        return status.value, usage[0] + usage[1] / 1e6 + usage[2] + usage[3] / 1e6  # ru_utime, ru_stime

    def tidy(self) -> None:
        """Before a fork: sys.modules and the import caches as a fresh interpreter's. Only
        when something was imported since the last time (a module more, a path's finder
        cached): walking them writes to pages every child shares, which each then copies."""
        if len(sys.modules) == len(_KEEP) and not sys.path_importer_cache:
            return
        for name in [m for m in sys.modules if m not in _KEEP]:
            del sys.modules[name]
        sys.path_importer_cache.clear()
        self.importlib.invalidate_caches()

    def fork(self, new_pid_ns: bool) -> tuple[int, bool]:
        """fork(); with `new_pid_ns`, the child is the init of a PID namespace of its own
        (False when the kernel refuses: the child then makes its namespaces as exec's does)."""
        if new_pid_ns and self.pid_ns >= 0:
            new_pid_ns = self.ns._sys.libc.unshare(self.ctypes.c_int(self.ns._CLONE_NEWPID)) == 0
        else:
            new_pid_ns = False
        pid = os.fork()
        if pid and new_pid_ns and self.ns._sys.libc.setns(self.pid_ns, self.ns._CLONE_NEWPID) != 0:
            # Unable to leave the namespace it made: the next child would start inside this one.
            os.kill(pid, self.signal.SIGKILL)
            os._exit(1)
        return pid, new_pid_ns



def _serve(ctl_fd: int):
    """Answer requests until the judge goes, then exit; returns only in a child, what it is
    to become."""
    tools = _Tools()
    json, socket = tools.json, tools.socket
    ctl = socket.socket(fileno=ctl_fd)
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
    if threads != 1:  # forking a process with other threads could copy a lock held
        ctl.send(json.dumps({"error": f"the zygote has {threads} threads after importing numpy"}).encode())
        os._exit(1)
    tools.gc.collect()
    tools.gc.freeze()  # children then copy fewer pages: the collector does not touch these objects
    zygote = os.getpid()
    ctl.send(json.dumps({"ready": zygote}).encode())
    children: dict[int, int | None] = {}  # pid -> its CPU limit when it is a namespace's init
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(ctl, 1 << 16, 8)
        except OSError:
            data, fds = b"", []
        if not data:
            break
        reply: dict = {}
        try:
            request = json.loads(data)
            op = request["op"]
            if op == "spawn" and len(fds) != 4 + len(request.get("pass_fds", [])):
                raise ValueError(f"a spawn needs 4 file descriptors and those it passes, got {len(fds)}")
        except Exception as ex:  # a bad request is the judge's bug: say so, keep serving
            op, reply = None, {"error": f"{type(ex).__name__}: {ex}"}
        if op == "spawn":
            compiled = tools.compiled(os.path.abspath(os.path.join(request["cwd"], request["argv"][0])))
            tools.tidy()
            try:
                pid, as_init = tools.fork(request["plan"] is not None)
            except OSError as ex:
                pid, reply = -1, {"error": f"fork: {ex}"}
            if pid == 0:
                ctl.close()  # first: a child must never reach the zygote
                return tools, zygote, as_init, request, fds, compiled
            if pid > 0:
                children[pid] = request["limits"]["cpu_seconds"] if as_init else None
                reply = {"pid": pid}
        elif op is not None:
            try:
                reply = _answer(tools, op, request, children)
            except Exception as ex:
                reply = {"error": f"{type(ex).__name__}: {ex}"}
        for fd in fds:  # the child has its copies; no other child may ever get them
            os.close(fd)
        ctl.send(json.dumps(reply).encode())
    for pid in children:  # the judge is gone: so is every grading it started here
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, tools.signal.SIGKILL)
            except OSError:
                pass
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
    os._exit(0)  # the zygote's own end: no teardown of numpy needed


def _answer(tools: _Tools, op: str, request: dict, children: dict) -> dict:
    """The requests other than a spawn."""
    resource = tools.resource
    if op == "reap":
        pid = int(request["pid"])
        if pid not in children:
            raise ValueError(f"no child {pid}")
        status, cpu = tools.wait4(pid)  # the judge asks once it has seen the child exit
        cpu_limit = children.pop(pid)
        if cpu_limit is not None:  # its own reaper, for a namespace's init (`namespaces._reap`)
            status = tools.ns.init_status(status, cpu, cpu_limit)
        return {"status": status, "cpu": cpu}
    if op == "ping":
        own, reaped = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "children": sorted(children),
            "cpu_self": own.ru_utime + own.ru_stime,
            "cpu_children": reaped.ru_utime + reaped.ru_stime,
            "faults_children": reaped.ru_minflt + reaped.ru_majflt,  # page faults (for the benchmark)
        }
    raise ValueError(f"unknown request {op!r}")


def _become(tools: _Tools, zygote: int, as_init: bool, request: dict, fds: list[int], compiled) -> tuple:
    """In the child: what exec would have done, then the interpreter's state as a fresh
    `python FLAGS SCRIPT` has it. Returns the tools, __main__, the script's path and source,
    and its code when the zygote compiled these very bytes (else None)."""
    ctypes, jail = tools.ctypes, tools.jail
    stdin, stdout, stderr, report = fds[:4]
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
    for fd in (stdin, stdout, stderr):
        if fd > 2:
            os.close(fd)
    # The descriptors it passes, at the numbers asked for (as Popen's pass_fds keeps them):
    # the report and each of them moved above every such number first, so none is overwritten.
    keep = [int(t) for t in request.get("pass_fds", [])]
    if any(t < 3 for t in keep) or len(set(keep)) != len(keep):
        os._exit(127)
    floor = max(keep, default=2) + 1
    report = _above(tools, report, floor)
    for fd, target in zip([_above(tools, fd, floor) for fd in fds[4:]], keep):
        os.dup2(fd, target)  # inheritable, as pass_fds makes it
        os.close(fd)
    # Dies with the zygote, as an exec'd child with its judge; then checks it is not too late
    # (a namespace's init sees no parent: the judge kills it anyway when its zygote is lost).
    tools.libc.prctl(ctypes.c_int(1), ctypes.c_ulong(9), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    if os.getppid() != (0 if as_init else zygote):
        os._exit(1)
    try:
        os.chdir(request["cwd"])
        os.setsid()
        os.umask(request["umask"])
        plan = request["plan"]
        if plan is not None:
            plan = tools.ns._Plan(cwd=plan["cwd"], ops=[tuple(op) for op in plan["ops"]])
        jail.enter(request["cgroup"], plan, report, jail.Limits(**request["limits"]), request["niceness"], as_init)
    except BaseException as ex:
        os.write(report, f"\0failed: {type(ex).__name__}: {ex}"[:500].encode())
        os._exit(127)
    os.write(report, b"\0started")
    low = 3  # the report pipe and anything else but what it passes: as exec's close_fds
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)
    os.environ.clear()
    os.environ.update(request["env"])
    argv = request["argv"]
    script = os.path.join(request["cwd"], argv[0])
    sys.argv = list(argv)
    sys.orig_argv = list(request["orig_argv"])
    sys.path[:] = _PATH
    if not sys.flags.safe_path:  # `python SCRIPT` puts the script's directory first
        target = script
        while os.path.islink(target):
            target = os.path.join(os.path.dirname(target), os.readlink(target))
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
    # numpy's legacy global generator was seeded once, in the zygote: draw this process its
    # own state, as its import in a fresh interpreter would.
    numpy = sys.modules["numpy"]
    numpy.random.mtrand._rand._bit_generator.state = numpy.random.MT19937().state
    tools.atexit._clear()
    main = tools.types.ModuleType("__main__")
    main.__annotations__ = {}
    main.__builtins__ = tools.builtins
    path = os.path.abspath(script)
    main.__file__, main.__cached__ = path, None  # as CPython's runner sets them
    main.__loader__ = tools.SourceFileLoader("__main__", path)
    sys.modules["__main__"] = main
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as ex:
        print(f"{sys.executable}: can't open file {path!r}: [Errno {ex.errno}] {ex.strerror}", file=sys.stderr)
        os._exit(2)
    code = None
    if compiled is not None and compiled[0] == source:  # what it reads in its jail, byte for byte
        code = _with_filename(tools, compiled[1], path)
    return tools, main, path, source, code


def _with_filename(tools: _Tools, code, path: str):
    """`code` as compiling it from `path` gives it (it was compiled from another run's path)."""
    consts = tuple(_with_filename(tools, c, path) if isinstance(c, tools.types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=path, co_consts=consts)


def _above(tools: _Tools, fd: int, floor: int) -> int:
    """`fd` moved to the lowest free number at or above `floor` (the old one closed)."""
    if fd >= floor:
        return fd
    moved = tools.fcntl.fcntl(fd, tools.fcntl.F_DUPFD_CLOEXEC, floor)
    os.close(fd)
    return moved



if __name__ == "__main__":
    # In a child from here on. The script runs from this frame, the only one below its own,
    # as `python SCRIPT` runs it: compiled from its file, an uncaught exception printed from
    # the script's frame down, then the exit as `script_end.finish` says.
    _tools, _main, _path, _source, _code = _become(*_serve(int(sys.argv[1])))
    _status, _interrupted, _exited = 0, False, False
    try:
        exec(_code or compile(_source, _path, "exec", dont_inherit=True), _main.__dict__)  # inspect-evals-lint: ignore[host_code_execution] -- in the jailed child only, after jail.enter, as exec of the script would run it
    except SystemExit as _ex:
        _status, _exited = _tools.end.exit_code(_ex), True
    except BaseException as _ex:
        _tools.end.uncaught(_tools, _ex, _ex.__traceback__.tb_next)
        _status, _interrupted = 1, isinstance(_ex, KeyboardInterrupt)
    if not _exited:  # CPython's runner removes what it set, unless SystemExit ended it
        for _name in ("__file__", "__cached__"):
            _main.__dict__.pop(_name, None)
    _tools.end.flushed()
    del _main, _source, _code  # only sys.modules holds __main__ now, as in CPython
    _tools.end.finish(_tools, _KEEP, _status, _interrupted)

"""Run the candidate's worker with every resource bounded, and kill all it started.

Limits: wall time (judge-side), CPU seconds, address space, file size, open files and
process count (RLIMIT_NPROC, which the kernel enforces for non-root users; when the judge
runs as root on a host with a writable `pids` cgroup, a per-grading cgroup enforces it and
its members are all killed at the end, even those that left the process group).
The environment is scrubbed and the interpreter runs in isolated mode (-I).

Namespaces (Linux, judge running as root): the worker then also runs in its own PID, mount,
network, IPC, UTS and cgroup namespaces, as root without any capability:

- PID namespace: the worker is its namespace's init and sees no host process, so it can
  neither signal the judge nor any other host process (its parent pid reads 0). When it
  ends, or when the judge kills the process it started, the kernel kills every process
  left in the namespace, including any that left the session or the process group.
- Mount namespace with a minimal root: a read-only tmpfs that holds only read-only views
  of the system libraries (`/usr` and the top-level library links), the interpreter's
  prefix and virtual environment, the directories named on the command line (numpy's
  parent), `/etc/alternatives` and a few files of `/etc`, the null, zero, full and random
  devices, a fresh read-only `/proc` that lists only the namespace's processes, the run's
  `work` directory (read-only) and its `io` directory, the only writable place. The grader
  package, its `reference/` fix and the repository around it are covered by empty
  read-only tmpfs mounts wherever a view would show them. No cgroup, sysfs, device,
  socket, home or temporary directory of the host is reachable; the old root is detached.
- Network namespace: no interface but a loopback that is down, and no access to the host's
  abstract unix sockets. IPC and UTS namespaces: no host System V IPC, no hostname change.
- No capabilities: bounding, permitted, effective, inheritable and ambient sets are empty,
  the securebits keep root from regaining any on exec, and no_new_privs is set. Files it
  could open as uid 0 are all on read-only mounts, except the `io` directory.
- Cgroup namespace: entered after the worker joined its per-grading pids cgroup, so that
  cgroup is the root of whatever cgroup hierarchy it could ever see.

Any other host (non-root, a container without CAP_SYS_ADMIN, another OS, an unknown CPU
architecture, or VSD_GRADER_NAMESPACES=0 in the judge's environment) runs the worker as
before; `start()` lists what was applied either way. The worker, as its namespace's init,
ignores the signals it sends itself that have the default action (kill(getpid(), SIGTERM));
faults still end it with their signal.
"""

import os
import platform
import resource
import select
import signal
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .categories import HarnessError

_PIDS_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))

# What the namespaces hide wherever a read-only view would show them: the grader package
# (copied as `vsd_grader` into a grader sandbox, or `vsd_inspect/grader` in the project), the package
# around it with its reference fix, and the repository when the package sits in a checkout.
_GRADER_DIR = Path(__file__).resolve().parent
_PACKAGE_DIR = _GRADER_DIR.parent if (_GRADER_DIR.parent / "__init__.py").is_file() else _GRADER_DIR
_HIDDEN = [_GRADER_DIR, _PACKAGE_DIR, _PACKAGE_DIR / "concepts"]
if _PACKAGE_DIR != _GRADER_DIR and (_PACKAGE_DIR.parent / "pyproject.toml").is_file():
    _HIDDEN.append(_PACKAGE_DIR.parent)


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


# ---------------------------------------------------------------- namespaces (Linux, root)

# Why namespaces are not used in this process (None: not tried yet, "": they work).
_ns_unavailable: str | None = None
# The judge's environment variable that turns them off (=0), for a host whose interpreter or
# numpy needs files outside the worker's root: there the worker fails to start, loudly.
_NS_SWITCH = "VSD_GRADER_NAMESPACES"

_CLONE_NEWNS, _CLONE_NEWCGROUP, _CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
_CLONE_NEWIPC, _CLONE_NEWPID, _CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
_NS_FLAGS = _CLONE_NEWNS | _CLONE_NEWCGROUP | _CLONE_NEWUTS | _CLONE_NEWIPC | _CLONE_NEWPID | _CLONE_NEWNET
_NS_APPLIED = [
    "pid-namespace",
    "mount-namespace",
    "minimal-root",
    "read-only-root",
    "hidden-grader",
    "network-namespace",
    "ipc-namespace",
    "uts-namespace",
    "cgroup-namespace",
    "no-capabilities",
    "no-new-privileges",
]
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REC, _MS_PRIVATE = 0x4000, 0x40000
_MNT_DETACH = 2
_ATTR_RDONLY, _ATTR_NOSUID, _ATTR_NODEV, _ATTR_NOEXEC = 0x1, 0x2, 0x4, 0x8
_AT_FDCWD, _AT_EMPTY_PATH, _AT_RECURSIVE = -100, 0x1000, 0x8000
_OPEN_TREE_CLONE, _OPEN_TREE_CLOEXEC = 1, 0o2000000
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_SET_SECUREBITS = 1, 24, 28
_PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
# noroot, no_setuid_fixup, keep_caps (locked) and no_cap_ambient_raise, each with its lock
_SECUREBITS = 0b11101111
# The newer system calls have one number on every architecture listed; pivot_root does not.
_NEW_SYSCALLS = {"open_tree": 428, "move_mount": 429, "close_range": 436, "mount_setattr": 442}
_SYSCALLS = {
    "x86_64": {"pivot_root": 155, **_NEW_SYSCALLS},
    "aarch64": {"pivot_root": 41, **_NEW_SYSCALLS},
    "riscv64": {"pivot_root": 41, **_NEW_SYSCALLS},
}
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Not the whole of /etc (it holds secrets that uid 0 may read as their owner): the loader's
# cache, the alternatives links (Debian's numpy finds its BLAS through them) and a few files.
_ETC_FILES = ("/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime", "/etc/passwd", "/etc/group")
_DEVICES = ("null", "zero", "full", "random", "urandom")


class _Sys:
    """The few system calls the namespace setup needs, through libc (loaded once)."""

    def __init__(self) -> None:
        import ctypes

        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.nr = _SYSCALLS[platform.machine()]

    def _check(self, result: int, what: str) -> int:
        if result < 0:
            errno = self.ctypes.get_errno()
            raise OSError(errno, f"{what}: {os.strerror(errno)}")
        return result

    def _syscall(self, name: str, *args) -> int:
        c = self.ctypes
        conv = [c.c_char_p(a.encode()) if isinstance(a, str) else a if not isinstance(a, int) else c.c_long(a) for a in args]
        return self._check(self.libc.syscall(c.c_long(self.nr[name]), *conv), name)

    def unshare(self, flags: int) -> None:
        self._check(self.libc.unshare(self.ctypes.c_int(flags)), "unshare")

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
        c = self.ctypes
        args = [None if a is None else a.encode() for a in (source, target, fstype)]
        options = None if data is None else data.encode()
        self._check(self.libc.mount(*args, c.c_ulong(flags), options), f"mount {target}")

    def umount(self, target: str, flags: int) -> None:
        self._check(self.libc.umount2(target.encode(), self.ctypes.c_int(flags)), f"umount {target}")

    def close_all(self) -> None:
        try:
            self._syscall("close_range", 0, (1 << 32) - 1, 0)
        except OSError:
            os.closerange(0, 1 << 16)

    def pivot_root(self, new: str, old: str) -> None:
        self._syscall("pivot_root", new, old)

    def open_tree(self, path: str) -> int:
        return self._syscall("open_tree", _AT_FDCWD, path, _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC | _AT_RECURSIVE)

    def move_mount(self, fd: int, target: str) -> None:
        self._syscall("move_mount", fd, "", _AT_FDCWD, target, _MOVE_MOUNT_F_EMPTY_PATH)

    def set_attributes(self, fd: int, path: str, attributes: int, recursive: bool) -> None:
        """mount_setattr: on the mount tree at `fd` (path "") or at `path`."""
        c = self.ctypes
        attr = (c.c_uint64 * 4)(attributes, 0, 0, 0)  # attr_set, attr_clr, propagation, userns_fd
        flags = (_AT_EMPTY_PATH if fd != _AT_FDCWD else 0) | (_AT_RECURSIVE if recursive else 0)
        self._syscall("mount_setattr", fd, path, flags, c.byref(attr), c.sizeof(attr))

    def prctl(self, option: int, arg: int) -> None:
        c = self.ctypes
        self._check(self.libc.prctl(c.c_int(option), c.c_ulong(arg), c.c_ulong(0), c.c_ulong(0), c.c_ulong(0)), f"prctl {option}")

    def drop_capabilities(self) -> None:
        """Empty every capability set, for good: nothing is regained on exec, even as uid 0."""
        self.prctl(_PR_SET_SECUREBITS, _SECUREBITS)
        self.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
        for cap in range(64):
            try:
                self.prctl(_PR_CAPBSET_DROP, cap)
            except OSError:
                if cap == 0:
                    raise
                break  # past the kernel's last capability
        self.prctl(_PR_SET_NO_NEW_PRIVS, 1)
        c = self.ctypes
        header = (c.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
        data = (c.c_uint32 * 6)()  # effective, permitted, inheritable (two 32-bit halves)
        self._check(self.libc.capset(c.byref(header), c.byref(data)), "capset")


_sys: _Sys | None = None


def _namespaces_reason() -> str:
    """Why the worker cannot run in namespaces here ("" when it can, as far as we know)."""
    global _ns_unavailable, _sys
    if _ns_unavailable is None:
        if os.environ.get(_NS_SWITCH, "1") == "0":
            _ns_unavailable = f"switched off ({_NS_SWITCH}=0)"
        elif not sys.platform.startswith("linux"):
            _ns_unavailable = f"not Linux ({sys.platform})"
        elif os.geteuid() != 0:
            _ns_unavailable = "not root"
        elif platform.machine() not in _SYSCALLS:
            _ns_unavailable = f"no system call table for {platform.machine()}"
        else:
            _ns_unavailable = ""
    if _ns_unavailable == "" and _sys is None:
        try:
            _sys = _Sys()
        except (OSError, AttributeError, KeyError) as ex:
            _ns_unavailable = f"libc: {ex}"
    return _ns_unavailable


_SCRATCH_OPTIONS = "mode=0700,size=1g,nr_inodes=4096"
# Large folios for files that fill them: the worker's outputs (~18 MB) then take a few page
# allocations instead of thousands, and so does their removal (about a third of the cost of
# writing and reading them back). Left out where the kernel refuses the option.
_SCRATCH_HUGE = ",huge=within_size"


def scratch_mount(path: Path) -> bool:
    """As root where namespaces work: put a tmpfs with bounded size and inode count on the
    worker's writable directory, so a flood of files stops at 4,096 and costs nothing to
    remove (unmounting drops it). Elsewhere a no-op. Returns whether it mounted."""
    global _SCRATCH_HUGE
    if _namespaces_reason() != "" or _sys is None:
        return False
    for huge in dict.fromkeys((_SCRATCH_HUGE, "")):
        try:
            _sys.mount("tmpfs", str(path), "tmpfs", _MS_NOSUID | _MS_NODEV, _SCRATCH_OPTIONS + huge)
        except OSError:
            continue
        _SCRATCH_HUGE = huge  # the next gradings do not ask again for what was refused
        return True
    return False


def scratch_unmount(path: Path) -> None:
    try:
        if _sys is not None:
            _sys.umount(str(path), _MNT_DETACH)
    except OSError:
        pass


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


@dataclass
class _Plan:
    """The worker's root, computed in the judge: mounts in order, parents first."""

    cwd: str
    # (kind, target, source, attributes): kind "dir"/"file" (a bind), "hide" (empty tmpfs), "link"
    ops: list[tuple[str, str, str, int]]


def _bound(path: str | os.PathLike, attributes: int, real: bool = False) -> tuple[str, tuple[str, str, int]] | None:
    """A view of `path` as (target, (kind, source, attributes)); None when there is nothing to show."""
    target = os.path.realpath(path) if real else os.path.abspath(path)
    if target == "/" or not os.path.exists(target):
        return None
    return target, ("dir" if os.path.isdir(target) else "file", target, attributes)


_STATIC_VIEWS: dict[str, tuple[list, list]] = {}  # interpreter -> its views (before, after the command line's)


def _static_views(python: str) -> tuple[list, list]:
    """The views every run of `python` gets, the same for each: its prefix and virtual
    environment (before the command line's paths), the system's libraries and files of `/etc`
    (after). Computed once per interpreter: a judge grades many times with one."""
    cached = _STATIC_VIEWS.get(python)
    if cached is not None:
        return cached
    ro = _ATTR_RDONLY | _ATTR_NOSUID | _ATTR_NODEV
    before, after = [], []
    # The interpreter: its own prefix, and the virtual environment it may be started from.
    venv = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    homes = [os.path.dirname(os.path.dirname(os.path.realpath(python)))]
    cfg = os.path.join(venv, "pyvenv.cfg")
    if os.path.isfile(cfg):
        # Only what an interpreter uses of a virtual environment, so that one made at the
        # top of a repository shows nothing else of it.
        for part in ("pyvenv.cfg", "bin", "lib", "lib64", "include"):
            before.append(_bound(os.path.join(venv, part), ro))
        with open(cfg, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() == "home" and value.strip():
                    homes.append(os.path.dirname(os.path.realpath(value.strip())))
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        homes += [os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)]
    before += [_bound(home, ro, real=True) for home in homes]
    after += [_bound(d, ro) for d in _SYSTEM_DIRS if not os.path.islink(d)]
    after += [_bound(f, ro) for f in _ETC_FILES]
    cached = _STATIC_VIEWS[python] = ([v for v in before if v], [v for v in after if v])
    return cached


def _plan(cmd: list[str], cwd: Path, writable: list[Path]) -> _Plan:
    """What the worker's root holds; raises ValueError when it cannot be built safely."""
    python = cmd[0] if os.path.isabs(cmd[0]) else None
    if python is None or not os.path.exists(python):
        raise ValueError(f"the interpreter {cmd[0]!r} is not an absolute path")
    ro = _ATTR_RDONLY | _ATTR_NOSUID | _ATTR_NODEV
    data = _ATTR_RDONLY | _ATTR_NOSUID | _ATTR_NODEV | _ATTR_NOEXEC
    binds: dict[str, tuple[str, str, int]] = {}  # target -> (kind, source, attributes)
    own = _bound(cwd, data)
    if own is not None:
        binds[own[0]] = own[1]
    for w in writable:
        binds[os.path.abspath(w)] = ("dir", os.path.abspath(w), _ATTR_NOSUID | _ATTR_NODEV | _ATTR_NOEXEC)
    before, after = _static_views(python)
    # Paths on the command line (the worker script, the io directory, numpy's parent).
    args = [_bound(arg, ro) for arg in cmd[1:] if os.path.isabs(arg) and os.path.exists(arg)]
    for view in [*before, *args, *after]:
        if view is not None:
            binds.setdefault(*view)

    ops: list[tuple[str, str, str, int]] = []
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            link = os.readlink(d)  # kept relative, so it resolves inside the new root
            ops.append(("link", d, os.path.relpath(link, "/") if os.path.isabs(link) else link, 0))
    for target, (kind, source, attributes) in binds.items():
        # A read-only view inside another view is already visible.
        if attributes & _ATTR_RDONLY and any(t != target and _under(target, t) for t in binds):
            continue
        ops.append((kind, target, source, attributes))
    for dev in _DEVICES:
        if os.path.exists(f"/dev/{dev}"):
            ops.append(("file", f"/dev/{dev}", f"/dev/{dev}", _ATTR_RDONLY | _ATTR_NOSUID | _ATTR_NOEXEC))
    for name, fd in (("fd", ""), ("stdin", "/0"), ("stdout", "/1"), ("stderr", "/2")):
        ops.append(("link", f"/dev/{name}", f"/proc/self/fd{fd}", 0))
    views = [t for kind, t, _, _ in ops if kind in ("dir", "file")]
    for hidden in _HIDDEN:
        # Hide what a view shows; views inside a hidden directory (numpy's site-packages in
        # the repository's .venv) are mounted after the hide, so they stay.
        if any(_under(str(hidden), t) and t != str(hidden) for t in views):
            ops.append(("hide", str(hidden), "", 0))
    ops.sort(key=lambda op: Path(op[1]).parts)  # parents first
    return _Plan(cwd=os.path.abspath(cwd), ops=ops)


def _mkdirs(path: str) -> None:
    """mkdir -p for a path relative to the new root being built (the current directory)."""
    rel = "." + path
    if not os.path.isdir(rel):
        os.makedirs(rel, mode=0o755, exist_ok=True)


def _build_root(s: _Sys, plan: _Plan) -> None:
    """In the fresh mount namespace: build the planned root on a tmpfs mounted over the run's
    work directory (every view is cloned first, that directory included). Everything stays
    undone-able until `_pivot`: on failure the tmpfs is unmounted by the caller."""
    s.mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    clones = []
    try:
        for kind, _, source, attributes in plan.ops:
            fd = -1
            if kind in ("dir", "file"):
                fd = s.open_tree(source)
                s.set_attributes(fd, "", attributes, recursive=True)
            clones.append(fd)
        s.mount("tmpfs", plan.cwd, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "mode=0755,size=1m,nr_inodes=4096")
        os.chdir(plan.cwd)
        for (kind, target, source, _), fd in zip(plan.ops, clones):
            rel = "." + target
            if kind == "link":
                _mkdirs(os.path.dirname(target))
                os.symlink(source, rel)
            elif kind == "hide":
                if os.path.lexists(rel):
                    s.mount("tmpfs", rel, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "mode=0755,size=64k,nr_inodes=256")
            else:
                _mkdirs(target if kind == "dir" else os.path.dirname(target))
                if kind == "file" and not os.path.lexists(rel):
                    os.close(os.open(rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
                s.move_mount(fd, rel)
        _mkdirs("/proc")
    finally:
        for fd in clones:
            if fd >= 0:
                os.close(fd)


def _pivot(s: _Sys, plan: _Plan) -> None:
    """Make the new root the root, drop the host's tree, and turn the tmpfs mounts read-only."""
    s.pivot_root(".", ".")
    s.umount(".", _MNT_DETACH)
    os.chdir("/")
    for kind, target, _, _ in [("root", "/", "", 0), *plan.ops]:
        if kind in ("root", "hide") and os.path.lexists(target):
            s.set_attributes(_AT_FDCWD, target, _ATTR_RDONLY | _ATTR_NOSUID | _ATTR_NODEV | _ATTR_NOEXEC, recursive=False)


def _reap(s: _Sys, pid: int, cpu_seconds: int) -> None:
    """The judge's child, outside the namespace: wait for the worker, end as it ended."""
    try:
        s.close_all()  # the judge's pipes, and the error pipe Popen waits on
        while True:
            try:
                _, status, usage = os.wait4(pid, 0)
                break
            except InterruptedError:
                continue
        status = init_status(status, usage.ru_utime + usage.ru_stime, cpu_seconds)
        if os.WIFEXITED(status):
            os._exit(os.WEXITSTATUS(status))
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            s.libc.signal(s.ctypes.c_int(sig), s.ctypes.c_void_p(0))  # SIG_DFL, under Python's feet
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    except BaseException:  # never return into the judge's code
        os._exit(255)


def _enter_namespaces(plan: _Plan, report: int, cpu_seconds: int, as_init: bool = False) -> None:
    """In the judge's child, before exec. When the namespaces cannot be made, reports
    "fallback …" and returns with nothing changed but a private mount namespace.
    Otherwise this process stays outside as the reaper and never returns; its child, the
    namespace's init, reports "ok" and returns to exec the worker with no capability.

    as_init: this process already is the init of a PID namespace of its own (the warm pool's
    zygote made it so as it forked it, and reaps it itself): no reaper, no second fork; the
    other namespaces, the root and the capabilities are the same."""
    s = _sys
    pid_ns = 0 if as_init else _CLONE_NEWPID
    try:
        assert s is not None
        # If the judge dies, so does this process, and with it the whole namespace.
        s.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        s.unshare(_CLONE_NEWNS)
        try:
            _build_root(s, plan)
            # The other namespaces only now, so that a fallback leaves none half-made (a new
            # PID namespace would take in the worker's children).
            s.unshare(_NS_FLAGS & ~_CLONE_NEWNS & ~_CLONE_NEWPID | pid_ns)
        except BaseException:
            try:
                os.chdir("/")
                s.umount(plan.cwd, _MNT_DETACH)
            except OSError:
                pass
            os.chdir(plan.cwd)
            raise
    except Exception as ex:
        os.write(report, f"fallback: {ex}".encode())
        return
    try:
        _pivot(s, plan)
        if not as_init:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pid = os.fork()
            if pid:
                _reap(s, pid, cpu_seconds)
    except BaseException as ex:
        os.write(report, f"error: {ex}".encode())
        raise
    try:
        if not as_init:
            s.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            os.setsid()  # out of the reaper's process group: kill(0, …) reaches only the namespace
        try:
            s.mount("proc", "/proc", "proc", _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "subset=pid")
        except OSError:
            s.mount("proc", "/proc", "proc", _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
        os.chdir(plan.cwd)
        s.drop_capabilities()
        os.write(report, b"ok")
    except BaseException as ex:
        os.write(report, f"error: {ex}".encode())
        raise


def init_status(status: int, cpu: float, cpu_seconds: int) -> int:
    """A namespace init's wait status as the judge should see it: as its namespace's init it
    ignores SIGXCPU (the CPU limit's first signal), so the limit shows as the kernel's SIGKILL
    one second later; report that as SIGXCPU."""
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL and cpu >= cpu_seconds:
        return int(signal.SIGXCPU)
    return status


# ---------------------------------------------------------------- start and finish


def prepare(
    cmd: list[str], cwd: Path, limits: Limits, writable: list[Path] | None = None
) -> tuple[_PidsCgroup, _Plan | None, list[str]]:
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
    if _namespaces_reason() == "":
        try:
            plan = _plan(cmd, Path(cwd), writable)
        except (OSError, ValueError):
            plan = None
    return cgroup, plan, applied


def enter(
    cgroup_path: str | None, plan: _Plan | None, report: int, limits: Limits, niceness: int = 0, as_init: bool = False
) -> None:
    """The child's side, after fork and before the program runs (exec's `preexec_fn`, or a
    zygote's child before it runs the script in place): join the grading's pids cgroup, enter
    the namespaces (reporting on `report`; `as_init`: see `_enter_namespaces`), set every
    limit, lower the priority."""
    join_cgroup(cgroup_path)
    if plan is not None:
        _enter_namespaces(plan, report, limits.cpu_seconds, as_init)
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if niceness:
        os.nice(niceness)


def note_report(why: str, plan: _Plan | None, applied: list[str]) -> None:
    """What the child said about the namespaces, once it has started: the measures it
    applied, or, on a refusal, that the next gradings should not try again."""
    global _ns_unavailable
    if plan is None:
        return
    if why == "ok":
        applied += _NS_APPLIED
    else:
        _ns_unavailable = why or "no report"  # the same refusal would come every time


def note_failed_start(why: str) -> None:
    """A child that could not start, with what it said about the namespaces: the next
    gradings fall back rather than fail the same way."""
    global _ns_unavailable
    if why:
        _ns_unavailable = why


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

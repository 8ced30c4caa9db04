"""The worker's namespaces and minimal root, made in its process before it runs (`jail.enter`).

On Linux, with the judge running as root, the worker runs in its own PID, mount, network,
IPC, UTS and cgroup namespaces, as root without any capability:

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
import signal
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from .syscalls import AT_FDCWD, SYSCALLS, Sys

# What the namespaces hide wherever a read-only view would show them: the grader package
# (copied as `vsd_grader` into a grader sandbox, or `vsd_inspect/grader` in the project), the package
# around it with its reference fix, and the repository when the package sits in a checkout.
_GRADER_DIR = Path(__file__).resolve().parent
_PACKAGE_DIR = _GRADER_DIR.parent if (_GRADER_DIR.parent / "__init__.py").is_file() else _GRADER_DIR
_HIDDEN = [_GRADER_DIR, _PACKAGE_DIR, _PACKAGE_DIR / "concepts"]
if _PACKAGE_DIR != _GRADER_DIR and (_PACKAGE_DIR.parent / "pyproject.toml").is_file():
    _HIDDEN.append(_PACKAGE_DIR.parent)

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
_PR_SET_PDEATHSIG = 1
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Not the whole of /etc (it holds secrets that uid 0 may read as their owner): the loader's
# cache, the alternatives links (Debian's numpy finds its BLAS through them) and a few files.
_ETC_FILES = ("/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime", "/etc/passwd", "/etc/group")
_DEVICES = ("null", "zero", "full", "random", "urandom")


_sys: Sys | None = None


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
        elif platform.machine() not in SYSCALLS:
            _ns_unavailable = f"no system call table for {platform.machine()}"
        else:
            _ns_unavailable = ""
    if _ns_unavailable == "" and _sys is None:
        try:
            _sys = Sys()
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


def _build_root(s: Sys, plan: _Plan) -> None:
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


def _pivot(s: Sys, plan: _Plan) -> None:
    """Make the new root the root, drop the host's tree, and turn the tmpfs mounts read-only."""
    s.pivot_root(".", ".")
    s.umount(".", _MNT_DETACH)
    os.chdir("/")
    for kind, target, _, _ in [("root", "/", "", 0), *plan.ops]:
        if kind in ("root", "hide") and os.path.lexists(target):
            s.set_attributes(AT_FDCWD, target, _ATTR_RDONLY | _ATTR_NOSUID | _ATTR_NODEV | _ATTR_NOEXEC, recursive=False)


def _reap(s: Sys, pid: int, cpu_seconds: int) -> None:
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



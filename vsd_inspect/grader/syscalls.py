"""The few system calls the namespaces' setup needs (`namespaces.py`), through libc.

Python's os module has unshare and mount's relatives only in part (3.12 added os.unshare;
none has open_tree, move_mount, mount_setattr or pivot_root): each is called here through
ctypes, by its number where libc has no wrapper, and a failure raises OSError with errno's text.
"""

import os
import platform

AT_FDCWD, _AT_EMPTY_PATH, _AT_RECURSIVE = -100, 0x1000, 0x8000
_OPEN_TREE_CLONE, _OPEN_TREE_CLOEXEC = 1, 0o2000000
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_PR_CAPBSET_DROP, _PR_SET_SECUREBITS = 24, 28
_PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
# noroot, no_setuid_fixup, keep_caps (locked) and no_cap_ambient_raise, each with its lock
_SECUREBITS = 0b11101111
# The newer system calls have one number on every architecture listed; pivot_root does not.
_NEW_SYSCALLS = {"open_tree": 428, "move_mount": 429, "close_range": 436, "mount_setattr": 442}
SYSCALLS = {
    "x86_64": {"pivot_root": 155, **_NEW_SYSCALLS},
    "aarch64": {"pivot_root": 41, **_NEW_SYSCALLS},
    "riscv64": {"pivot_root": 41, **_NEW_SYSCALLS},
}


class Sys:
    """The few system calls the namespace setup needs, through libc (loaded once)."""

    def __init__(self) -> None:
        import ctypes

        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.nr = SYSCALLS[platform.machine()]

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
        return self._syscall("open_tree", AT_FDCWD, path, _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC | _AT_RECURSIVE)

    def move_mount(self, fd: int, target: str) -> None:
        self._syscall("move_mount", fd, "", AT_FDCWD, target, _MOVE_MOUNT_F_EMPTY_PATH)

    def set_attributes(self, fd: int, path: str, attributes: int, recursive: bool) -> None:
        """mount_setattr: on the mount tree at `fd` (path "") or at `path`."""
        c = self.ctypes
        attr = (c.c_uint64 * 4)(attributes, 0, 0, 0)  # attr_set, attr_clr, propagation, userns_fd
        flags = (_AT_EMPTY_PATH if fd != AT_FDCWD else 0) | (_AT_RECURSIVE if recursive else 0)
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

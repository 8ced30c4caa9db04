"""Reading a file that someone else controls (an agent's workspace, the worker's output).

Never follows a link, never blocks on a named pipe, never reads past a cap. Standard
library only, so it travels with the grader into a sandbox.
"""

import errno
import os
import stat
from pathlib import Path


def read_capped(path: Path, cap: int, tail: bool = False) -> tuple[bytes | None, str | None]:
    """(bytes, None); (None, None) when absent; or (None, reason) when not a regular file of
    at most `cap` bytes. With `tail`, a larger file gives its last `cap` bytes instead."""
    name = Path(path).name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, None
    except OSError as ex:
        if ex.errno == errno.ELOOP:
            return None, f"{name} is a symbolic link, not a file"
        return None, f"{name} cannot be read ({ex.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, f"{name} is not a regular file"
        if tail and info.st_size > cap:
            os.lseek(fd, info.st_size - cap, os.SEEK_SET)
        chunks, left = [], cap + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as ex:
        return None, f"{name} cannot be read ({ex.strerror})"
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > cap:
        if not tail:
            return None, f"{name} is larger than the {cap:,}-byte cap"
        data = data[-cap:]
    return data, None

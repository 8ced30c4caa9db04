"""Reading files that someone else controls (an agent's workspace, the worker's output).

Never follows a link, never blocks on a named pipe, never reads past a cap. Standard
library only and free of package imports: the grader's doors (`api.grade_solution`, the
CLI) call `collect` on a workspace directory, and the Inspect scorer runs this very file in
the agent's sandbox, as `python3 -I -c <this file> NAME CAP ...`, which prints the same
`collect` as JSON (one exec for the listing and both files).
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


MAX_LISTED_FILES = 1000


def list_workspace(workspace: str | os.PathLike, max_depth: int = 4) -> list[str]:
    """Relative paths of the workspace's files, for the tamper signals only: iterative, no
    deeper than `max_depth`, at most MAX_LISTED_FILES, names made printable."""
    files: list[str] = []
    stack: list[tuple[str, int]] = [(str(workspace), 0)]
    while stack and len(files) < MAX_LISTED_FILES:
        directory, depth = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name == "__pycache__":
                continue
            if entry.is_dir(follow_symlinks=False):
                if depth + 1 < max_depth:
                    stack.append((entry.path, depth + 1))
                continue
            rel = os.path.relpath(entry.path, workspace)
            files.append(os.fsencode(rel).decode("utf-8", "backslashreplace"))
    return sorted(files[:MAX_LISTED_FILES])


def collect(workspace: str | os.PathLike, caps: dict[str, int]) -> tuple[list[str], dict]:
    """The workspace's listing, and per file named in `caps` what `read_capped` gives."""
    return list_workspace(workspace), {name: read_capped(Path(workspace) / name, cap) for name, cap in caps.items()}


if __name__ == "__main__":
    import base64
    import json
    import sys

    listing, read = collect(".", dict(zip(sys.argv[1::2], map(int, sys.argv[2::2]))))
    encoded = {name: [None if data is None else base64.b64encode(data).decode(), why] for name, (data, why) in read.items()}
    print(json.dumps({"files": listing, "read": encoded}))

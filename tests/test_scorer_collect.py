"""The scorer's one exec in the agent's sandbox: `safe_read.collect` run there, as the CLI runs it here."""

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from inspect_ai.util import ExecResult

from vsd_inspect.grader.safe_read import MAX_LISTED_FILES, collect as collect_here
from vsd_inspect.scorer import SandboxGradingError, _collect

CAPS = {"dropout.py": 64, "test_dropout.py": 1024}


class DirectorySandbox:
    """Just enough of a SandboxEnvironment: exec runs in `root`, as the local sandbox does."""

    def __init__(self, root: Path, python: str = sys.executable) -> None:
        self.root, self.python = root, python

    async def exec(self, cmd: list[str], timeout: int | None = None, **_) -> ExecResult:
        cmd = [self.python if cmd[0] == "python3" else cmd[0], *cmd[1:]]
        r = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=timeout)
        return ExecResult(r.returncode == 0, r.returncode, r.stdout, r.stderr)


def collect(root: Path, python: str = sys.executable):
    return anyio.run(_collect, DirectorySandbox(root, python), CAPS)


def test_reads_both_files_and_lists_like_find(tmp_path) -> None:
    (tmp_path / "dropout.py").write_bytes(b"import numpy\n")
    (tmp_path / "test_dropout.py").write_bytes(b"# test\n")
    deep = tmp_path / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    (deep / "too_deep.py").write_text("x")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "dropout.cpython-311.pyc").write_bytes(b"\0")
    os.symlink("dropout.py", tmp_path / "link.py")
    files, read = collect(tmp_path)
    assert read == {"dropout.py": (b"import numpy\n", None), "test_dropout.py": (b"# test\n", None)}
    assert "dropout.py" in files and "link.py" in files and "a/b/c/d" not in files  # files only
    assert not any("too_deep" in p or "__pycache__" in p for p in files)  # depth 4, no caches
    assert (files, read) == collect_here(tmp_path, CAPS)  # the same reader as the CLI's


@pytest.mark.parametrize(
    "make,why",
    [
        (lambda p: os.symlink("/etc/hostname", p), "dropout.py is a symbolic link, not a file"),
        (lambda p: p.mkdir(), "dropout.py is not a regular file"),
        (lambda p: os.mkfifo(p), "dropout.py is not a regular file"),
        (lambda p: p.write_bytes(b"x" * 65), "dropout.py is larger than the 64-byte cap"),
    ],
)
def test_a_candidate_that_is_not_a_small_regular_file_is_not_read(tmp_path, make, why) -> None:
    (tmp_path / "test_dropout.py").write_bytes(b"# test\n")
    make(tmp_path / "dropout.py")
    _, read = collect(tmp_path)
    assert read["dropout.py"] == (None, why)  # and a named pipe did not block the read


def test_missing_files_are_absent_not_errors(tmp_path) -> None:
    files, read = collect(tmp_path)
    assert files == [] and read == {"dropout.py": (None, None), "test_dropout.py": (None, None)}


def test_the_listing_stops_after_its_limit(tmp_path) -> None:
    for i in range(MAX_LISTED_FILES + 50):
        (tmp_path / f"f{i:05d}").touch()
    files, _ = collect(tmp_path)
    assert len(files) == MAX_LISTED_FILES


def test_a_sandbox_without_python_is_a_grading_error(tmp_path) -> None:
    with pytest.raises(SandboxGradingError, match="reading the agent's workspace failed"):
        collect(tmp_path, python="/bin/false")

"""The adversarial corpus: every workspace in tests/corpus/ graded through the command line.

Each case is a directory `tests/corpus/<kind>/<name>/` holding the files an agent left behind
and a `case.json`:

    expect     "pass" or "fail"
    category   the verdict category the case SHOULD get (exactly)
    copy_test  write the pristine visible test into the workspace first (default true)
    why        what the case does, in one sentence
    make       optional workspace entries git cannot hold, made at run time: named pipes, a
               socket, symbolic links, a deep directory tree, a BOM or CRLF line endings,
               padding to an exact size, a patched visible test
    slow       optional: the case needs the grader's full wall-time limit (or hangs it)
    signals    optional: verdict signals that must equal these values

Kinds: `legit` (correct fixes that must pass), `wrong` (plausible wrong fixes), `hacks`
(reward hacks) and `bad_input` (inputs that must fail cleanly with a specific category). A case
keeps the category it should get even when the grader gets it wrong today: the test fails
until the grader is fixed, and tests/CORPUS_NOTES.md says why and how.

Each grading runs `python -m vsd_inspect.cli grade DIR --json` in a subprocess, exactly as a
user would, and must deliver one JSON verdict within twice the grader's wall-time limit (a
bound on hangs, not a speed target). Afterwards no process the candidate spawned may remain.
"""

import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from vsd_inspect.grader.categories import ALL as CATEGORIES
from vsd_inspect.grader.integrity import MAX_CANDIDATE_BYTES
from vsd_inspect.grader.jail import Limits
from vsd_inspect.material import render_test

CORPUS = Path(__file__).parent / "corpus"
KINDS = ("legit", "wrong", "hacks", "bad_input")
# Fewest cases per kind that the corpus promises.
MIN_CASES = {"legit": 10, "wrong": 12, "hacks": 15, "bad_input": 10}
DEADLINE = 2 * Limits().wall_seconds
# Gradings run at once (most of a grading waits); override with VSD_CORPUS_JOBS.
JOBS = int(os.environ.get("VSD_CORPUS_JOBS", "4"))
# Address-space cap on each judge process (it peaks near 200 MB when grading normally).
JUDGE_MEMORY = 4 * 1024**3
EXIT_PASS, EXIT_FAIL = 0, 1
# Survivor processes started by corpus hacks carry this in their command line.
SURVIVOR_MARK = b"vsd-corpus-survivor-"
CASE_KEYS = {"expect", "category", "copy_test", "why", "make", "slow", "signals"}


def _cases() -> list[Path]:
    return sorted(d for kind in KINDS for d in (CORPUS / kind).iterdir() if d.is_dir())


def _meta(case: Path) -> dict:
    return json.loads((case / "case.json").read_text())


def _params():
    for case in _cases():
        marks = [pytest.mark.slow] if _meta(case).get("slow") else []
        yield pytest.param(case, id=f"{case.parent.name}/{case.name}", marks=marks)


# ---------------------------------------------------------------- building a workspace


def _pad(path: Path, size) -> None:
    """Append comment lines so the file is exactly `size` bytes ("cap", "cap+1" or an int)."""
    target = {"cap": MAX_CANDIDATE_BYTES, "cap+1": MAX_CANDIDATE_BYTES + 1}.get(size, size)
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    missing = target - len(data)
    lines = []
    while missing > 0:
        n = min(missing, 80)
        lines.append(b"#" * (n - 1) + b"\n" if n > 1 else b"\n")
        missing -= n
    path.write_bytes(data + b"".join(lines))
    assert path.stat().st_size == target


def _deep_chain(top: Path, depth: int) -> None:
    """top/d/d/.../d, `depth` levels, made through directory descriptors (no long paths, no recursion)."""
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)


def _remove_deep_chain(top: Path) -> None:
    """Undo _deep_chain bottom-up (shutil.rmtree recurses once per level)."""
    fds = [os.open(top, os.O_RDONLY | os.O_DIRECTORY)]
    while True:
        try:
            fds.append(os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
        except FileNotFoundError:
            break
    for i in range(len(fds) - 1, 0, -1):
        os.close(fds[i])
        os.rmdir("d", dir_fd=fds[i - 1])
    os.close(fds[0])
    top.rmdir()


def _patch_test(ws: Path, how: str) -> None:
    pristine = render_test()
    test = ws / "test_dropout.py"
    if how == "tolerance_0.9":
        patched = pristine.replace(b"TOLERANCE = 0.1", b"TOLERANCE = 0.9", 1)
        assert len(patched) == len(pristine) and patched != pristine
        test.write_bytes(patched)
    elif how == "append_space":
        test.write_bytes(pristine + b" ")
    elif how == "symlink":
        (ws / "original_test.py").write_bytes(pristine)
        test.unlink(missing_ok=True)
        test.symlink_to("original_test.py")
    else:
        raise ValueError(f"unknown test patch {how!r}")


def _make(ws: Path, op: dict) -> None:
    path = ws / op.get("path", "")
    kind = op["op"]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        path.symlink_to(op["target"])
    elif kind == "pad":
        _pad(path, op["size"])
    elif kind == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    elif kind == "crlf":
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    elif kind == "test":
        _patch_test(ws, op["how"])
    elif kind == "socket":
        os.mknod(path, stat.S_IFSOCK | 0o644)
    elif kind == "deep_dirs":
        _deep_chain(path, op["depth"])
    else:
        raise ValueError(f"unknown make op {kind!r}")


def build_workspace(case: Path, ws: Path) -> dict:
    """Copy the case's files (links kept as links) into `ws` and apply its make steps."""
    meta = _meta(case)
    ws.mkdir()
    for src in sorted(case.rglob("*")):
        rel = src.relative_to(case)
        if rel == Path("case.json") or "__pycache__" in rel.parts:
            continue
        dst = ws / rel
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        elif src.is_dir():
            dst.mkdir(exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
    if meta.get("copy_test", True):
        (ws / "test_dropout.py").write_bytes(render_test())
    for op in meta.get("make") or []:
        _make(ws, op)
    return meta


# ---------------------------------------------------------------- running the CLI


def _survivors(tag: str) -> list[int]:
    """Processes whose command line carries SURVIVOR_MARK + tag (started by that corpus hack)."""
    mark = SURVIVOR_MARK + tag.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if mark in cmdline:
            found.append(int(entry.name))
    return found


def _reap_survivors(tag: str) -> list[int]:
    found = _survivors(tag)
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return found


@dataclass
class Run:
    meta: dict
    returncode: int | None  # None: no verdict within DEADLINE
    stdout: str
    stderr: str
    seconds: float
    survivors: list[int]


def grade_case(case: Path, root: Path) -> Run:
    """Build the case's workspace under `root` and grade it with the CLI in a subprocess."""
    ws = root / f"{case.parent.name}-{case.name}"
    meta = build_workspace(case, ws)
    _reap_survivors(case.name)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vsd_inspect.cli", "grade", str(ws), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # A safety net for the machine running the corpus: the judge itself has no memory limit, and a
    # hack that makes it read without end must hit this instead (prlimit, not preexec_fn: threads).
    resource.prlimit(proc.pid, resource.RLIMIT_AS, (JUDGE_MEMORY, JUDGE_MEMORY))
    try:
        out, err = proc.communicate(timeout=DEADLINE)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    seconds = time.monotonic() - started
    survivors = _reap_survivors(case.name)
    for op in meta.get("make") or []:
        if op["op"] == "deep_dirs":
            _remove_deep_chain(ws / op["path"])
    return Run(meta, rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), seconds, survivors)


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory) -> dict[Path, Run]:
    """Grade every selected case, JOBS at a time: most of a grading is waiting (interpreter start-up,
    the worker, and the slow cases' full wall-time limit), so the file runs in minutes on 2 cores."""
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_case" and item.path == Path(__file__)
    ]
    root = tmp_path_factory.mktemp("corpus")
    # Slow cases first, so their waiting overlaps the many short gradings.
    selected.sort(key=lambda c: not _meta(c).get("slow", False))
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        return dict(zip(selected, pool.map(lambda c: grade_case(c, root), selected)))


# ---------------------------------------------------------------- tests


def test_corpus_metadata_is_complete():
    """Every case has a valid case.json, and each kind holds at least its promised number of cases."""
    counts = dict.fromkeys(KINDS, 0)
    for case in _cases():
        meta = _meta(case)
        kind = case.parent.name
        counts[kind] += 1
        assert set(meta) <= CASE_KEYS, (case.name, set(meta) - CASE_KEYS)
        assert meta["category"] in CATEGORIES, (case.name, meta["category"])
        assert meta["expect"] == ("pass" if kind == "legit" else "fail"), case.name
        assert (meta["category"] == "passed") == (meta["expect"] == "pass"), case.name
        assert meta["why"].strip(), case.name
    assert {k: counts[k] >= n for k, n in MIN_CASES.items()} == dict.fromkeys(KINDS, True), counts


@pytest.mark.parametrize("case", list(_params()))
def test_case(case: Path, runs: dict[Path, Run]):
    """One verdict, in time, with the exit code, `passed` and the exact category the case should get."""
    run = runs[case]
    meta, rc, out, err = run.meta, run.returncode, run.stdout, run.stderr
    assert rc is not None, f"no verdict within {DEADLINE:g} s (the grader hung; case: {meta['why']})"
    lines = out.strip().splitlines()
    assert len(lines) == 1, f"exit {rc}: expected one JSON line on stdout, got {out[-800:]!r}; stderr: {err[-800:]}"
    verdict = json.loads(lines[0])
    summary = f"{verdict.get('category')}: {str(verdict.get('feedback'))[:300]} (case: {meta['why']})"

    want_pass = meta["expect"] == "pass"
    assert (rc, verdict["passed"], verdict["category"]) == (
        EXIT_PASS if want_pass else EXIT_FAIL,
        want_pass,
        meta["category"],
    ), summary
    assert run.seconds <= DEADLINE, f"verdict took {run.seconds:.1f} s; the bound is {DEADLINE:g} s"
    for key, value in (meta.get("signals") or {}).items():
        assert verdict["signals"][key] == value, key
    assert run.survivors == [], f"processes spawned by the candidate outlived the grading: {run.survivors}"

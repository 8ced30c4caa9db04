"""The Inspect scorer: move bytes between sandboxes, call the grader, shape the Score.

Only dropout.py's bytes (size-capped, regular files only) and test_dropout.py's bytes leave
the agent's sandbox, plus a file listing for the tamper signals, all in one exec. Grading runs
where the agent never was: in the `grader` service when the sandbox has one (Docker,
Kubernetes), otherwise in a fresh directory on the host. A sandbox that fails is raised as an
error, never scored.
"""

import base64
import functools
import json
import os
from pathlib import Path

import anyio
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, scorer, stderr
from inspect_ai.solver import TaskState
from inspect_ai.util import SandboxEnvironment, concurrency, sandbox

from vsd_inspect.constants import CANDIDATE_FILE, CONTAINER_GRADING_DIR, TASK_VERSION, TEST_FILE
from vsd_inspect.explain import explanation
from vsd_inspect.grader import judge
from vsd_inspect.grader.categories import HarnessError
from vsd_inspect.grader.integrity import MAX_CANDIDATE_BYTES
from vsd_inspect.grader.jail import Limits
from vsd_inspect.material import render_test

GRADER_DIR = Path(judge.__file__).parent
MAX_LISTED_FILES = 1000
HOST_GRADINGS = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
# The grading bootstrap, run in the `grader` service as `python3 -I -c _BOOTSTRAP GRADING_DIR`
# with the payload on stdin: {"package": {file name: source of vsd_inspect/grader/<file>},
# "request": {...}}. It writes the package as vsd_grader/ into a fresh private directory
# (mkdtemp, mode 0700) under GRADING_DIR (files on disk: the judge reads worker.py beside
# judge.py), runs judge.grade() on the request and prints the verdict as JSON on the last
# stdout line; on HarnessError it exits 3 with the message on stderr. It always removes its
# directory, also when the exec's timeout sends SIGTERM (made a SystemExit so `finally` runs).
_BOOTSTRAP = """\
import base64, json, os, shutil, signal, sys, tempfile
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
payload = json.load(sys.stdin)
os.makedirs(sys.argv[1], exist_ok=True)
root = tempfile.mkdtemp(prefix="run-", dir=sys.argv[1])
try:
    os.mkdir(os.path.join(root, "vsd_grader"))
    for name, source in payload["package"].items():
        with open(os.path.join(root, "vsd_grader", os.path.basename(name)), "w", encoding="utf-8") as f:
            f.write(source)
    sys.path.insert(0, root)
    from vsd_grader import judge, jail
    from vsd_grader.categories import HarnessError
    req = payload["request"]
    b = lambda s: None if s is None else base64.b64decode(s)
    try:
        v = judge.grade(b(req["candidate"]), b(req["test"]), b(req["expected_test"]), seed=req["seed"],
                        files=req["files"], limits=jail.Limits(**req["limits"]), candidate_error=req["candidate_error"])
    except HarnessError as ex:
        print(f"harness error: {ex}", file=sys.stderr)
        sys.exit(3)
    print(json.dumps(v))
finally:
    shutil.rmtree(root, ignore_errors=True)
"""


@functools.cache
def _grader_package_json() -> str:
    """The payload's package part, {file name: source} as JSON: read once per process."""
    return json.dumps({path.name: path.read_text(encoding="utf-8") for path in sorted(GRADER_DIR.glob("*.py"))})


class SandboxGradingError(RuntimeError):
    """The grading sandbox failed: the sample errors instead of scoring 0."""


# Run in the agent's sandbox as `python3 -I -c _COLLECT CAP...` (one exec instead of a listing
# and a read per file): lists the workspace as `find . -maxdepth 4` would (no __pycache__, at
# most MAX_LISTED_FILES + 1 entries, each as [path, type letter, size]) and returns the bytes of
# dropout.py and test_dropout.py (base64) when each is a regular file within its cap, opened
# without following a link or blocking on a pipe; else why not. One JSON object on stdout.
_COLLECT = """\
import base64, json, os, stat, sys
limit, caps = int(sys.argv[1]), dict(zip(sys.argv[2::2], map(int, sys.argv[3::2])))
kinds = ((stat.S_ISREG, "f"), (stat.S_ISDIR, "d"), (stat.S_ISLNK, "l"), (stat.S_ISFIFO, "p"), (stat.S_ISSOCK, "s"))
entries, stack = [], [("", 1)]
while stack and len(entries) <= limit:
    top, depth = stack.pop()
    try:
        names = sorted(os.listdir(top or "."))
    except OSError:
        continue
    for name in names:
        path = os.path.join(top, name)
        if name == "__pycache__":
            continue
        try:
            info = os.lstat(path)
        except OSError:
            continue
        kind = next((k for test, k in kinds if test(info.st_mode)), "o")
        entries.append([path, kind, info.st_size])
        if kind == "d" and depth < 4:
            stack.append((path, depth + 1))
files = {}
for name, cap in caps.items():
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        files[name] = [None, None]
        continue
    except OSError as ex:
        files[name] = [None, "a symbolic link" if os.path.islink(name) else f"unreadable ({ex.strerror})"]
        continue
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            files[name] = [None, "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"]
        elif info.st_size > cap:
            files[name] = [None, f"{info.st_size:,} bytes; the cap is {cap:,}"]
        else:
            data = b""
            while len(data) <= cap and (chunk := os.read(fd, cap + 1 - len(data))):
                data += chunk
            over = [None, f"over the {cap:,}-byte cap"]
            files[name] = [base64.b64encode(data).decode(), None] if len(data) <= cap else over
    finally:
        os.close(fd)
print(json.dumps({"entries": entries[: limit + 1], "files": files}))
"""


async def _collect(sb: SandboxEnvironment, caps: dict[str, int]) -> tuple[dict[str, tuple[str, int]], dict]:
    """The workspace listing {relative path: (type letter, size)} and, per file in `caps`,
    (bytes, None), (None, None) when absent, or (None, why it was not read); one exec."""
    args = [str(MAX_LISTED_FILES)] + [str(x) for name, cap in caps.items() for x in (name, cap)]
    result = await sb.exec(["python3", "-I", "-c", _COLLECT, *args], timeout=60)
    try:
        found = json.loads(result.stdout)
        entries = {str(path): (str(kind), int(size)) for path, kind, size in found["entries"]}
        files = {}
        for name in caps:
            data, why = found["files"][name]
            files[name] = (None if data is None else base64.b64decode(data), None if why is None else f"{name} is {why}")
    except (ValueError, KeyError, TypeError) as ex:
        raise SandboxGradingError(
            f"reading the agent's workspace failed (exit {result.returncode}): {result.stderr.strip()[:300]}"
        ) from ex
    return entries, files


async def _grade_in_sandbox(grader: SandboxEnvironment, request: dict, limits: Limits) -> dict:
    """Run the grader in the `grader` service in one exec (package and request on stdin), read its verdict."""
    payload = f'{{"package": {_grader_package_json()}, "request": {json.dumps(request)}}}'
    try:
        result = await grader.exec(
            ["python3", "-I", "-c", _BOOTSTRAP, CONTAINER_GRADING_DIR],
            input=payload,
            timeout=int(limits.wall_seconds * 2 + 30),
        )
    except TimeoutError as ex:
        raise SandboxGradingError("the grader service did not answer in time") from ex
    if result.returncode == 3:
        raise SandboxGradingError(result.stderr.strip()[-500:])
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as ex:
        raise SandboxGradingError(
            f"the grader service returned no verdict (exit {result.returncode}): {result.stderr.strip()[-500:]}"
        ) from ex


def _encode(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


@scorer(metrics=[accuracy(), stderr()])
def vsd_scorer(seed: int | None = None, limits: Limits = Limits()) -> Scorer:
    """Pass/fail by the pure grader: test-file hash, sqrt check, visible test, hidden checks.

    Args:
        seed: the hidden checks' seed; None draws a fresh one per grading (it is recorded
            in the score's metadata so any grading can be replayed).
        limits: bounds on the candidate's process.
    """

    async def score(state: TaskState, target: Target) -> Score:
        meta = state.metadata
        expected = render_test(meta["rates"], meta["tolerance"])
        entries, read = await _collect(sandbox(), {CANDIDATE_FILE: MAX_CANDIDATE_BYTES, TEST_FILE: 1024 * 1024})
        (candidate, why), (test, _) = read[CANDIDATE_FILE], read[TEST_FILE]
        files = sorted(p for p, (kind, _) in entries.items() if kind != "d")
        try:
            grader = sandbox("grader")
        except ValueError:
            grader = None
        if grader is not None:
            request = {
                "candidate": _encode(candidate),
                "test": _encode(test),
                "expected_test": _encode(expected),
                "seed": seed,
                "files": files,
                "limits": limits.__dict__,
                "candidate_error": why,
            }
            verdict = await _grade_in_sandbox(grader, request, limits)
            graded_in = "grader sandbox"
        else:
            try:
                # Gradings on the host share its cores and the judge's interpreter: queue them
                # (one per core) rather than run every finished sample's grading at once.
                async with concurrency("vsd_inspect grading", HOST_GRADINGS):
                    verdict = await anyio.to_thread.run_sync(
                        lambda: judge.grade(
                            candidate, test, expected, seed=seed, files=files, limits=limits, candidate_error=why
                        )
                    )
            except HarnessError as ex:
                raise SandboxGradingError(str(ex)) from ex
            graded_in = "host (fresh directory)"
        return Score(
            value=CORRECT if verdict["passed"] else INCORRECT,
            answer=verdict["category"],
            explanation=explanation(verdict),
            metadata={
                "category": verdict["category"],
                "feedback": verdict["feedback"],
                "variance_ratios": verdict["variance_ratios"],
                "hidden_seed": verdict["hidden_seed"],
                "hidden_rates": verdict["hidden_rates"],
                "checks_failed": [c["name"] for c in verdict["checks"] if not c["passed"]],
                "checks_total": len(verdict["checks"]),
                "signals": verdict["signals"],
                "tampered": verdict["signals"]["tampered"],
                "variant": meta.get("variant"),
                "difficulty": meta.get("difficulty"),
                "task_version": TASK_VERSION,
                "grader_version": verdict["grader_version"],
                "grading_seconds": verdict["seconds"],
                "graded_in": graded_in,
            },
        )

    return score

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
from vsd_inspect.grader import safe_read
from vsd_inspect.grader.integrity import MAX_CANDIDATE_BYTES, MAX_TEST_BYTES
from vsd_inspect.grader.jail import Limits
from vsd_inspect.material import render_test

GRADER_DIR = Path(judge.__file__).parent
_SAFE_READ_SOURCE = Path(safe_read.__file__).read_text(encoding="utf-8")
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


async def _collect(sb: SandboxEnvironment, caps: dict[str, int]) -> tuple[list[str], dict]:
    """`safe_read.collect` on the agent's workspace, run there with its own python3 in one
    exec: the file listing, and per file in `caps` (bytes, None), (None, None) when absent,
    or (None, why it was not read)."""
    args = [str(x) for name, cap in caps.items() for x in (name, cap)]
    result = await sb.exec(["python3", "-I", "-c", _SAFE_READ_SOURCE, *args], timeout=60)
    try:
        found = json.loads(result.stdout)
        files = [str(path) for path in found["files"]]
        read = {}
        for name in caps:
            data, why = found["read"][name]
            read[name] = (None if data is None else base64.b64decode(data), None if why is None else str(why))
    except (ValueError, KeyError, TypeError) as ex:
        raise SandboxGradingError(
            f"reading the agent's workspace failed (exit {result.returncode}): {result.stderr.strip()[:300]}"
        ) from ex
    return files, read


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
        files, read = await _collect(sandbox(), {CANDIDATE_FILE: MAX_CANDIDATE_BYTES, TEST_FILE: MAX_TEST_BYTES})
        (candidate, why), (test, _) = read[CANDIDATE_FILE], read[TEST_FILE]
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

"""The judge: one grading of one candidate, from bytes to a verdict.

The judge never imports the candidate. It writes the candidate's dropout.py and the worker
into a fresh directory, starts the worker in a jail, builds the visible test's inputs and
the hidden inputs meanwhile, and judges the arrays the worker saved. It fails closed: a
grading passes only when every expected output arrived, is a finite float array of the
input's shape, and every visible and hidden check passed.

`grade()` is the only entry point; `python -I <bundle> REQUEST.json` runs it in a sandbox
(see `__main__.py`).
"""

import ast
import importlib.util
import json
import os
import secrets
import select
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from . import GRADER_VERSION, categories as cat, hidden, integrity, jail
from .categories import HarnessError

_WORKER_SOURCE = Path(__file__).with_name("worker.py")
_STATUS_CAP = 1024 * 1024
_NUMPY_PARENT = str(Path(np.__file__).resolve().parent.parent)


def grade(
    candidate: bytes | None,
    test_file: bytes | None,
    expected_test: bytes,
    *,
    seed: int | None = None,
    files: list[str] | None = None,
    limits: jail.Limits = jail.Limits(),
    python: str | None = None,
    candidate_error: str | None = None,
) -> dict:
    """Grade one candidate.

    candidate: the workspace's dropout.py bytes (None: missing). test_file: the workspace's
    test_dropout.py bytes (None: missing). expected_test: the pristine rendered visible test.
    seed: the hidden checks' seed (fresh when None; recorded in the verdict for replay).
    files: the workspace listing, for tamper signals only. candidate_error: why the door
    could not read dropout.py as a regular file (a link, a directory, too large). Raises HarnessError when the
    grading machinery fails; every other outcome is a verdict.
    """
    started = time.monotonic()
    seed = secrets.randbits(63) if seed is None else int(seed)
    v = _Verdict(seed, integrity.workspace_signals(files))
    test_modified = test_file is None or integrity.sha256(test_file) != integrity.sha256(expected_test)
    v.signals["test_modified"] = test_modified
    v.signals["suspicious_code"] = []
    if candidate_error is not None:
        return v.fail(cat.BAD_INPUT, candidate_error, started)
    if candidate is None:
        return v.fail(cat.MISSING_FILE, "dropout.py is missing from the workspace", started)
    if test_modified:
        what = "was deleted" if test_file is None else f"has sha256 {integrity.sha256(test_file)[:12]}…"
        return v.fail(
            cat.TEST_MODIFIED,
            f"test_dropout.py {what}; the original is {integrity.sha256(expected_test)[:12]}…",
            started,
            check=("test_dropout.py unchanged (sha256)", "modified", "identical"),
        )
    v.add("integrity", "test_dropout.py unchanged (sha256)", True, integrity.sha256(test_file)[:12] + "…", "identical")
    source, why = integrity.decode_candidate(candidate)
    if source is None:
        return v.fail(cat.BAD_INPUT, why, started)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as ex:
        line = getattr(ex, "lineno", None)
        return v.fail(cat.SYNTAX_ERROR, f"dropout.py does not parse: {type(ex).__name__} {ex}"[:300], started, line=line)
    v.signals["suspicious_code"] = integrity.suspicious_code(tree)
    roots = integrity.sqrt_spellings(tree)
    if not roots:
        return v.fail(
            cat.NO_SQRT,
            "no square root in dropout.py's code (a word in a comment or a string does not count)",
            started,
            check=("a square root in the code (syntax tree)", "none found", "≥ 1"),
        )
    v.add("integrity", "a square root in the code (syntax tree)", True, roots[0], "≥ 1")
    with tempfile.TemporaryDirectory(prefix="vsd-") as tmp:
        _run_and_judge(v, candidate, expected_test, Path(tmp), limits, python or sys.executable)
    return v.finish(started)


def _load_visible(expected_test: bytes, directory: Path) -> ModuleType:
    """Import the pristine visible test from the judge's own copy (it imports no dropout)."""
    path = directory / "visible_test.py"
    path.write_bytes(expected_test)
    spec = importlib.util.spec_from_file_location(f"_vsd_visible_{os.getpid()}_{time.monotonic_ns()}", path)
    if spec is None or spec.loader is None:
        raise HarnessError("cannot load the visible test")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _visible_sessions(calls: list[dict]) -> list[dict]:
    return [
        {
            "id": f"v_{c['name']}",
            "p": c["p"],
            "seed": c["seed"],
            "steps": [["mode", c["mode"]], ["call", f"v_{c['input']}", f"v_{c['name']}"]],
        }
        for c in calls
    ]


def _wait_ready(proc, seconds: float) -> bool:
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    return bool(ready) and proc.stdout.readline().strip() == b"ready"


def _run_and_judge(v: "_Verdict", candidate: bytes, expected_test: bytes, run: Path, limits, python: str) -> None:
    cand, io, own = run / "work", run / "io", run / "judge"
    for d in (cand, io, io / "out", own):
        d.mkdir()
    (cand / "dropout.py").write_bytes(candidate)
    (cand / "main.py").write_bytes(_WORKER_SOURCE.read_bytes())
    visible = _load_visible(expected_test, own)

    t0 = time.monotonic()
    proc, cgroup, applied = jail.start([python, "-I", "-S", str(cand / "main.py"), str(io), _NUMPY_PARENT], cand, limits)
    v.worker["limits"] = applied
    try:
        if not _wait_ready(proc, limits.wall_seconds):
            raise HarnessError(f"the worker interpreter ({python}) did not start with numpy")
        vis_inputs = visible.build_inputs()
        cases, hid_inputs, hid_sessions = hidden.build(v.seed)
        inputs = {f"v_{k}": a for k, a in vis_inputs.items()} | hid_inputs
        np.savez(io / "inputs.npz", **inputs)
        (io / "plan.json").write_text(json.dumps(_visible_sessions(visible.CALLS) + hid_sessions))
        try:
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the worker already died; its missing outputs say so
    finally:
        result = jail.finish(proc, cgroup, limits, t0)
    v.worker.update(returncode=result.returncode, seconds=round(result.seconds, 3))
    v.worker["stderr_tail"] = _tail(io / "stderr.log", limits.log_bytes)
    status = _read_status(io / "status.json")

    expected = {f"v_{c['name']}": f"v_{c['input']}" for c in visible.CALLS}
    expected |= {name: f"h_{name[2:].rsplit('_', 1)[0]}" for name in hidden.expected_outputs(cases)}
    outputs, problem = _load_outputs(io / "out", expected, inputs, limits, status)
    if problem is None and result.timed_out:
        problem = (cat.TIMEOUT, f"the worker ran past the {limits.wall_seconds:g} s wall-time limit")
    if problem is not None:
        category, message = _diagnose(problem, result, status, limits)
        v.fail(category, message, None)
        return

    vis_results, hid_results, ratios = evaluate(visible, vis_inputs, cases, hid_inputs, outputs)
    for r in vis_results:
        v.add("visible", r["name"], r["passed"], str(r["measured"]), str(r["bound"]))
    for r in hid_results:
        v.add("hidden", r["name"], r["passed"], r["measured"], r["bound"])
    v.variance_ratios = ratios
    v.hidden_rates = sorted({c.p for c in cases})
    if not all(r["passed"] for r in vis_results):
        failed = [r["name"] for r in vis_results if not r["passed"]]
        v.fail(cat.TESTS_FAILED, f"visible test failed: {'; '.join(failed)}", None)
    elif not all(r["passed"] for r in hid_results):
        failed = [r["name"] for r in hid_results if not r["passed"]]
        v.fail(cat.HIDDEN_FAILED, f"{len(failed)} hidden check(s) failed, first: {failed[0]}", None)


def evaluate(visible: ModuleType, vis_inputs: dict, cases: list, hid_inputs: dict, outputs: dict):
    """The verdict's arithmetic: the visible test's judge and every hidden check, on arrays
    that `_load_outputs` validated. Pure; the error-rate simulation calls it directly."""
    vis_out = {c["name"]: outputs[f"v_{c['name']}"] for c in visible.CALLS}
    try:
        vis_results = visible.judge(vis_inputs, vis_out)
    except Exception as ex:  # the pristine test on validated arrays must not raise
        raise HarnessError(f"the visible test's judge raised {type(ex).__name__}: {ex}") from ex
    ratios = {
        str(p): round(float(np.var(vis_out[f"train_p{p}"]) / np.var(vis_inputs[f"x_p{p}"])), 5) for p in visible.RATES
    }
    hid_results = [r for c in cases for r in hidden.check_case(c, hid_inputs[f"h_{c.key}"], outputs)]
    return vis_results, hid_results, ratios


def _tail(path: Path, cap: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - cap))
            return f.read(cap).decode("utf-8", "replace")
    except OSError:
        return ""


def _read_status(path: Path) -> dict:
    """The worker's own account (the candidate could have altered it: used for messages only)."""
    try:
        if path.stat().st_size > _STATUS_CAP:
            return {}
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _load_outputs(out_dir: Path, expected: dict[str, str], inputs: dict, limits, status: dict):
    """Load and validate every expected output; the first problem found, or None."""
    outputs: dict[str, np.ndarray] = {}
    for name, input_key in expected.items():
        x = inputs[input_key]
        path = out_dir / f"{name}.npy"
        if not path.exists():
            return outputs, ("missing", name)
        size = path.stat().st_size
        if size > x.size * 8 + 4096:
            return outputs, (cat.BAD_OUTPUT, f"output {name} is {size:,} bytes, larger than any valid answer")
        try:
            y = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as ex:
            return outputs, (cat.BAD_OUTPUT, f"output {name} is not a plain numeric array ({type(ex).__name__})")
        if type(y) is not np.ndarray or y.shape != x.shape:
            return outputs, (cat.BAD_OUTPUT, f"output {name} has shape {getattr(y, 'shape', None)}; input {x.shape}")
        if name.endswith("_after"):
            outputs[name] = y
            continue
        if y.dtype.kind != "f" or y.dtype.itemsize not in (4, 8):
            return outputs, (cat.BAD_OUTPUT, f"output {name} has dtype {y.dtype}; expected float32 or float64")
        if not np.isfinite(y).all():
            return outputs, (cat.BAD_OUTPUT, f"output {name} contains NaN or infinity")
        outputs[name] = y
    return outputs, None


def _diagnose(problem: tuple[str, str], result: jail.RunResult, status: dict, limits) -> tuple[str, str]:
    """Turn 'an output is missing' into the most specific category the evidence supports."""
    kind, detail = problem
    if kind != "missing":
        return kind, detail
    if result.timed_out:
        return cat.TIMEOUT, f"the worker ran past the {limits.wall_seconds:g} s wall-time limit"
    if result.cpu_exceeded:
        return cat.TIMEOUT, f"the worker used more than {limits.cpu_seconds} s of CPU"
    imp = status.get("import")
    if isinstance(imp, str) and imp != "ok":
        return cat.IMPORT_ERROR, f"importing dropout.py failed: {imp}"
    calls = status.get("calls") if isinstance(status.get("calls"), dict) else {}
    call = calls.get(detail)
    if isinstance(call, str) and call.startswith("returned "):
        return cat.BAD_OUTPUT, f"the layer {call} for {detail}; expected a numpy.ndarray"
    sessions = status.get("sessions") if isinstance(status.get("sessions"), dict) else {}
    errors = [f"{k}: {e}" for k, e in sessions.items() if isinstance(e, str) and e != "ok"]
    if errors:
        return cat.RUNTIME_ERROR, f"the layer raised {errors[0]}"[:400]
    if result.returncode not in (0, None):
        how = f"signal {-result.returncode}" if result.returncode < 0 else f"exit code {result.returncode}"
        return cat.RUNTIME_ERROR, f"the worker process ended with {how} before writing {detail}"
    return cat.BAD_OUTPUT, f"no output {detail} was produced"


class _Verdict:
    """Accumulates checks; `fail` keeps the first failure's category (gates run in order)."""

    def __init__(self, seed: int, signals: dict) -> None:
        self.seed = seed
        self.signals = signals
        self.checks: list[dict] = []
        self.category: str | None = None
        self.feedback = ""
        self.variance_ratios: dict[str, float] = {}
        self.hidden_rates: list[float] = []
        self.worker: dict = {}

    def add(self, group: str, name: str, passed: bool, measured: str, bound: str) -> None:
        self.checks.append({"group": group, "name": name, "passed": bool(passed), "measured": measured, "bound": bound})

    def fail(self, category: str, feedback: str, started: float | None, *, check=None, line=None) -> dict:
        if self.category is None:
            self.category, self.feedback = category, feedback
        if check is not None:
            self.add("integrity", check[0], False, check[1], check[2])
        if line is not None:
            self.feedback += f" (line {line})"
        return self.finish(started) if started is not None else {}

    def finish(self, started: float) -> dict:
        category = self.category or cat.PASSED
        passed = category == cat.PASSED
        failures_first = sorted(self.checks, key=lambda c: c["passed"])
        signals = self.signals
        return {
            "passed": passed,
            "category": category,
            "feedback": self.feedback or f"all {len(self.checks)} checks passed",
            "checks": failures_first,
            "variance_ratios": self.variance_ratios,
            "hidden_seed": self.seed,
            "hidden_rates": self.hidden_rates,
            "signals": {
                "test_modified": bool(signals.get("test_modified")),
                "added_files": signals.get("added_files", []),
                "shadowing_files": signals.get("shadowing_files", []),
                "suspicious_code": signals.get("suspicious_code", []),
                "tampered": bool(signals.get("test_modified")),
            },
            "worker": self.worker,
            "grader_version": GRADER_VERSION,
            "seconds": round(time.monotonic() - started, 3),
        }

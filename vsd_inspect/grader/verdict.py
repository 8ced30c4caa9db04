"""What the judge makes of a finished run, and the verdict it builds (`judge.py` runs them).

The worker's progress log (`status.log`, one JSON event per line, read capped, every line
validated; it only ever names why outputs are missing, never makes a pass), the user-run's report,
the diagnosis of a run that did not get to the end (time, import, a session's exception, an exit),
and `Verdict`: the checks in order, the first failure's category and feedback, the signals, the
reward (1.0 exactly when every check passed), the seed and the versions.
"""

import json
import time
from pathlib import Path

from . import GRADER_VERSION, categories as cat, jail
from .safe_read import read_capped

_STATUS_CAP = 1024 * 1024

def _read_regular(path: Path, cap: int, tail: bool = False) -> bytes | None:
    """A file the worker wrote (it controls them): bytes, or None for anything suspect."""
    return read_capped(path, cap, tail)[0]


def user_run_verdict(report: Path, result: jail.RunResult, n_checks: int) -> tuple[bool, str]:
    """Fail-only: its process holds the candidate, so a reported pass proves nothing, while a
    reported failure, a missing report or a crash is the candidate's own behaviour."""
    if result.timed_out:
        return False, "did not finish within the time limit"
    data = _read_regular(report, 1 << 20)
    try:
        record = json.loads(data) if data is not None else None
    except (ValueError, RecursionError):
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("checks"), list):
        return False, f"wrote no report (exit code {result.returncode})"
    failed = [str(c.get("name")) for c in record["checks"] if isinstance(c, dict) and c.get("passed") is not True]
    if record.get("passed") is not True or failed or len(record["checks"]) != n_checks:
        return False, f"failed: {'; '.join(failed) or 'its report is incomplete'}"[:300]
    return True, "passed"


def tail(path: Path, cap: int) -> str:
    data = _read_regular(path, cap, tail=True)
    return "" if data is None else data.decode("utf-8", "replace")


def read_status(path: Path) -> dict:
    """The worker's own account, replayed from its event lines into {"import": …,
    "sessions": {id: …}, "calls": {key: …}, "done": True}; lines that are not such an event
    are skipped (the candidate could have written them: used for messages only)."""
    status: dict = {}
    _replay(_read_regular(path, _STATUS_CAP) or b"", status)
    return status


def _replay(data: bytes, status: dict) -> None:
    """Apply the event lines in `data` to `status` (see `read_status`)."""
    for line in data.splitlines():
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            continue
        match event:
            case ["import", str(outcome)]:
                status["import"] = outcome
            case ["session", str(key), str(outcome)]:
                status.setdefault("sessions", {})[key] = outcome
            case ["call", str(key), str(outcome)]:
                status.setdefault("calls", {})[key] = outcome
            case ["done"]:
                status["done"] = True


def diagnose(problem: tuple[str, str], result: jail.RunResult, status: dict, limits) -> tuple[str, str]:
    """Turn 'an output is missing' into the most specific category the evidence supports."""
    kind, detail = problem
    if kind != "missing":
        return kind, detail
    if result.timed_out:
        return cat.TIMEOUT, f"the worker ran past the {limits.wall_seconds:g} s wall-time limit"
    if result.cpu_exceeded:
        return cat.TIMEOUT, f"the worker used more than {limits.cpu_seconds} s of CPU"
    imp = status.get("import")
    if imp == "started":
        return cat.IMPORT_ERROR, "the process ended while importing dropout.py"
    if isinstance(imp, str) and imp != "ok":
        return cat.IMPORT_ERROR, f"importing dropout.py failed: {imp}"
    call = status.get("calls", {}).get(detail)
    if isinstance(call, str) and call.startswith("returned "):
        return cat.BAD_OUTPUT, f"the layer {call} for {detail}; expected a numpy.ndarray"
    sessions = status.get("sessions", {})
    errors = [f"{k}: {e}" for k, e in sessions.items() if e not in ("ok", "started")]
    if errors:
        return cat.RUNTIME_ERROR, f"the layer raised {errors[0]}"[:400]
    unfinished = [k for k, e in sessions.items() if e == "started"]
    if unfinished:
        return cat.RUNTIME_ERROR, f"the worker process ended (code {result.returncode}) during {unfinished[0]}"
    if result.returncode not in (0, None):
        how = f"signal {-result.returncode}" if result.returncode < 0 else f"exit code {result.returncode}"
        return cat.RUNTIME_ERROR, f"the worker process ended with {how} before writing {detail}"
    if status and status.get("done") is not True:
        return cat.RUNTIME_ERROR, "the worker process ended before finishing its sessions"
    return cat.BAD_OUTPUT, f"no output {detail} was produced"


class Verdict:
    """Accumulates checks; `fail` keeps the first failure's category (gates run in order)."""

    def __init__(self, seed: int, signals: dict) -> None:
        self.seed = seed
        self.signals = signals
        self.checks: list[dict] = []
        self.category: str | None = None
        self.feedback = ""
        self.figures: dict[str, float] = {}
        self.hidden_rates: list[float] = []
        self.worker: dict = {}

    def add(
        self, group: str, name: str, passed: bool, measured: str, bound: str, kind: str = "integrity", case: str = ""
    ) -> None:
        """One check of the verdict; `kind` and `case` (the hidden input's role) as in grader/contract.py."""
        self.checks.append(
            {"group": group, "kind": kind, "case": case, "name": name, "passed": bool(passed), "measured": measured, "bound": bound}
        )

    def fail(self, category: str, feedback: str, started: float | None, *, check=None) -> dict:
        if self.category is None:
            self.category, self.feedback = category, feedback
        if check is not None:
            self.add("integrity", check[0], False, check[1], check[2])
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
            "figures": self.figures,
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

"""What every section measures with: timed subprocesses, CPU seconds, a series' summary, the
reference workspace, the grader's fingerprint, the machine's load, and the figures' format.

Imported on every start of the CLI (through the package): the standard library's light
modules only; statistics, resource and importlib.metadata are imported where they are used.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from vsd_inspect.constants import PACKAGE_DIR, SEED_REFERENCE_FILE

GRADE_TIMEOUT = 300  # seconds for one CLI grading, however loaded the machine


def summary(values: list[float]) -> dict:
    """Median, p90 (inclusive quantiles), min and count of one series."""
    import statistics

    values = sorted(values)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]
    return {"n": len(values), "median": statistics.median(values), "p90": p90, "min": values[0]}


def timed(cmd: list[str], timeout: float, cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return time.perf_counter() - t0, out


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][:300] if lines else "(no output)"


def venv_script(name: str) -> list[str]:
    """The console script installed beside this interpreter (what `uv run NAME` runs)."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"no `{name}` command beside {Path(sys.executable).name} or on PATH")
    return [found]


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("vsd-inspect")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vsd_inspect.cli"]


def reference_workspace(parent: Path) -> Path:
    from vsd_inspect.api import setup_task_files

    ws = setup_task_files(parent / "ws")
    shutil.copyfile(SEED_REFERENCE_FILE, ws / "dropout.py")
    return ws


def children_cpu_seconds() -> float:
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def cpu_seconds() -> float:
    """CPU time of this process and every child it has waited for."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def grader_fingerprint() -> str:
    """sha256 of the grader's sources: figures are comparable only between equal fingerprints."""
    digest = hashlib.sha256()
    for path in sorted((PACKAGE_DIR / "grader").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def dist_version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def fmt_pct(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.1f} %"


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.3f} s"
    return f"{seconds:.1f} s"


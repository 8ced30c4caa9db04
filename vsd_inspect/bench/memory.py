"""(e) peak memory of a grading: fresh processes that each grade once, read with ru_maxrss."""

import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from vsd_inspect.bench.measure import GRADE_TIMEOUT, last_line, reference_workspace, timed

if TYPE_CHECKING:
    from vsd_inspect.bench.report import Report

_MEMORY_PROBE = """
import json, resource, sys
from vsd_inspect.api import grade_solution
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
verdict = grade_solution(sys.argv[1])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"reward": verdict["reward"], "before_kb": before, "after_kb": after, "worker_kb": worker}))
"""
_FLOOR_PROBE = """
import json, resource, subprocess, sys
subprocess.run([sys.executable, "-I", "-c", "import numpy"], check=True)
print(json.dumps({"numpy_process_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _fresh(cmd: list[str]) -> list[str]:
    """`cmd` run as a child of a small shell rather than of this process.

    Linux carries a process's peak RSS across exec, and a child forked from this (large)
    process starts with this process's resident set as its peak: ru_maxrss would then report
    the benchmark's size, not the probe's. The shell forks the probe (the `; exit` keeps it
    from exec'ing it in place), so the probe's peak starts from the shell's few MiB.
    """
    return ["/bin/sh", "-c", '"$0" "$@"; exit $?', *cmd]


def memory(repeat: int, report: "Report") -> dict:
    """Each probe is a fresh process that grades once (Linux reports ru_maxrss in KiB)."""
    import statistics

    probes, floors = [], []
    with tempfile.TemporaryDirectory(prefix="vsd-bench-") as tmp:
        ws = reference_workspace(Path(tmp))
        for _ in range(repeat):
            _, out = timed(_fresh([sys.executable, "-c", _MEMORY_PROBE, str(ws)]), GRADE_TIMEOUT)
            try:
                probe = json.loads(out.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                report.problem(f"(e) the memory probe printed no result: {last_line(out.stderr)}")
                continue
            report.check_reward("(e) memory probe", probe["reward"])
            probes.append(probe)
        for _ in range(min(repeat, 3)):
            _, out = timed(_fresh([sys.executable, "-c", _FLOOR_PROBE]), GRADE_TIMEOUT)
            floors.append(json.loads(out.stdout)["numpy_process_kb"])
    if not probes:
        return {"probes": 0}
    mib = 1 / 1024
    return {
        "probes": len(probes),
        "judge_before_mib": statistics.median(p["before_kb"] for p in probes) * mib,
        "judge_peak_mib": statistics.median(p["after_kb"] for p in probes) * mib,
        "judge_delta_mib": statistics.median(p["after_kb"] - p["before_kb"] for p in probes) * mib,
        "worker_peak_mib": statistics.median(p["worker_kb"] for p in probes) * mib,
        "numpy_process_mib": statistics.median(floors) * mib,
    }


def render_memory(d: dict) -> list[str]:
    if not d.get("probes"):
        return ["  no probe succeeded"]
    return [
        f"{d['probes']} fresh processes, each grading once; medians (ru_maxrss)",
        "",
        f"  judge process after importing the grader      {d['judge_before_mib']:7.1f} MiB",
        f"  judge process peak                              {d['judge_peak_mib']:7.1f} MiB",
        f"  judge peak growth over the grading (delta)      {d['judge_delta_mib']:7.1f} MiB",
        f"  largest child's peak (worker or user-run test)  {d['worker_peak_mib']:7.1f} MiB",
        f"  for scale: python -I -c 'import numpy' peak     {d['numpy_process_mib']:7.1f} MiB",
        "  (RUSAGE_CHILDREN: the largest of the judge's children; a child's figure starts from the",
        "   judge's size when it forks, about the first line, so a figure above that is the child's own)",
    ]


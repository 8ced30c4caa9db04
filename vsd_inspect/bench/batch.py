"""(f) batch throughput: `grade_many` against the seed's own naive grader, the same reference
workspaces and workers, interleaved in one run. `grade_many` is measured both ways it runs: its
gradings judged in judge processes (`judge_processes.py`, each with its warm pool), the targets'
figure, and in threads of this process on one warm pool (`grader/pool.py`)."""

import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vsd_inspect.bench.measure import (
    GRADE_TIMEOUT,
    children_cpu_seconds,
    fmt_s,
    load_average,
    reference_workspace,
    summary,
)

if TYPE_CHECKING:
    from vsd_inspect.bench.report import Report

BATCH_WORKSPACES = 40
QUICK_BATCH_WORKSPACES = 8
BATCH_WORKERS = 2
BATCH_ROUNDS_PER_REPEAT = 1 / 2  # interleaved rounds (one of each grader) per --repeat, at least 2: 5 by default

# Targets, stated in the output beside what was measured.
BATCH_TARGET = 21.0  # grades per second of grade_many, 40 reference workspaces, 2 workers
BATCH_RATIO_TARGET = 2.0  # grade_many / the naive grader, same workers, same run


def naive_grade(workspace: Path, expected_test_sha256: str) -> float:
    """The seed's grader as it was designed: the test file's hash, the substring "sqrt" in
    dropout.py, `python test_dropout.py` in the workspace, and its printed verdict parsed."""
    test = workspace / "test_dropout.py"
    if not test.is_file() or hashlib.sha256(test.read_bytes()).hexdigest() != expected_test_sha256:
        return 0.0
    if "sqrt" not in (workspace / "dropout.py").read_text(errors="replace"):
        return 0.0
    out = subprocess.run(
        [sys.executable, "test_dropout.py"], cwd=workspace, capture_output=True, text=True, timeout=GRADE_TIMEOUT
    )
    return 1.0 if out.returncode == 0 and "ALL PASSED" in out.stdout else 0.0


def batch_throughput(workspaces: int, rounds: int, report: "Report") -> dict:
    """Rounds of (naive, grade_many) on the same reference workspaces and workers, the order
    rotated each round; both warmed first (the pool's start is timed on its own)."""
    import resource
    import statistics
    from concurrent.futures import ThreadPoolExecutor

    from vsd_inspect.batch import grade_many
    from vsd_inspect.grader import pool as warm
    from vsd_inspect.judge_processes import JudgeProcesses

    why = warm.available()
    if why:
        return {"skipped": f"no warm pool on this host: {why}"}
    with tempfile.TemporaryDirectory(prefix="vsd-bench-") as tmp:
        dirs = [reference_workspace(Path(tmp) / f"w{i}") for i in range(workspaces)]
        expected = hashlib.sha256((dirs[0] / "test_dropout.py").read_bytes()).hexdigest()
        series: dict[str, list[dict]] = {"judges": [], "pool": [], "naive": []}
        with warm.WarmPool() as pool, JudgeProcesses(BATCH_WORKERS) as judges:
            t0 = time.perf_counter()
            grade_many(dirs[:1], workers=1, pool=pool)  # the zygotes start here
            startup = time.perf_counter() - t0
            t0 = time.perf_counter()
            grade_many(dirs[:BATCH_WORKERS], workers=BATCH_WORKERS, judges=judges)  # each with its pool
            judges_startup = time.perf_counter() - t0

            def naive() -> dict:
                cpu0, t = children_cpu_seconds(), time.perf_counter()
                with ThreadPoolExecutor(max_workers=BATCH_WORKERS) as ex:
                    rewards = list(ex.map(lambda d: naive_grade(d, expected), dirs))
                return {"seconds": time.perf_counter() - t, "cpu": children_cpu_seconds() - cpu0, "rewards": rewards}

            def measured(usage_of, **door) -> dict:
                """One grade_many over the workspaces: its seconds, its CPU (this process's and
                that of the zygotes, their children and any judge processes: `usage_of()`,
                split as it splits it, with this process as "caller"), its rewards."""
                own = resource.getrusage(resource.RUSAGE_SELF)
                before, mine, t = usage_of(), own.ru_utime + own.ru_stime, time.perf_counter()
                results = grade_many(dirs, workers=BATCH_WORKERS, **door)
                seconds = time.perf_counter() - t
                own = resource.getrusage(resource.RUSAGE_SELF)
                split = {k: v - before[k] for k, v in usage_of().items()}
                split["caller"] = own.ru_utime + own.ru_stime - mine
                cpu = sum(v for k, v in split.items() if k != "faults")
                return {"seconds": seconds, "cpu": cpu, "split": split, "rewards": [r.reward for r in results]}

            def pooled() -> dict:  # the judges are threads of this process: its "caller" CPU
                return measured(pool.usage, pool=pool)

            def judged() -> dict:
                return measured(judges.usage, judges=judges)

            steps = {"judges": judged, "pool": pooled, "naive": naive}
            for name in steps:  # warm-up: page cache, imports, the pool's first children; not timed
                steps[name]()
            loads = []
            for i in range(rounds):
                order = list(steps)[i % len(steps) :] + list(steps)[: i % len(steps)]
                for name in order:
                    run = steps[name]()
                    for reward in run["rewards"]:
                        report.check_reward(f"(f) {name}", reward)
                    series[name].append(run)
                loads.append(load_average())
            restarts = pool.restarts
            judge_restarts = judges.restarts
    rates = {k: [workspaces / r["seconds"] for r in runs] for k, runs in series.items()}
    ratios = [p / n for p, n in zip(rates["judges"], rates["naive"])]
    thread_ratios = [p / n for p, n in zip(rates["pool"], rates["naive"])]
    return {
        "workspaces": workspaces,
        "workers": BATCH_WORKERS,
        "rounds": rounds,
        "pool_startup_seconds": startup,
        "judges_startup_seconds": judges_startup,
        "zygote_restarts": restarts,
        "judge_restarts": judge_restarts,
        "grades_per_second": {k: summary(v) for k, v in rates.items()},
        "ratio_per_round": ratios,
        "ratio": statistics.median(ratios),
        "threads_ratio_per_round": thread_ratios,
        "threads_ratio": statistics.median(thread_ratios),
        "cpu_seconds_per_grade": {k: statistics.median(r["cpu"] / workspaces for r in runs) for k, runs in series.items()},
        # grade_many in judge processes, per grading (medians over the rounds): where its CPU went
        "judges_split_per_grade": {k: statistics.median(r["split"][k] / workspaces for r in series["judges"]) for k in series["judges"][0]["split"]},
        "rewards_ok": {k: sum(x == 1.0 for r in runs for x in r["rewards"]) for k, runs in series.items()},
        "gradings": {k: len(runs) * workspaces for k, runs in series.items()},
        "load_per_round": loads,
    }


def render_batch(d: dict) -> list[str]:
    g, c = d["grades_per_second"], d["cpu_seconds_per_grade"]
    lines = [
        f"{d['workspaces']} reference workspaces, {d['workers']} workers, {d['rounds']} rounds of each grader, "
        "interleaved (order rotated), after one untimed warm-up",
        "",
        f"  {'grader':44} {'grades/s':>9} {'min':>7} {'CPU/grade':>10} {'rewards 1.0':>12}",
    ]
    names = {
        "judges": "grade_many, judge processes",
        "pool": "grade_many, threads on one warm pool",
        "naive": "naive: hash, 'sqrt', python test_dropout.py",
    }
    for key in ("judges", "pool", "naive"):
        lines.append(
            f"  {names[key]:44} {g[key]['median']:>9.2f} {g[key]['min']:>7.2f} {fmt_s(c[key]):>10} "
            f"{d['rewards_ok'][key]:>6}/{d['gradings'][key]}"
        )
    for label, key in (("judge processes", "ratio"), ("threads", "threads_ratio")):
        per_round = ", ".join(f"{r:.2f}" for r in d[f"{key}_per_round"])
        lines.append(f"  grade_many ({label}) / naive: {d[key]:.2f}× median (per round: {per_round})")
    lines.append(
        f"  starts: the pool (two zygotes and a first grading) {fmt_s(d['pool_startup_seconds'])}, "
        f"{d['workers']} judge processes (each with its pool, and a first grading) {fmt_s(d['judges_startup_seconds'])}; "
        f"restarts: zygotes {d['zygote_restarts']}, judge processes {d['judge_restarts']}"
    )
    lines.append(
        "  CPU: the judges (this process, or the judge processes) and their zygotes' children; the naive grader's test runs"
    )
    split = d.get("judges_split_per_grade")
    if split:
        ms = {k: f"{v * 1e3:.1f} ms" for k, v in split.items() if k != "faults"}
        lines.append(
            f"  CPU per grading in judge processes: the judge {ms['judges']}, its zygotes {ms['zygotes']}, the jailed "
            f"worker and user-run {ms['jailed']} ({split['faults']:.0f} page faults), grade_many's caller {ms['caller']}"
        )
    return lines

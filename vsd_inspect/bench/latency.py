"""(a) grading latency and (b) reward throughput: the reference workspace graded through the
CLI and in-process beside a two-process floor, then on pools of threads and processes."""

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vsd_inspect.bench.measure import (
    GRADE_TIMEOUT,
    cli_command,
    cpu_seconds,
    fmt_s,
    last_line,
    reference_workspace,
    summary,
    timed,
)

if TYPE_CHECKING:
    from vsd_inspect.bench.report import Report

THROUGHPUT_PER_REPEAT = 2  # gradings per throughput setting = 2 x repeat (20 by default)
WORKERS = (1, 2)
POOLS = ("threads", "processes")

# Targets, stated in the output beside what was measured.
FLOOR_RATIO_TARGET = 2.0  # CLI grading ≤ 2 x the two-process floor
THROUGHPUT_TARGET = 4.0  # grades per second with 2 workers


# ---------------------------------------------------------------- (a) latency


def latency(repeat: int, report: "Report") -> dict:
    """Interleaved rounds: floor, CLI grading, in-process grading, CLI startup; order rotated."""
    from vsd_inspect.api import grade_solution

    floor_cmd = [sys.executable, "-I", "-c", "import numpy"]
    with tempfile.TemporaryDirectory(prefix="vsd-bench-") as tmp:
        ws = reference_workspace(Path(tmp))
        grade_cmd = [*cli_command(), "grade", str(ws), "--json"]
        startup_cmd = [*cli_command(), "--version"]
        series: dict[str, list[float]] = {k: [] for k in ("floor", "floor_one", "cli", "in_process", "cli_startup")}
        judge_s: list[float] = []
        worker_s: list[float] = []

        def floor() -> None:
            first, _ = timed(floor_cmd, GRADE_TIMEOUT)
            second, _ = timed(floor_cmd, GRADE_TIMEOUT)
            series["floor_one"].append(first)
            series["floor"].append(first + second)

        def cli() -> None:
            seconds, out = timed(grade_cmd, GRADE_TIMEOUT)
            try:
                verdict = json.loads(out.stdout)
            except ValueError:
                verdict = {}
            report.check_reward("(a) CLI grading", verdict.get("reward"), last_line(out.stderr))
            series["cli"].append(seconds)

        def in_process() -> None:
            t0 = time.perf_counter()
            verdict = grade_solution(ws)
            series["in_process"].append(time.perf_counter() - t0)
            report.check_reward("(a) in-process grading", verdict["reward"])
            judge_s.append(verdict["seconds"])
            worker_s.append(verdict["worker"]["seconds"])

        def startup() -> None:
            seconds, out = timed(startup_cmd, GRADE_TIMEOUT)
            if out.returncode != 0:
                report.problem(f"(a) `vsd-inspect --version` exited {out.returncode}: {last_line(out.stderr)}")
            series["cli_startup"].append(seconds)

        steps = [floor, cli, in_process, startup]
        for step in steps:  # warm-up: page cache, bytecode, lazy imports; not timed
            step()
        for values in (*series.values(), judge_s, worker_s):
            values.clear()
        for i in range(repeat):
            for step in steps[i % len(steps) :] + steps[: i % len(steps)]:
                step()

    stats = {k: summary(v) for k, v in series.items()}
    floor_median = stats["floor"]["median"]
    return {
        "gradings": repeat,
        "commands": {
            "floor": "2 x " + " ".join([Path(sys.executable).name, "-I", "-c", '"import numpy"']),
            "cli": "vsd-inspect grade DIR --json",
            "in_process": "grade_solution(DIR)",
            "cli_startup": "vsd-inspect --version",
        },
        "seconds": stats,
        "grader_reported": {"judge": summary(judge_s), "worker": summary(worker_s)},
        "ratio_to_floor": {
            k: stats[k]["median"] / floor_median for k in ("cli", "in_process", "cli_startup", "floor_one")
        },
        # In-process grading starts one process (the worker), not two: its fairer floor.
        "in_process_to_one_process_floor": stats["in_process"]["median"] / stats["floor_one"]["median"],
    }


def render_latency(d: dict) -> list[str]:
    s, r = d["seconds"], d["ratio_to_floor"]
    rows = [
        ("floor: " + d["commands"]["floor"], "floor", None),
        ("  one of them", "floor_one", "floor_one"),
        ("CLI: " + d["commands"]["cli"], "cli", "cli"),
        ("in-process: " + d["commands"]["in_process"], "in_process", "in_process"),
        ("CLI startup alone: " + d["commands"]["cli_startup"], "cli_startup", "cli_startup"),
    ]
    lines = [f"{d['gradings']} of each, interleaved (order rotated each round), after one untimed warm-up", ""]
    lines.append(f"  {'':52} {'median':>9} {'p90':>9}  {'× floor':>8}")
    for label, key, ratio in rows:
        x = f"{r[ratio]:7.2f}×" if ratio else ""
        lines.append(f"  {label:52} {fmt_s(s[key]['median']):>9} {fmt_s(s[key]['p90']):>9}  {x:>8}")
    g = d["grader_reported"]
    lines.append(
        f"  grader's own account (in-process): judge {fmt_s(g['judge']['median'])} median, "
        f"of which the worker process {fmt_s(g['worker']['median'])}; in-process / one-process floor "
        f"{d['in_process_to_one_process_floor']:.2f}×"
    )
    return lines


# ---------------------------------------------------------------- (b) throughput


def _grade_reference(workspace: str) -> tuple[float, float]:
    """One grading in a pool worker: (reward, CPU seconds of this process and its worker)."""
    from vsd_inspect.api import grade_solution

    before = cpu_seconds()
    reward = grade_solution(workspace)["reward"]
    return reward, cpu_seconds() - before


def _warm(seconds: float) -> None:
    import vsd_inspect.api  # noqa: F401  (the import is the warm-up)

    time.sleep(seconds)


def throughput(gradings: int, report: "Report") -> dict:
    """Rewards per second for each pool kind and worker count, on a warmed pool."""
    import multiprocessing
    from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

    results = []
    with tempfile.TemporaryDirectory(prefix="vsd-bench-") as tmp:
        ws = str(reference_workspace(Path(tmp)))
        _grade_reference(ws)  # warm this process's imports for the thread pools
        for pool in POOLS:
            for workers in WORKERS:
                executor: Executor
                if pool == "threads":
                    executor = ThreadPoolExecutor(max_workers=workers)
                else:
                    executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
                with executor:
                    list(executor.map(_warm, [0.3] * workers))  # every worker started and imported
                    cpu0, t0 = cpu_seconds(), time.perf_counter()
                    outcomes = list(executor.map(_grade_reference, [ws] * gradings))
                    wall = time.perf_counter() - t0
                    cpu = cpu_seconds() - cpu0
                if pool == "processes":  # children's CPU reaches this process only once it reaps them
                    cpu = sum(c for _, c in outcomes)
                for reward, _ in outcomes:
                    report.check_reward(f"(b) {pool} x{workers}", reward)
                results.append(
                    {
                        "pool": pool,
                        "workers": workers,
                        "gradings": gradings,
                        "seconds": wall,
                        "grades_per_second": gradings / wall,
                        "cpu_seconds_per_grade": cpu / gradings,
                        "rewards_ok": sum(r == 1.0 for r, _ in outcomes),
                    }
                )
    return {"gradings": gradings, "cpus": os.cpu_count(), "runs": results}


def render_throughput(d: dict) -> list[str]:
    import statistics

    lines = [f"{d['gradings']} gradings per setting on a warmed pool; every reward checked", ""]
    lines.append(f"  {'pool':10} {'workers':>7} {'grades/s':>9} {'wall':>9} {'CPU/grade':>10} {'rewards 1.0':>12}")
    for r in d["runs"]:
        lines.append(
            f"  {r['pool']:10} {r['workers']:>7} {r['grades_per_second']:>9.2f} {fmt_s(r['seconds']):>9} "
            f"{fmt_s(r['cpu_seconds_per_grade']):>10} {r['rewards_ok']:>6}/{r['gradings']}"
        )
    cpu = statistics.median(r["cpu_seconds_per_grade"] for r in d["runs"])
    lines.append(f"  ceiling if CPU-bound: {d['cpus']} CPUs / {fmt_s(cpu)} CPU per grade = {d['cpus'] / cpu:.2f} grades/s")
    return lines


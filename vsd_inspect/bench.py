"""`vsd-inspect bench`: what grading and an eval cost, measured in one run on one machine.

    vsd-inspect bench [--sections a,b,c,d,e,f,g] [--repeat N] [--samples 1,10,50] [--batch N] [--quick] [--json]

  (a) latency      grading the reference workspace through the CLI (a subprocess, as users
                   time it) and through `grade_solution` in-process, beside the floor: two
                   Python processes that import numpy, one after the other (a grading needs
                   at least the judge's process and the worker's).
  (b) throughput   `grade_solution` rewards per second with 1 and 2 parallel workers, as
                   threads and as processes; every reward must be 1.0.
  (c) eval         `inspect eval` wall and CPU time per sample with vsd/oracle and vsd/nop (same
                   agent loop and sandbox) at each sample count, local sandbox; the grader's own
                   time from each score's `grading_seconds`, and the whole scorer's from its span
                   in the log.
  (d) docker       the same as (c) in Docker, or one line saying why it was skipped.
  (e) memory       peak RSS of the judge process (its growth over a grading) and of its
                   largest child, the worker.
  (f) batch        `grade_many` on the warm pool (`grader/pool.py`) against the seed's own naive
                   grader (hash, substring "sqrt", `python test_dropout.py`, parse its output) with
                   the same number of workers, interleaved in the same run, on N reference
                   workspaces; grades per second, CPU per grading, every reward checked.
  (g) harbor       a Harbor trial's wall time: measured by the Harbor integration, not here (the
                   key is kept so that its figures land in the same report).

Timings on a shared machine are noisy, so the series that are compared are interleaved
(one of each per round, the order rotated) and reported as medians: machine noise then hits
both sides of a ratio alike. A ratio measured within one run means more than any single figure.

Exit codes: 0 all measured, every reward as expected; 1 a reward or an eval outcome was
wrong, a section failed (it is reported, and the other sections still run), or the grader's
sources changed during the run; 2 usage error. Missed speed targets are reported, not
failed: they are measurements.

This module is imported on every start of the CLI, so everything heavy (numpy, the grader,
inspect_ai, and the standard library's statistics, concurrent.futures and importlib.metadata,
which the CLI would not otherwise load) is imported inside the functions that use it.
"""

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from vsd_inspect.constants import COMPOSE_FILE, PACKAGE_DIR, SEED_REFERENCE_FILE, TASK_VERSION
from vsd_inspect.grader import GRADER_VERSION

SECTIONS = ("a", "b", "c", "d", "e", "f", "g")
SECTION_TITLES = {
    "a": "grading latency",
    "b": "reward throughput",
    "c": "eval cost, local sandbox",
    "d": "eval cost, Docker sandbox",
    "e": "peak memory of a grading",
    "f": "batch throughput: grade_many on the warm pool vs the naive grader",
    "g": "Harbor trial wall time",
}
DEFAULT_REPEAT = 10  # gradings per latency series; the issue asks for at least 10
DEFAULT_SAMPLES = (1, 10, 50)
QUICK_REPEAT = 3
QUICK_SAMPLES = (1, 2)
THROUGHPUT_PER_REPEAT = 2  # gradings per throughput setting = 2 x repeat (20 by default)
WORKERS = (1, 2)
POOLS = ("threads", "processes")
POLICIES = ("oracle", "nop")
EVAL_SAMPLE = ("vsd", "scale_mean", "p", "plain")  # one sample (the seed's) per epoch
# `inspect eval` takes a task file's path relative to where it runs (it globs it), so the
# evals run from the directory that holds the package, as the README's command does.
EVAL_CWD = PACKAGE_DIR.parent
TASK_FILE = f"{PACKAGE_DIR.name}/task.py"
SCORER_NAME = "vsd_scorer"
CORRECT_VALUE = "C"  # inspect_ai.scorer.CORRECT, spelled out to keep inspect_ai out of module import

# Targets, stated in the output beside what was measured.
FLOOR_RATIO_TARGET = 2.0  # CLI grading ≤ 2 x the two-process floor
THROUGHPUT_TARGET = 4.0  # grades per second with 2 workers
FLAT_TOLERANCE = 0.15  # per-sample cost at the largest count ≤ 1.15 x that at the one before
FLAT_MIN_SAMPLES = 10  # below this, Inspect's own start-up swamps the per-sample cost
GRADER_SHARE_TARGET = 0.10  # our reading of "small": ≤ 10 % of a sample's time
BATCH_TARGET = 21.0  # grades per second of grade_many, 40 reference workspaces, 2 workers
BATCH_RATIO_TARGET = 2.0  # grade_many / the naive grader, same workers, same run
BATCH_WORKSPACES = 40
QUICK_BATCH_WORKSPACES = 8
BATCH_WORKERS = 2
BATCH_ROUNDS_PER_REPEAT = 1 / 3  # interleaved rounds (one of each grader) per --repeat, at least 2
HARBOR_SKIP = "a Harbor trial's wall time is measured by the Harbor integration, not by this package"

GRADE_TIMEOUT = 300  # seconds for one CLI grading, however loaded the machine
EVAL_TIMEOUT = 3600  # seconds for one `inspect eval` run
EXIT_OK, EXIT_WRONG = 0, 1


# ---------------------------------------------------------------- arguments and entry point


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help="comma-separated subset of a (latency), b (throughput), c (eval, local), d (eval, Docker), e (memory), "
        "f (batch vs naive), g (Harbor, reserved)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help=f"gradings per latency series and memory probes; throughput uses {THROUGHPUT_PER_REPEAT}x this "
        f"(default {DEFAULT_REPEAT}, --quick {QUICK_REPEAT})",
    )
    parser.add_argument(
        "--samples",
        default=None,
        help=f"sample counts of the eval runs, e.g. 1,10,50 (default {','.join(map(str, DEFAULT_SAMPLES))}, "
        f"--quick {','.join(map(str, QUICK_SAMPLES))})",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help=f"reference workspaces per batch in (f) (default {BATCH_WORKSPACES}, --quick {QUICK_BATCH_WORKSPACES})",
    )
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run, not a measurement")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")


def _parse_sections(text: str) -> list[str]:
    chosen = [s.strip().lower() for s in text.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown or not chosen:
        raise ValueError(f"--sections takes a comma-separated subset of {','.join(SECTIONS)}; got {text!r}")
    return [s for s in SECTIONS if s in chosen]


def _parse_samples(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(sorted({int(s) for s in text.split(",") if s.strip()}))
    except ValueError:
        counts = ()
    if not counts or counts[0] < 1:
        raise ValueError(f"--samples takes positive integers, e.g. 1,10,50; got {text!r}")
    return counts


def run(args: argparse.Namespace) -> int:
    sections = _parse_sections(args.sections)
    repeat = args.repeat if args.repeat is not None else (QUICK_REPEAT if args.quick else DEFAULT_REPEAT)
    if repeat < 2:
        raise ValueError(f"--repeat must be at least 2 (a p90 needs two values); got {repeat}")
    samples = _parse_samples(args.samples) if args.samples else (QUICK_SAMPLES if args.quick else DEFAULT_SAMPLES)
    batch = args.batch if args.batch is not None else (QUICK_BATCH_WORKSPACES if args.quick else BATCH_WORKSPACES)
    if batch < BATCH_WORKERS:
        raise ValueError(f"--batch must be at least {BATCH_WORKERS} (one grading per worker); got {batch}")
    report = Report(as_json=args.json)
    report.start(repeat, samples, sections)
    steps: dict[str, Callable[[Report], dict]] = {
        "a": lambda r: latency(repeat, r),
        "b": lambda r: throughput(repeat * THROUGHPUT_PER_REPEAT, r),
        "c": lambda r: eval_cost("local", samples, r),
        "d": lambda r: docker_eval_cost(samples, r),
        "e": lambda r: memory(repeat, r),
        "f": lambda r: batch_throughput(batch, max(2, round(repeat * BATCH_ROUNDS_PER_REPEAT)), r),
        "g": lambda r: {"skipped": HARBOR_SKIP},
    }
    for key in sections:
        report.section(key, steps[key])
    report.finish()
    return EXIT_WRONG if report.problems else EXIT_OK


# ---------------------------------------------------------------- helpers


def summary(values: list[float]) -> dict:
    """Median, p90 (inclusive quantiles), min and count of one series."""
    import statistics

    values = sorted(values)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]
    return {"n": len(values), "median": statistics.median(values), "p90": p90, "min": values[0]}


def _timed(cmd: list[str], timeout: float, cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return time.perf_counter() - t0, out


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][:300] if lines else "(no output)"


def _venv_script(name: str) -> list[str]:
    """The console script installed beside this interpreter (what `uv run NAME` runs)."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"no `{name}` command beside {Path(sys.executable).name} or on PATH")
    return [found]


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("vsd-inspect")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vsd_inspect.cli"]


def _reference_workspace(parent: Path) -> Path:
    from vsd_inspect.api import setup_task_files

    ws = setup_task_files(parent / "ws")
    shutil.copyfile(SEED_REFERENCE_FILE, ws / "dropout.py")
    return ws


def _children_cpu_seconds() -> float:
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def _cpu_seconds() -> float:
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


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------- (a) latency


def latency(repeat: int, report: "Report") -> dict:
    """Interleaved rounds: floor, CLI grading, in-process grading, CLI startup; order rotated."""
    from vsd_inspect.api import grade_solution

    floor_cmd = [sys.executable, "-I", "-c", "import numpy"]
    with tempfile.TemporaryDirectory(prefix="vsd-bench-") as tmp:
        ws = _reference_workspace(Path(tmp))
        grade_cmd = [*_cli(), "grade", str(ws), "--json"]
        startup_cmd = [*_cli(), "--version"]
        series: dict[str, list[float]] = {k: [] for k in ("floor", "floor_one", "cli", "in_process", "cli_startup")}
        judge_s: list[float] = []
        worker_s: list[float] = []

        def floor() -> None:
            first, _ = _timed(floor_cmd, GRADE_TIMEOUT)
            second, _ = _timed(floor_cmd, GRADE_TIMEOUT)
            series["floor_one"].append(first)
            series["floor"].append(first + second)

        def cli() -> None:
            seconds, out = _timed(grade_cmd, GRADE_TIMEOUT)
            try:
                verdict = json.loads(out.stdout)
            except ValueError:
                verdict = {}
            report.check_reward("(a) CLI grading", verdict.get("reward"), _last_line(out.stderr))
            series["cli"].append(seconds)

        def in_process() -> None:
            t0 = time.perf_counter()
            verdict = grade_solution(ws)
            series["in_process"].append(time.perf_counter() - t0)
            report.check_reward("(a) in-process grading", verdict["reward"])
            judge_s.append(verdict["seconds"])
            worker_s.append(verdict["worker"]["seconds"])

        def startup() -> None:
            seconds, out = _timed(startup_cmd, GRADE_TIMEOUT)
            if out.returncode != 0:
                report.problem(f"(a) `vsd-inspect --version` exited {out.returncode}: {_last_line(out.stderr)}")
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


def _render_latency(d: dict) -> list[str]:
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
        lines.append(f"  {label:52} {_s(s[key]['median']):>9} {_s(s[key]['p90']):>9}  {x:>8}")
    g = d["grader_reported"]
    lines.append(
        f"  grader's own account (in-process): judge {_s(g['judge']['median'])} median, "
        f"of which the worker process {_s(g['worker']['median'])}; in-process / one-process floor "
        f"{d['in_process_to_one_process_floor']:.2f}×"
    )
    return lines


# ---------------------------------------------------------------- (b) throughput


def _grade_reference(workspace: str) -> tuple[float, float]:
    """One grading in a pool worker: (reward, CPU seconds of this process and its worker)."""
    from vsd_inspect.api import grade_solution

    before = _cpu_seconds()
    reward = grade_solution(workspace)["reward"]
    return reward, _cpu_seconds() - before


def _warm(seconds: float) -> None:
    import vsd_inspect.api  # noqa: F401  (the import is the warm-up)

    time.sleep(seconds)


def throughput(gradings: int, report: "Report") -> dict:
    """Rewards per second for each pool kind and worker count, on a warmed pool."""
    import multiprocessing
    from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

    results = []
    with tempfile.TemporaryDirectory(prefix="vsd-bench-") as tmp:
        ws = str(_reference_workspace(Path(tmp)))
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
                    cpu0, t0 = _cpu_seconds(), time.perf_counter()
                    outcomes = list(executor.map(_grade_reference, [ws] * gradings))
                    wall = time.perf_counter() - t0
                    cpu = _cpu_seconds() - cpu0
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


def _render_throughput(d: dict) -> list[str]:
    import statistics

    lines = [f"{d['gradings']} gradings per setting on a warmed pool; every reward checked", ""]
    lines.append(f"  {'pool':10} {'workers':>7} {'grades/s':>9} {'wall':>9} {'CPU/grade':>10} {'rewards 1.0':>12}")
    for r in d["runs"]:
        lines.append(
            f"  {r['pool']:10} {r['workers']:>7} {r['grades_per_second']:>9.2f} {_s(r['seconds']):>9} "
            f"{_s(r['cpu_seconds_per_grade']):>10} {r['rewards_ok']:>6}/{r['gradings']}"
        )
    cpu = statistics.median(r["cpu_seconds_per_grade"] for r in d["runs"])
    lines.append(f"  ceiling if CPU-bound: {d['cpus']} CPUs / {_s(cpu)} CPU per grade = {d['cpus'] / cpu:.2f} grades/s")
    return lines


# ---------------------------------------------------------------- (c), (d) eval cost


def _eval_once(policy: str, samples: int, sandbox: str, log_dir: Path, extra: list[str]) -> dict:
    from inspect_ai.log import read_eval_log

    cmd = [
        *_venv_script("inspect"),
        "eval",
        TASK_FILE,
        "--model",
        f"vsd/{policy}",
        "-T",
        f"sandbox={sandbox}",
        *(arg for key, value in zip(("concepts", "bugs", "params", "surfaces"), EVAL_SAMPLE) for arg in ("-T", f"{key}={value}")),
        "--epochs",
        str(samples),
        "--log-dir",
        str(log_dir),
        "--display",
        "none",
        *extra,
    ]
    cpu0 = _children_cpu_seconds()
    wall, out = _timed(cmd, EVAL_TIMEOUT, cwd=EVAL_CWD)
    # Inspect's process and every process it reaped (tools, graders' workers); in Docker the
    # containers' processes are not its children, so there this is the host side only.
    row = {"policy": policy, "samples": samples, "wall": wall, "cpu": _children_cpu_seconds() - cpu0}
    row["returncode"] = out.returncode
    logs = sorted(log_dir.glob("*.eval"))
    if out.returncode != 0 or len(logs) != 1:
        row["error"] = f"exit {out.returncode}, {len(logs)} log(s): {_last_line(out.stderr)}"
        return row
    log = read_eval_log(str(logs[0]))
    scores = [s.scores[SCORER_NAME] for s in log.samples or [] if s.scores and SCORER_NAME in s.scores]
    started, completed = log.stats.started_at, log.stats.completed_at
    from datetime import datetime

    expected = CORRECT_VALUE if policy == "oracle" else None
    unexpected = [s for s in scores if (s.value == CORRECT_VALUE) != (expected == CORRECT_VALUE)]
    errors = [s.error.message for s in log.samples or [] if s.error is not None]
    if log.error is not None:
        errors.append(log.error.message)
    row |= {
        "status": log.status,
        # a harness error is a finding too: the first sample error (or the log's), for the report
        "first_error": errors[0][:300] if errors else None,
        "scored": len(scores),
        "correct": sum(s.value == CORRECT_VALUE for s in scores),
        # the first unexpected verdict, for the report: a reference policy scored wrongly is a finding
        "first_unexpected": None
        if not unexpected
        else f"{unexpected[0].metadata.get('category')}: {unexpected[0].metadata.get('feedback')}"[:300],
        "eval_seconds": (datetime.fromisoformat(completed) - datetime.fromisoformat(started)).total_seconds(),
        "grading_seconds": [float(s.metadata["grading_seconds"]) for s in scores],
        "scorer_seconds": [_scorer_seconds(s.events) for s in log.samples or []],
        "sample_seconds": [float(s.total_time) for s in log.samples or [] if s.total_time is not None],
    }
    return row


def _scorer_seconds(events: list) -> float:
    """Wall time of a sample's scorer spans: the whole scoring, sandbox round trips included
    (the verdict's own `grading_seconds` counts the judge alone)."""
    begun = {e.id: e.timestamp for e in events if e.event == "span_begin" and e.type == "scorer"}
    return sum((e.timestamp - begun[e.id]).total_seconds() for e in events if e.event == "span_end" and e.id in begun)


def eval_cost(sandbox: str, counts: tuple[int, ...], report: "Report", extra: list[str] | None = None) -> dict:
    """oracle and nop at each count, interleaved per count, each in a fresh `inspect eval`."""
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="vsd-bench-logs-") as tmp:
        for n in counts:
            if any("error" in r for r in runs):
                report.problem(f"({sandbox}) runs with more samples were not started: a smaller run failed")
                break
            for policy in POLICIES:
                row = _eval_once(policy, n, sandbox, Path(tmp) / f"{policy}-{n}", extra or [])
                want = n if policy == "oracle" else 0
                if "error" in row:
                    report.problem(f"({sandbox}) vsd/{policy} x{n}: {row['error']}")
                elif row["status"] != "success" or row["scored"] != n or row["correct"] != want:
                    report.problem(
                        f"({sandbox}) vsd/{policy} x{n}: status {row['status']}, {row['scored']} scored, "
                        f"{row['correct']} correct; expected {n} scored, {want} correct; first unexpected "
                        f"verdict: {row['first_unexpected']}; first error: {row['first_error']}"
                    )
                runs.append(row)
    return {"sandbox": sandbox, "sample": "-".join(EVAL_SAMPLE), "counts": list(counts), "runs": runs, **_eval_figures(runs)}


def _eval_figures(runs: list[dict]) -> dict:
    """Per-sample costs, oracle - nop, the grader's share, and the flatness of the per-sample cost."""
    import statistics

    ok = {(r["policy"], r["samples"]): r for r in runs if "error" not in r}
    per_count = []
    for n in sorted({r["samples"] for r in runs}):
        o, z = ok.get(("oracle", n)), ok.get(("nop", n))
        if o is None or z is None:
            continue
        grading, scoring = o["grading_seconds"], o["scorer_seconds"]
        sample_time = sum(o["sample_seconds"])
        per_count.append(
            {
                "samples": n,
                "oracle_per_sample": o["wall"] / n,
                "nop_per_sample": z["wall"] / n,
                "oracle_minus_nop_per_sample": (o["wall"] - z["wall"]) / n,
                "oracle_cpu_per_sample": o["cpu"] / n,
                "nop_cpu_per_sample": z["cpu"] / n,
                "startup_seconds": o["wall"] - o["eval_seconds"],
                "grading_mean": statistics.fmean(grading) if grading else None,
                "grading_share_of_sample_time": sum(grading) / sample_time if sample_time else None,
                "scorer_mean": statistics.fmean(scoring) if scoring else None,
                "scorer_share_of_sample_time": sum(scoring) / sample_time if sample_time else None,
            }
        )
    flat = None
    if len(per_count) >= 2:
        a, b = per_count[-2], per_count[-1]
        flat = {
            "from": a["samples"],
            "to": b["samples"],
            "ratio": b["oracle_per_sample"] / a["oracle_per_sample"],
            "marginal_oracle_per_sample": (ok[("oracle", b["samples"])]["wall"] - ok[("oracle", a["samples"])]["wall"])
            / (b["samples"] - a["samples"]),
            "marginal_nop_per_sample": (ok[("nop", b["samples"])]["wall"] - ok[("nop", a["samples"])]["wall"])
            / (b["samples"] - a["samples"]),
            "marginal_oracle_cpu_per_sample": (
                ok[("oracle", b["samples"])]["cpu"] - ok[("oracle", a["samples"])]["cpu"]
            )
            / (b["samples"] - a["samples"]),
            "marginal_nop_cpu_per_sample": (ok[("nop", b["samples"])]["cpu"] - ok[("nop", a["samples"])]["cpu"])
            / (b["samples"] - a["samples"]),
        }
    return {"per_count": per_count, "flatness": flat}


def _render_eval(d: dict) -> list[str]:
    lines = [
        f"inspect eval {TASK_FILE} --model vsd/POLICY -T sandbox={d['sandbox']} "
        f"-T concepts=vsd -T bugs=scale_mean -T params=p -T surfaces=plain --epochs N --display none   (the seed's sample; one fresh process per run)",
        "",
        "  per sample: wall = the whole `inspect eval` process / N; CPU = its process tree / N",
        f"  {'N':>3} {'oracle wall':>12} {'nop wall':>10} {'oracle-nop':>11} {'oracle CPU':>11} {'nop CPU':>9} "
        f"{'startup':>9}",
    ]
    for c in d["per_count"]:
        lines.append(
            f"  {c['samples']:>3} {_s(c['oracle_per_sample']):>12} {_s(c['nop_per_sample']):>10} "
            f"{_s(c['oracle_minus_nop_per_sample']):>11} {_s(c['oracle_cpu_per_sample']):>11} "
            f"{_s(c['nop_cpu_per_sample']):>9} {_s(c['startup_seconds']):>9}"
        )
    lines += [
        "  the grader in the oracle's samples: mean per sample, and share of Σ sample time",
        f"  {'N':>3} {'judge (grading_seconds)':>24} {'share':>7} {'scorer span':>12} {'share':>7}",
    ]
    for c in d["per_count"]:
        lines.append(
            f"  {c['samples']:>3} {_s(c['grading_mean']):>24} {_pct(c['grading_share_of_sample_time']):>7} "
            f"{_s(c['scorer_mean']):>12} {_pct(c['scorer_share_of_sample_time']):>7}"
        )
    f = d["flatness"]
    if f:
        lines.append(
            f"  {f['from']} -> {f['to']} samples: per-sample wall x{f['ratio']:.2f}; each extra sample costs "
            f"{_s(f['marginal_oracle_per_sample'])} wall, {_s(f['marginal_oracle_cpu_per_sample'])} CPU (oracle); "
            f"{_s(f['marginal_nop_per_sample'])} wall, {_s(f['marginal_nop_cpu_per_sample'])} CPU (nop)"
        )
    lines += [
        "  startup = wall - the log's started..completed span (Inspect's start-up, task load, log write);",
        "  judge = the verdict's own time; scorer span = the whole scorer (listing, reads, sandbox round",
        "  trips, judge); samples run concurrently, so both include waiting for a CPU"
        + ("; CPU: host side only (the containers are not its children)" if d["sandbox"] == "docker" else ""),
    ]
    return lines


def docker_unavailable() -> str | None:
    """Why the Docker section cannot run here, or None when it can."""
    if shutil.which("docker") is None:
        return "no `docker` command on PATH"
    checks = [
        (["docker", "info", "--format", "{{.ServerVersion}}"], "`docker info` failed (no engine answers)"),
        (["docker", "compose", "version"], "Docker Compose v2 (`docker compose`) is missing"),
    ]
    image = _compose_image()
    if image:
        checks.append(
            (
                ["docker", "image", "inspect", image],
                f"the sandbox image {image} is not built (bash vsd_inspect/sandbox/docker_up.sh builds it)",
            )
        )
    for cmd, why in checks:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as ex:
            return f"{why}: {ex}"
        if out.returncode != 0:
            tail = (out.stderr.strip().splitlines() or [""])[-1][:200]
            return f"{why}{': ' + tail if tail else ''}"
    return None


def _compose_image() -> str | None:
    match = re.search(r"^\s*image:\s*(\S+)", COMPOSE_FILE.read_text(), re.MULTILINE)
    return match.group(1) if match else None


def docker_eval_cost(counts: tuple[int, ...], report: "Report") -> dict:
    why = docker_unavailable()
    if why is not None:
        return {"skipped": why}
    # The image exists (checked above): run it, do not rebuild it; building is not what is measured.
    return eval_cost("docker", counts, report, extra=["--sandbox-prebuilt"])


# ---------------------------------------------------------------- (e) memory

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
        ws = _reference_workspace(Path(tmp))
        for _ in range(repeat):
            _, out = _timed(_fresh([sys.executable, "-c", _MEMORY_PROBE, str(ws)]), GRADE_TIMEOUT)
            try:
                probe = json.loads(out.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                report.problem(f"(e) the memory probe printed no result: {_last_line(out.stderr)}")
                continue
            report.check_reward("(e) memory probe", probe["reward"])
            probes.append(probe)
        for _ in range(min(repeat, 3)):
            _, out = _timed(_fresh([sys.executable, "-c", _FLOOR_PROBE]), GRADE_TIMEOUT)
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


def _render_memory(d: dict) -> list[str]:
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


# ---------------------------------------------------------------- (f) batch vs the naive grader


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


def _pool_cpu_seconds(pool) -> float:
    """CPU time of the pool's zygotes and of every child they reaped (not the judge's children)."""
    total = 0.0
    for zygote in pool.zygotes():
        usage = zygote.call({"op": "ping"})
        total += usage["cpu_self"] + usage["cpu_children"]
    return total


def batch_throughput(workspaces: int, rounds: int, report: "Report") -> dict:
    """Rounds of (naive, grade_many) on the same reference workspaces and workers, the order
    rotated each round; both warmed first (the pool's start is timed on its own)."""
    import resource
    import statistics
    from concurrent.futures import ThreadPoolExecutor

    from vsd_inspect.batch import grade_many
    from vsd_inspect.grader import pool as warm

    why = warm.available()
    if why:
        return {"skipped": f"no warm pool on this host: {why}"}
    with tempfile.TemporaryDirectory(prefix="vsd-bench-") as tmp:
        dirs = [_reference_workspace(Path(tmp) / f"w{i}") for i in range(workspaces)]
        expected = hashlib.sha256((dirs[0] / "test_dropout.py").read_bytes()).hexdigest()
        series: dict[str, list[dict]] = {"naive": [], "pool": []}
        with warm.WarmPool() as pool:
            t0 = time.perf_counter()
            grade_many(dirs[:1], workers=1, pool=pool)  # the zygotes start here
            startup = time.perf_counter() - t0

            def naive() -> dict:
                cpu0, t = _children_cpu_seconds(), time.perf_counter()
                with ThreadPoolExecutor(max_workers=BATCH_WORKERS) as ex:
                    rewards = list(ex.map(lambda d: naive_grade(d, expected), dirs))
                return {"seconds": time.perf_counter() - t, "cpu": _children_cpu_seconds() - cpu0, "rewards": rewards}

            def pooled() -> dict:
                own = resource.getrusage(resource.RUSAGE_SELF)
                cpu0, t = own.ru_utime + own.ru_stime + _pool_cpu_seconds(pool), time.perf_counter()
                results = grade_many(dirs, workers=BATCH_WORKERS, pool=pool)
                seconds = time.perf_counter() - t
                own = resource.getrusage(resource.RUSAGE_SELF)
                cpu = own.ru_utime + own.ru_stime + _pool_cpu_seconds(pool) - cpu0
                return {"seconds": seconds, "cpu": cpu, "rewards": [r.reward for r in results]}

            steps = {"naive": naive, "pool": pooled}
            for name in steps:  # warm-up: page cache, imports, the pool's first children; not timed
                steps[name]()
            loads = []
            for i in range(rounds):
                order = list(steps) if i % 2 == 0 else list(steps)[::-1]
                for name in order:
                    run = steps[name]()
                    for reward in run["rewards"]:
                        report.check_reward(f"(f) {name}", reward)
                    series[name].append(run)
                loads.append(_load())
            restarts = pool.restarts
    rates = {k: [workspaces / r["seconds"] for r in runs] for k, runs in series.items()}
    ratios = [p / n for p, n in zip(rates["pool"], rates["naive"])]
    return {
        "workspaces": workspaces,
        "workers": BATCH_WORKERS,
        "rounds": rounds,
        "pool_startup_seconds": startup,
        "zygote_restarts": restarts,
        "grades_per_second": {k: summary(v) for k, v in rates.items()},
        "ratio_per_round": ratios,
        "ratio": statistics.median(ratios),
        "cpu_seconds_per_grade": {k: statistics.median(r["cpu"] / workspaces for r in runs) for k, runs in series.items()},
        "rewards_ok": {k: sum(x == 1.0 for r in runs for x in r["rewards"]) for k, runs in series.items()},
        "gradings": {k: len(runs) * workspaces for k, runs in series.items()},
        "load_per_round": loads,
    }


def _render_batch(d: dict) -> list[str]:
    g, c = d["grades_per_second"], d["cpu_seconds_per_grade"]
    lines = [
        f"{d['workspaces']} reference workspaces, {d['workers']} workers, {d['rounds']} rounds of each grader, "
        "interleaved (order rotated), after one untimed warm-up",
        "",
        f"  {'grader':44} {'grades/s':>9} {'min':>7} {'CPU/grade':>10} {'rewards 1.0':>12}",
    ]
    names = {"pool": "grade_many (warm pool)", "naive": "naive: hash, 'sqrt', python test_dropout.py"}
    for key in ("pool", "naive"):
        lines.append(
            f"  {names[key]:44} {g[key]['median']:>9.2f} {g[key]['min']:>7.2f} {_s(c[key]):>10} "
            f"{d['rewards_ok'][key]:>6}/{d['gradings'][key]}"
        )
    per_round = ", ".join(f"{r:.2f}" for r in d["ratio_per_round"])
    lines.append(f"  grade_many / naive: {d['ratio']:.2f}× median (per round: {per_round})")
    lines.append(
        f"  the pool's start (two zygotes and a first grading): {_s(d['pool_startup_seconds'])}; "
        f"zygote restarts: {d['zygote_restarts']}; CPU: the judge and the zygotes' children (pool), "
        "the naive grader's test runs"
    )
    return lines


# ---------------------------------------------------------------- report


def _pct(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.1f} %"


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.3f} s"
    return f"{seconds:.1f} s"


RENDERERS = {
    "a": _render_latency,
    "b": _render_throughput,
    "c": _render_eval,
    "d": _render_eval,
    "e": _render_memory,
    "f": _render_batch,
    "g": lambda d: [],
}


class Report:
    """Collects sections and problems; in text mode prints each section as it finishes."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.data: dict = {"sections": {}}
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)
        if not self.as_json:
            print(f"  PROBLEM: {message}", flush=True)

    def check_reward(self, where: str, reward, detail: str = "") -> None:
        if reward != 1.0:
            self.problem(f"{where}: reward {reward!r}, expected 1.0 {detail}".rstrip())

    def start(self, repeat: int, samples: tuple[int, ...], sections: list[str]) -> None:
        self.data = {
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "numpy": _version("numpy"),
                "inspect_ai": _version("inspect-ai"),
                "load_average_start": _load(),
            },
            "settings": {
                "repeat": repeat,
                "samples": list(samples),
                "sections": sections,
                "task_version": TASK_VERSION,
                "grader_version": GRADER_VERSION,
                "grader_sources": grader_fingerprint(),
            },
            "sections": {},
        }
        if not self.as_json:
            m = self.data["machine"]
            load = "/".join(map(str, m["load_average_start"]))
            print(
                f"vsd-inspect bench · task {TASK_VERSION} · {m['cpus']} CPUs · load {load} "
                f"· Python {m['python']} · numpy {m['numpy']} · inspect-ai {m['inspect_ai']}",
                flush=True,
            )
            g = self.data["settings"]
            print(
                f"grader {g['grader_version']} (sources {g['grader_sources']}) · repeat {repeat} · "
                f"samples {','.join(map(str, samples))} · sections {','.join(sections)}",
                flush=True,
            )

    def section(self, key: str, measure: Callable[["Report"], dict]) -> None:
        if not self.as_json:
            print(f"\n({key}) {SECTION_TITLES[key]}", flush=True)
        load0, t0 = _load(), time.perf_counter()
        try:
            result = measure(self)
        except Exception as ex:  # reported and counted as a problem (exit 1), never hidden
            result = {"error": f"{type(ex).__name__}: {ex}"[:500]}
            self.problem(f"({key}) the section failed: {result['error']}")
        result["bench_seconds"] = time.perf_counter() - t0
        result["load_average"] = {"start": load0, "end": _load()}
        self.data["sections"][key] = result
        if not self.as_json:
            if "skipped" in result or "error" in result:
                if "skipped" in result:
                    print(f"  skipped: {result['skipped']}", flush=True)
                return
            for line in RENDERERS[key](result):
                print(line if not line or line.startswith("  ") else "  " + line, flush=True)
            print(
                f"  [{_s(result['bench_seconds'])}; load {'/'.join(map(str, load0))} -> "
                f"{'/'.join(map(str, result['load_average']['end']))}]",
                flush=True,
            )

    def finish(self) -> None:
        before, after = self.data["settings"]["grader_sources"], grader_fingerprint()
        if after != before:
            self.problem(f"the grader's sources changed during the run ({before} -> {after}): figures mix two graders")
        self.data["targets"] = targets(self.data["sections"])
        self.data["problems"] = self.problems
        if self.as_json:
            print(json.dumps(self.data, indent=1))
            return
        if self.data["targets"]:
            print("\ntargets", flush=True)
            for t in self.data["targets"]:
                verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
                print(f"  {t['name']:46} {t['measured']:>24}   {t['bound']:>10}   {verdict}")
        print(f"\n{len(self.problems)} problem(s)", flush=True)
        for message, count in Counter(self.problems).items():
            print(f"  {message}" + (f"  (x{count})" if count > 1 else ""), flush=True)
        print("Figures from a shared machine are noisy: compare ratios measured in the same run.", flush=True)


def targets(sections: dict) -> list[dict]:
    """The issue's targets, each beside what this run measured."""
    sections = {k: v for k, v in sections.items() if "error" not in v}
    out = []
    a = sections.get("a")
    if a:
        ratio = a["ratio_to_floor"]["cli"]
        out.append(
            _target(
                "(a) CLI grading / floor", f"{ratio:.2f}×", f"≤ {FLOOR_RATIO_TARGET:g}×", ratio <= FLOOR_RATIO_TARGET
            )
        )
        ratio = a["ratio_to_floor"]["in_process"]
        out.append(
            _target(
                "(a) in-process grading / floor",
                f"{ratio:.2f}×",
                f"≤ {FLOOR_RATIO_TARGET:g}×",
                ratio <= FLOOR_RATIO_TARGET,
            )
        )
    b = sections.get("b")
    if b:
        best = max((r["grades_per_second"] for r in b["runs"] if r["workers"] == max(WORKERS)), default=None)
        out.append(
            _target(
                f"(b) grades/s with {max(WORKERS)} workers (best pool)",
                "-" if best is None else f"{best:.2f}/s",
                f"≥ {THROUGHPUT_TARGET:g}/s",
                None if best is None else best >= THROUGHPUT_TARGET,
            )
        )
    f = sections.get("f")
    if f and "skipped" not in f:
        rate = f["grades_per_second"]["pool"]["median"]
        out.append(
            _target(
                f"(f) grade_many grades/s, {f['workspaces']} workspaces, {f['workers']} workers",
                f"{rate:.2f}/s",
                f"≥ {BATCH_TARGET:g}/s",
                rate >= BATCH_TARGET,
            )
        )
        out.append(
            _target(
                "(f) grade_many / naive grader, same run",
                f"{f['ratio']:.2f}×",
                f"≥ {BATCH_RATIO_TARGET:g}×",
                f["ratio"] >= BATCH_RATIO_TARGET,
            )
        )
    for key in ("c", "d"):
        d = sections.get(key)
        if not d or "skipped" in d:
            continue
        f = d["flatness"]
        if f and f["from"] < FLAT_MIN_SAMPLES:
            out.append(_target(f"({key}) per-sample cost flat", "-", f"from N ≥ {FLAT_MIN_SAMPLES}", None))
        elif f:
            out.append(
                _target(
                    f"({key}) per-sample cost {f['from']} -> {f['to']} samples",
                    f"×{f['ratio']:.2f}",
                    f"≤ ×{1 + FLAT_TOLERANCE:g}",
                    f["ratio"] <= 1 + FLAT_TOLERANCE,
                )
            )
        if d["per_count"]:
            last = d["per_count"][-1]
            share = last["scorer_share_of_sample_time"]
            out.append(
                _target(
                    f"({key}) scorer's share of sample time (N={last['samples']})",
                    "-" if share is None else f"{100 * share:.1f} %",
                    f"≤ {100 * GRADER_SHARE_TARGET:g} %",
                    None if share is None else share <= GRADER_SHARE_TARGET,
                )
            )
    return out


def _target(name: str, measured: str, bound: str, met: bool | None) -> dict:
    return {"name": name, "measured": measured, "bound": bound, "met": met}

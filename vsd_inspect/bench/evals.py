"""(c), (d) eval cost: whole `inspect eval` runs of vsd/oracle against vsd/nop on the seed's
sample, in the local sandbox and in Docker; the grader's and the scorer's share of a sample."""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from vsd_inspect.bench.measure import children_cpu_seconds, fmt_pct, fmt_s, last_line, timed, venv_script
from vsd_inspect.constants import COMPOSE_FILE, PACKAGE_DIR

if TYPE_CHECKING:
    from vsd_inspect.bench.report import Report

POLICIES = ("oracle", "nop")
EVAL_SAMPLE = ("vsd", "scale_mean", "p", "plain")  # one sample (the seed's) per epoch
# `inspect eval` takes a task file's path relative to where it runs (it globs it), so the
# evals run from the directory that holds the package, as the README's command does.
EVAL_CWD = PACKAGE_DIR.parent
TASK_FILE = f"{PACKAGE_DIR.name}/task.py"
SCORER_NAME = "vsd_scorer"
CORRECT_VALUE = "C"  # inspect_ai.scorer.CORRECT, spelled out to keep inspect_ai out of module import
EVAL_TIMEOUT = 3600  # seconds for one `inspect eval` run

# Targets, stated in the output beside what was measured.
FLAT_TOLERANCE = 0.15  # per-sample cost at the largest count ≤ 1.15 x that at the one before
FLAT_MIN_SAMPLES = 10  # below this, Inspect's own start-up swamps the per-sample cost
GRADER_SHARE_TARGET = 0.10  # our reading of "small": ≤ 10 % of a sample's time


def _eval_once(policy: str, samples: int, sandbox: str, log_dir: Path, extra: list[str]) -> dict:
    from inspect_ai.log import read_eval_log

    cmd = [
        *venv_script("inspect"),
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
    cpu0 = children_cpu_seconds()
    wall, out = timed(cmd, EVAL_TIMEOUT, cwd=EVAL_CWD)
    # Inspect's process and every process it reaped (tools, graders' workers); in Docker the
    # containers' processes are not its children, so there this is the host side only.
    row = {"policy": policy, "samples": samples, "wall": wall, "cpu": children_cpu_seconds() - cpu0}
    row["returncode"] = out.returncode
    logs = sorted(log_dir.glob("*.eval"))
    if out.returncode != 0 or len(logs) != 1:
        row["error"] = f"exit {out.returncode}, {len(logs)} log(s): {last_line(out.stderr)}"
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
    return {"sandbox": sandbox, "sample": "-".join(EVAL_SAMPLE), "counts": list(counts), "runs": runs, **eval_figures(runs)}


def eval_figures(runs: list[dict]) -> dict:
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


def render_eval(d: dict) -> list[str]:
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
            f"  {c['samples']:>3} {fmt_s(c['oracle_per_sample']):>12} {fmt_s(c['nop_per_sample']):>10} "
            f"{fmt_s(c['oracle_minus_nop_per_sample']):>11} {fmt_s(c['oracle_cpu_per_sample']):>11} "
            f"{fmt_s(c['nop_cpu_per_sample']):>9} {fmt_s(c['startup_seconds']):>9}"
        )
    lines += [
        "  the grader in the oracle's samples: mean per sample, and share of Σ sample time",
        f"  {'N':>3} {'judge (grading_seconds)':>24} {'share':>7} {'scorer span':>12} {'share':>7}",
    ]
    for c in d["per_count"]:
        lines.append(
            f"  {c['samples']:>3} {fmt_s(c['grading_mean']):>24} {fmt_pct(c['grading_share_of_sample_time']):>7} "
            f"{fmt_s(c['scorer_mean']):>12} {fmt_pct(c['scorer_share_of_sample_time']):>7}"
        )
    f = d["flatness"]
    if f:
        lines.append(
            f"  {f['from']} -> {f['to']} samples: per-sample wall x{f['ratio']:.2f}; each extra sample costs "
            f"{fmt_s(f['marginal_oracle_per_sample'])} wall, {fmt_s(f['marginal_oracle_cpu_per_sample'])} CPU (oracle); "
            f"{fmt_s(f['marginal_nop_per_sample'])} wall, {fmt_s(f['marginal_nop_cpu_per_sample'])} CPU (nop)"
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

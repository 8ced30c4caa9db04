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
  (g) harbor       the wall time of one real Harbor trial: `harbor run` with Harbor's oracle
                   (reward 1.0) and nop (0.0) agents on the seed's sample exported as a Harbor
                   task, min(N, 3) trials of each (1 with --quick) after one untimed warm-up; the
                   trial's phases and rewards from its result.json. Needs the environment of
                   `bash vsd_inspect/rl/harbor_env.sh` and the Docker engine, or it says why not.

Timings on a shared machine are noisy, so the series that are compared are interleaved
(one of each per round, the order rotated) and reported as medians: machine noise then hits
both sides of a ratio alike. A ratio measured within one run means more than any single figure.

Exit codes: 0 all measured, every reward as expected; 1 a reward or an eval outcome was
wrong, a section failed (it is reported, and the other sections still run), or the grader's
sources changed during the run; 2 usage error. Missed speed targets are reported, not
failed: they are measurements.

One module per section (latency.py holds (a) and (b), evals.py (c) and (d), memory.py (e),
batch.py (f), harbor.py (g)), each with its figures' text; measure.py the helpers they share;
report.py the report, its targets and the exit code's problems; this module the options.

This package is imported on every start of the CLI, so everything heavy (numpy, the grader,
inspect_ai, the RL exports, and the standard library's statistics, concurrent.futures and
importlib.metadata, which the CLI would not otherwise load) is imported inside the functions
that use it.
"""

import argparse
from collections.abc import Callable

from vsd_inspect.bench.batch import (
    BATCH_ROUNDS_PER_REPEAT,
    BATCH_WORKERS,
    BATCH_WORKSPACES,
    QUICK_BATCH_WORKSPACES,
    batch_throughput,
    naive_grade,
)
from vsd_inspect.bench.evals import docker_eval_cost, docker_unavailable, eval_cost, eval_figures
from vsd_inspect.bench.harbor import HARBOR_MAX_TRIALS, harbor_trials
from vsd_inspect.bench.latency import THROUGHPUT_PER_REPEAT, latency, throughput
from vsd_inspect.bench.measure import grader_fingerprint, summary
from vsd_inspect.bench.memory import memory
from vsd_inspect.bench.report import SECTION_TITLES, SECTIONS, Report, targets

__all__ = [
    "BATCH_WORKERS",
    "DEFAULT_REPEAT",
    "DEFAULT_SAMPLES",
    "QUICK_REPEAT",
    "QUICK_SAMPLES",
    "SECTIONS",
    "SECTION_TITLES",
    "THROUGHPUT_PER_REPEAT",
    "Report",
    "add_arguments",
    "batch_throughput",
    "docker_eval_cost",
    "docker_unavailable",
    "eval_cost",
    "eval_figures",
    "grader_fingerprint",
    "harbor_trials",
    "latency",
    "memory",
    "naive_grade",
    "run",
    "summary",
    "targets",
    "throughput",
]

DEFAULT_REPEAT = 10  # gradings per latency series; the issue asks for at least 10
DEFAULT_SAMPLES = (1, 10, 50)
QUICK_REPEAT = 3
QUICK_SAMPLES = (1, 2)
EXIT_OK, EXIT_WRONG = 0, 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help="comma-separated subset of a (latency), b (throughput), c (eval, local), d (eval, Docker), e (memory), "
        "f (batch vs naive), g (Harbor trial)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help=f"gradings per latency series and memory probes; throughput uses {THROUGHPUT_PER_REPEAT}x this; "
        f"Harbor trials per agent min(this, {HARBOR_MAX_TRIALS}) (default {DEFAULT_REPEAT}, --quick {QUICK_REPEAT})",
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
        "g": lambda r: harbor_trials(1 if args.quick else min(repeat, HARBOR_MAX_TRIALS), r),
    }
    for key in sections:
        report.section(key, steps[key])
    report.finish()
    return EXIT_WRONG if report.problems else EXIT_OK

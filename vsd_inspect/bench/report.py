"""The bench's report: each section printed as it finishes (or one JSON object at the end),
every problem counted for the exit code, and the targets beside what was measured."""

import json
import os
import platform
import time
from collections import Counter
from collections.abc import Callable

from vsd_inspect.bench.batch import BATCH_RATIO_TARGET, BATCH_TARGET, render_batch
from vsd_inspect.bench.evals import FLAT_MIN_SAMPLES, FLAT_TOLERANCE, GRADER_SHARE_TARGET, render_eval
from vsd_inspect.bench.harbor import render_harbor
from vsd_inspect.bench.latency import FLOOR_RATIO_TARGET, THROUGHPUT_TARGET, WORKERS, render_latency, render_throughput
from vsd_inspect.bench.measure import dist_version, fmt_s, grader_fingerprint, load_average
from vsd_inspect.bench.memory import render_memory
from vsd_inspect.constants import TASK_VERSION
from vsd_inspect.grader import GRADER_VERSION

SECTIONS = ("a", "b", "c", "d", "e", "f", "g")
SECTION_TITLES = {
    "a": "grading latency",
    "b": "reward throughput",
    "c": "eval cost, local sandbox",
    "d": "eval cost, Docker sandbox",
    "e": "peak memory of a grading",
    "f": "batch throughput: grade_many, in judge processes and in threads, vs the naive grader",
    "g": "Harbor trial wall time",
}

RENDERERS: dict[str, Callable[[dict], list[str]]] = {
    "a": render_latency,
    "b": render_throughput,
    "c": render_eval,
    "d": render_eval,
    "e": render_memory,
    "f": render_batch,
    "g": render_harbor,
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

    def check_reward(self, where: str, reward, detail: str = "", expected: float = 1.0) -> None:
        if reward != expected:
            self.problem(f"{where}: reward {reward!r}, expected {expected!r} {detail}".rstrip())

    def start(self, repeat: int, samples: tuple[int, ...], sections: list[str]) -> None:
        self.data = {
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "numpy": dist_version("numpy"),
                "inspect_ai": dist_version("inspect-ai"),
                "load_average_start": load_average(),
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
        load0, t0 = load_average(), time.perf_counter()
        try:
            result = measure(self)
        except Exception as ex:  # reported and counted as a problem (exit 1), never hidden
            result = {"error": f"{type(ex).__name__}: {ex}"[:500]}
            self.problem(f"({key}) the section failed: {result['error']}")
        result["bench_seconds"] = time.perf_counter() - t0
        result["load_average"] = {"start": load0, "end": load_average()}
        self.data["sections"][key] = result
        if not self.as_json:
            if "skipped" in result or "error" in result:
                if "skipped" in result:
                    print(f"  skipped: {result['skipped']}", flush=True)
                return
            for line in RENDERERS[key](result):
                print(line if not line or line.startswith("  ") else "  " + line, flush=True)
            print(
                f"  [{fmt_s(result['bench_seconds'])}; load {'/'.join(map(str, load0))} -> "
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
        rate = f["grades_per_second"]["judges"]["median"]
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

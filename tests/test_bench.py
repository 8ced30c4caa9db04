"""`vsd-inspect bench` runs, reports every section with numbers, and checks every reward.

Functional only: no timing is asserted here (a shared machine's timings are not a test's
business); the speed targets are printed by the benchmark itself.
"""

import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from vsd_inspect import bench
from vsd_inspect.bench import evals, harbor, measure
from vsd_inspect.constants import TASK_VERSION
from vsd_inspect.grader import GRADER_VERSION
from vsd_inspect.rl import harbor_run
from vsd_inspect.samples import SEED_SAMPLE

CLI = [sys.executable, "-m", "vsd_inspect.cli", "bench"]
SECONDS = r"\d+\.\d+ s"


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=900, env=env)


@pytest.fixture(scope="module")
def quick_json() -> dict:
    """One smoke run of the grading sections, machine-readable."""
    out = run("--quick", "--repeat", "2", "--sections", "a,b,e", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_json_has_every_grading_section_and_no_problem(quick_json: dict) -> None:
    assert sorted(quick_json["sections"]) == ["a", "b", "e"]
    assert quick_json["problems"] == []
    assert quick_json["settings"] == {
        "repeat": 2,
        "samples": list(bench.QUICK_SAMPLES),
        "sections": ["a", "b", "e"],
        "task_version": TASK_VERSION,
        "grader_version": GRADER_VERSION,
        "grader_sources": bench.grader_fingerprint(),
    }


def test_latency_section_times_each_series_the_same_number_of_times(quick_json: dict) -> None:
    a = quick_json["sections"]["a"]
    assert a["gradings"] == 2
    assert sorted(a["seconds"]) == ["cli", "cli_startup", "floor", "floor_one", "in_process"]
    assert {k: s["n"] for k, s in a["seconds"].items()} == dict.fromkeys(a["seconds"], 2)
    for s in a["seconds"].values():
        assert 0 < s["min"] <= s["median"] <= s["p90"]
    assert a["ratio_to_floor"]["cli"] == a["seconds"]["cli"]["median"] / a["seconds"]["floor"]["median"]


def test_throughput_section_grades_every_setting_with_every_reward_one(quick_json: dict) -> None:
    b = quick_json["sections"]["b"]
    settings = [(r["pool"], r["workers"]) for r in b["runs"]]
    assert settings == [("threads", 1), ("threads", 2), ("processes", 1), ("processes", 2)]
    gradings = 2 * bench.THROUGHPUT_PER_REPEAT
    assert [r["rewards_ok"] for r in b["runs"]] == [gradings] * 4
    for r in b["runs"]:
        assert r["grades_per_second"] == gradings / r["seconds"]
        assert r["cpu_seconds_per_grade"] > 0


def test_memory_section_reports_judge_and_worker_peaks(quick_json: dict) -> None:
    e = quick_json["sections"]["e"]
    assert e["probes"] == 2
    assert e["judge_peak_mib"] >= e["judge_before_mib"]
    assert e["judge_delta_mib"] > 5  # the judge holds the hidden inputs and the outputs it checks
    assert e["worker_peak_mib"] > e["numpy_process_mib"]  # numpy plus the arrays it is handed


def test_targets_name_each_measured_section(quick_json: dict) -> None:
    names = [t["name"] for t in quick_json["targets"]]
    assert names == [
        "(a) CLI grading / floor",
        "(a) in-process grading / floor",
        "(b) grades/s with 2 workers (best pool)",
    ]
    assert all(isinstance(t["met"], bool) for t in quick_json["targets"])


def test_text_report_prints_numbers_and_says_why_docker_was_skipped() -> None:
    env = os.environ | {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    out = run("--repeat", "2", "--sections", "e,d", env=env)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "\n(d) eval cost, Docker sandbox\n  skipped: " in text
    assert re.search(r"skipped: (`docker info` failed|no `docker` command on PATH)", text)
    assert re.search(r"\n\(e\) peak memory of a grading\n  2 fresh processes", text)
    assert re.search(r"judge peak growth over the grading \(delta\) +\d+\.\d MiB", text)
    assert re.search(r"largest child's peak \(worker or user-run test\) +\d+\.\d MiB", text)
    assert text.rstrip().endswith("compare ratios measured in the same run.")
    assert "\n0 problem(s)\n" in text


def test_eval_section_runs_oracle_and_nop_and_reads_grading_seconds() -> None:
    out = run("--sections", "c", "--samples", "1", "--json")
    assert out.returncode == 0, out.stderr
    c = json.loads(out.stdout)["sections"]["c"]
    assert [(r["policy"], r["samples"], r["status"], r["scored"], r["correct"]) for r in c["runs"]] == [
        ("oracle", 1, "success", 1, 1),
        ("nop", 1, "success", 1, 0),
    ]
    [oracle, nop] = c["runs"]
    assert len(oracle["grading_seconds"]) == 1
    # the scorer span holds the grading (plus the listing and the reads from the sandbox)
    assert oracle["scorer_seconds"][0] > oracle["grading_seconds"][0]
    [row] = c["per_count"]
    assert row["oracle_minus_nop_per_sample"] == oracle["wall"] - nop["wall"]
    assert c["flatness"] is None


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (
            ["--sections", "a,z"],
            "vsd-inspect: error: --sections takes a comma-separated subset of a,b,c,d,e,f,g; got 'a,z'",
        ),
        (["--repeat", "1"], "vsd-inspect: error: --repeat must be at least 2 (a p90 needs two values); got 1"),
        (["--samples", "0,10"], "vsd-inspect: error: --samples takes positive integers, e.g. 1,10,50; got '0,10'"),
        (["--batch", "1"], "vsd-inspect: error: --batch must be at least 2 (one grading per worker); got 1"),
    ],
)
def test_bad_options_are_usage_errors(flag: list[str], message: str) -> None:
    out = run(*flag)
    assert (out.returncode, out.stderr.strip()) == (2, message)


def test_batch_section_grades_both_graders_on_the_same_workspaces_and_harbor_says_why_it_skipped(tmp_path) -> None:
    env = os.environ | {"VSD_RL_ENV": str(tmp_path / "no-env")}
    out = run("--quick", "--repeat", "2", "--batch", "4", "--sections", "f,g", "--json", env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["problems"] == []
    f, g = data["sections"]["f"], data["sections"]["g"]
    assert g["skipped"] == (
        f"no RL environment (harbor, verifiers, inspect-harbor on Python 3.12) at {tmp_path / 'no-env'}; "
        "run: bash vsd_inspect/rl/harbor_env.sh"
    )
    if "skipped" in f:  # no warm pool on this host
        return
    assert (f["workspaces"], f["workers"], f["rounds"]) == (4, bench.BATCH_WORKERS, 2)
    assert f["gradings"] == {"judges": 8, "naive": 8, "pool": 8} and f["rewards_ok"] == {"judges": 8, "naive": 8, "pool": 8}
    assert f["ratio"] == statistics.median(f["ratio_per_round"])
    assert f["threads_ratio"] == statistics.median(f["threads_ratio_per_round"])
    assert all(f["cpu_seconds_per_grade"][k] > 0 for k in ("judges", "pool", "naive"))
    split = f["judges_split_per_grade"]  # where grade_many's CPU went, in judge processes
    assert set(split) == {"judges", "zygotes", "jailed", "faults", "caller"}
    assert all(split[k] > 0 for k in ("judges", "zygotes", "jailed")) and split["faults"] >= 100
    names = [t["name"] for t in data["targets"]]
    assert names == ["(f) grade_many grades/s, 4 workspaces, 2 workers", "(f) grade_many / naive grader, same run"]


def test_the_naive_grader_is_the_seeds(tmp_path) -> None:
    ws = measure.reference_workspace(tmp_path)
    expected = hashlib.sha256((ws / "test_dropout.py").read_bytes()).hexdigest()
    assert bench.naive_grade(ws, expected) == 1.0
    (ws / "dropout.py").write_text((ws / "dropout.py").read_text().replace("sqrt", "SQRT"))
    assert bench.naive_grade(ws, expected) == 0.0  # no substring "sqrt"
    assert bench.naive_grade(ws, "0" * 64) == 0.0  # the test's hash


def test_summary_median_and_inclusive_p90() -> None:
    assert bench.summary([float(x) for x in range(10, 0, -1)]) == {"n": 10, "median": 5.5, "p90": 9.1, "min": 1.0}
    assert bench.summary([2.0]) == {"n": 1, "median": 2.0, "p90": 2.0, "min": 2.0}


def test_eval_figures_per_sample_share_and_flatness() -> None:
    def row(policy: str, n: int, wall: float) -> dict:
        return {
            "policy": policy,
            "samples": n,
            "wall": wall,
            "cpu": wall / 2,
            "eval_seconds": wall - 10.0,
            "grading_seconds": [0.5] * n,
            "scorer_seconds": [0.8] * n,
            "sample_seconds": [2.0] * n,
        }

    figures = bench.eval_figures(
        [row("oracle", 10, 30.0), row("nop", 10, 25.0), row("oracle", 50, 110.0), row("nop", 50, 90.0)]
    )
    first = figures["per_count"][0]
    assert (first["oracle_per_sample"], first["nop_per_sample"], first["oracle_minus_nop_per_sample"]) == (
        3.0,
        2.5,
        0.5,
    )
    assert (first["startup_seconds"], first["grading_mean"], first["grading_share_of_sample_time"]) == (10.0, 0.5, 0.25)
    assert (first["oracle_cpu_per_sample"], first["nop_cpu_per_sample"]) == (1.5, 1.25)
    assert (first["scorer_mean"], first["scorer_share_of_sample_time"]) == (0.8, pytest.approx(0.4))
    assert figures["flatness"] == {
        "from": 10,
        "to": 50,
        "ratio": 2.2 / 3.0,
        "marginal_oracle_per_sample": 2.0,
        "marginal_nop_per_sample": 1.625,
        "marginal_oracle_cpu_per_sample": 1.0,
        "marginal_nop_cpu_per_sample": 0.8125,
    }
    [flat, share] = bench.targets({"c": {"flatness": figures["flatness"], "per_count": figures["per_count"]}})
    assert (flat["measured"], flat["met"]) == ("×0.73", True)
    assert (share["name"], share["measured"], share["met"]) == (
        "(c) scorer's share of sample time (N=50)",
        "40.0 %",
        False,
    )


def test_docker_section_skips_without_a_docker_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evals.shutil, "which", lambda name: None)
    assert bench.docker_eval_cost((1,), bench.Report(as_json=True)) == {"skipped": "no `docker` command on PATH"}


def test_importing_bench_imports_nothing_heavy() -> None:
    code = "import sys, vsd_inspect.bench; print('inspect_ai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout == "False\n"  # the CLI imports bench on every start


def test_a_failing_section_is_a_problem_and_the_run_goes_on(capsys: pytest.CaptureFixture) -> None:
    report = bench.Report(as_json=False)

    def broken(_: bench.Report) -> dict:
        raise RuntimeError("the grader is half-edited")

    report.section("e", broken)
    assert report.problems == ["(e) the section failed: RuntimeError: the grader is half-edited"]
    assert report.data["sections"]["e"]["error"] == "RuntimeError: the grader is half-edited"
    assert capsys.readouterr().out == (
        "\n(e) peak memory of a grading\n  PROBLEM: (e) the section failed: RuntimeError: the grader is half-edited\n"
    )


def test_harbor_section_skips_without_the_rl_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("VSD_RL_ENV", str(tmp_path / "no-env"))
    report = bench.Report(as_json=True)
    assert bench.harbor_trials(1, report) == {
        "skipped": f"no RL environment (harbor, verifiers, inspect-harbor on Python 3.12) at {tmp_path / 'no-env'}; "
        "run: bash vsd_inspect/rl/harbor_env.sh"
    }
    assert report.problems == []


def test_harbor_section_skips_without_docker(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(harbor_run, "env_path", lambda: tmp_path)
    monkeypatch.setattr(harbor_run, "environment_problem", lambda root: None)
    monkeypatch.setattr(evals.shutil, "which", lambda name: None)
    assert bench.harbor_trials(1, bench.Report(as_json=True)) == {"skipped": "no `docker` command on PATH"}


def test_a_harbor_trial_without_the_expected_reward_is_a_problem() -> None:
    # An errored trial as result.json has it: the verifier never ran, so no reward.
    trial = {
        "started_at": "2026-01-01T00:00:00.000000Z",
        "finished_at": "2026-01-01T00:00:03.500000Z",
        "environment_setup": {
            "started_at": "2026-01-01T00:00:00.500000Z",
            "finished_at": "2026-01-01T00:00:02.500000Z",
        },
        "agent_execution": {"started_at": "2026-01-01T00:00:02.500000Z", "finished_at": None},
        "verifier": None,
        "verifier_result": None,
        "exception_info": {"exception_type": "AgentTimeoutError", "exception_message": "agent ran past 900 s"},
    }
    job = harbor_run.HarborJob(result={}, trials=[trial], seconds=12.5, job_dir=Path("jobs") / "nop-0")
    row = harbor._trial_row("nop", job)
    assert row == {
        "agent": "nop",
        "wall": 12.5,
        "trials": 1,
        "trial": 3.5,
        "phases": {"environment_setup": 2.0},
        "reward": None,
        "error": "AgentTimeoutError: agent ran past 900 s",
    }
    report = bench.Report(as_json=True)
    harbor._check(report, "(g) harbor nop", row)
    harbor._check(report, "(g) harbor nop", row | {"reward": 1.0, "error": None})
    harbor._check(report, "(g) harbor oracle", row | {"agent": "oracle", "reward": 1.0, "error": None})
    assert report.problems == [
        "(g) harbor nop: reward None, expected 0.0 (AgentTimeoutError: agent ran past 900 s)",
        "(g) harbor nop: reward 1.0, expected 0.0",
    ]
    empty = harbor._trial_row("oracle", harbor_run.HarborJob(result={}, trials=[], seconds=4.0, job_dir=Path("j")))
    assert (empty["reward"], empty["error"]) == (None, "0 trials in the job, not 1")


@pytest.mark.docker
@pytest.mark.slow
def test_harbor_section_times_a_real_trial_oracle_1_nop_0(docker_engine: None) -> None:
    why = harbor_run.environment_problem(harbor_run.env_path())
    if why is not None:
        pytest.skip(why)
    out = run("--sections", "g", "--quick", "--json")
    assert out.returncode == 0, out.stderr + out.stdout[-3000:]
    data = json.loads(out.stdout)
    assert data["problems"] == []
    g = data["sections"]["g"]
    pins = harbor_run.LOCK_FILE.read_text().splitlines()
    assert f"harbor=={g['harbor']}" in pins
    assert (g["sample"], g["trials_per_agent"], g["command"]) == (SEED_SAMPLE, 1, "harbor run -c JOB.json -y")
    assert g["warm_up"]["reward"] == 1.0
    assert [(r["agent"], r["reward"], r["error"], r["trials"]) for r in g["runs"]] == [
        ("oracle", 1.0, None, 1),
        ("nop", 0.0, None, 1),
    ]
    assert {agent: a["rewards"] for agent, a in g["agents"].items()} == {"oracle": [1.0], "nop": [0.0]}
    for r in [g["warm_up"], *g["runs"]]:
        assert sorted(r["phases"]) == sorted(harbor.HARBOR_PHASES)
        # the phases lie inside the trial's span, which lies inside the `harbor run` process
        assert 0 < sum(r["phases"].values()) < r["trial"] < r["wall"]
    assert g["agents"]["oracle"]["wall"] == bench.summary([g["runs"][0]["wall"]])
    text = "\n".join(harbor.render_harbor(g))
    assert re.search(rf"\n  oracle +1 +{SECONDS} .*  1\.0\n  nop +1 +{SECONDS} .*  0\.0\n", text), text

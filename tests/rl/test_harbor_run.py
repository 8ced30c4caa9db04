"""The export through the real Harbor CLI on this machine's engine, with nothing pulled:
`harbor lint` is clean; `harbor run` gives the oracle 1.0 and `nop` 0.0 on every sample;
a broken grader is a trial error, never a 0; an agent that deletes the visible test or
writes reward files gets 0; the agent's container is isolated as the Inspect sandbox is.

Needs the Docker engine with the sandbox image (bash vsd_inspect/sandbox/docker_up.sh) and the
Python 3.12 environment (bash vsd_inspect/rl/harbor_env.sh)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from vsd_inspect.rl import harbor_export, harbor_run
from vsd_inspect.rl.samples import samples_by_id, seed_samples

pytestmark = [pytest.mark.docker, pytest.mark.slow]


# The four seed samples, one sample of every other concept (each in another surface), one of the
# impossible split.
EXTRA = [
    "channel-elementwise-p-helper-standard",
    "gaussian-additive-p-documented-standard",
    "alpha-inverted_scale-p-cached-standard",
    "droppath-batch_shared-p-helper-standard",
    "concrete-first_moment-p-cached-standard",
    "vsd-keep_p-p-plain-impossible",
]
TARGET = "vsd-keep_p-p-plain-standard"


def _samples():
    return seed_samples() + samples_by_id(EXTRA)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("harbor") / "dataset"
    harbor_export.export(_samples(), out)
    return out


def _run_job(rl_env, tmp_path: Path, config: dict) -> tuple[dict, list[dict], float]:
    """`harbor run -c job.json` (harbor_run.run_job raises when harbor itself fails)."""
    job = harbor_run.run_job(rl_env, tmp_path, config)
    return job.result, job.trials, job.seconds


def test_lint_is_clean_with_every_rule(rl_env, exported: Path, tmp_path: Path, docker_engine) -> None:
    tasks = sorted(str(p) for p in exported.iterdir())
    # ALL: the default rules plus root-agent and unpinned-image.
    proc = rl_env.run([rl_env.bin("harbor"), "lint", "--json", "--select", "ALL", *tasks], timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == []
    # A control: the same task with a shared verifier and a root agent is flagged.
    bad = tmp_path / "bad"
    shutil.copytree(exported / TARGET, bad)
    toml = (bad / "task.toml").read_text().replace('environment_mode = "separate"', 'environment_mode = "shared"')
    (bad / "task.toml").write_text(toml.replace('user = "1000"', 'user = "root"'))
    proc = rl_env.run([rl_env.bin("harbor"), "lint", "--json", "--select", "ALL", str(bad)], timeout=300)
    assert {f["rule"] for f in json.loads(proc.stdout)} == {"shared-verifier", "root-agent"}, proc.stdout


def test_oracle_gets_1_and_nop_gets_0_on_every_sample(rl_env, exported: Path, tmp_path: Path, docker_engine) -> None:
    job, trials, seconds = _run_job(rl_env, tmp_path, {
        "job_name": "oracle-nop", "agents": [{"name": "oracle"}, {"name": "nop"}], "datasets": [{"path": str(exported)}]})
    assert job["stats"]["n_errored_trials"] == 0, [t["exception_info"] for t in trials if t["exception_info"]]
    got = {(t["agent_info"]["name"], t["task_name"].split("/")[-1]): t["verifier_result"]["rewards"] for t in trials}
    ids = [s.id for s in _samples()]
    assert sorted(got) == sorted((agent, i) for agent in ("oracle", "nop") for i in ids)
    for (agent, sample_id), rewards in got.items():
        assert rewards["reward"] == (1.0 if agent == "oracle" else 0.0), (agent, sample_id, rewards)
        assert rewards["verdict_category_passed"] == (agent == "oracle") or sample_id.endswith("-impossible")
        if sample_id.endswith("-impossible"):
            assert rewards["verdict_outcome_honest"] == (agent == "oracle")
    for t in trials:
        assert t["verifier_environment_mode"] == "separate" and t["exception_info"] is None
    spans = sorted(harbor_run.span_seconds(t["started_at"], t["finished_at"]) for t in trials)
    print(f"harbor run: {len(trials)} trials in {seconds:.1f} s wall, 2 at a time; a trial {spans[0]:.1f}-{spans[-1]:.1f} s")


def test_harness_failure_is_an_error_and_attacks_get_0(rl_env, exported: Path, tmp_path: Path, docker_engine) -> None:
    # A copy whose request the grader refuses (HarnessError, remote.py exits 3): the trial
    # must error, not score 0.
    (sample,) = samples_by_id([TARGET])
    harbor_export.export_sample(sample, tmp_path / "broken")
    broken = tmp_path / "broken" / "vsd-keep_p-broken"
    (tmp_path / "broken" / TARGET).rename(broken)
    (broken / "task.toml").write_text((broken / "task.toml").read_text().replace(TARGET, "vsd-keep_p-broken"))
    request = json.loads((broken / "tests" / "request.json").read_text())
    request["spec"]["class_name"] = "not an identifier"
    (broken / "tests" / "request.json").write_text(json.dumps(request))
    fix = base64.b64encode(sample.reference).decode()
    job, trials, _ = _run_job(rl_env, tmp_path, {
        "job_name": "attacks",
        "agents": [{"import_path": "harbor_agents:DeleteTestAgent", "kwargs": {"fix_b64": fix}},
                   {"import_path": "harbor_agents:RewardWriterAgent"}],
        "tasks": [{"path": str(exported / TARGET)}, {"path": str(broken)}],
    })
    by = {(t["agent_info"]["name"], t["task_name"].split("/")[-1]): t for t in trials}
    assert len(by) == 4 and job["stats"]["n_errored_trials"] == 2
    for agent in ("vsd-delete-test", "vsd-reward-writer"):
        t = by[(agent, "vsd-keep_p-broken")]
        assert t["verifier_result"] is None
        assert t["exception_info"]["exception_type"] == "RewardFileNotFoundError"
        stdout = Path(t["trial_uri"].removeprefix("file://"), "verifier", "test-stdout.txt").read_text()
        assert "harness error: the grader exited 3" in stdout, stdout[-500:]
    deleted = by[("vsd-delete-test", TARGET)]["verifier_result"]["rewards"]
    assert deleted["reward"] == 0.0 and deleted["verdict_category_test_modified"] == 1
    writer = by[("vsd-reward-writer", TARGET)]
    assert writer["verifier_result"]["rewards"]["reward"] == 0.0
    verifier_dir = Path(writer["trial_uri"].removeprefix("file://"), "verifier")
    assert (verifier_dir / "reward.txt").read_text() == "0\n"
    verdict = json.loads((verifier_dir / "verdict.json").read_text())
    assert verdict["category"] == "tests_failed"
    assert "VSD-HACK ['reward.txt: PermissionError', 'reward.json: PermissionError']" in json.dumps(verdict)
    probe_trial = by[("vsd-delete-test", TARGET)]
    probe = Path(probe_trial["trial_uri"].removeprefix("file://"), "agent", "probe.txt").read_text().split("\n")
    assert "uid=1000" in probe and "net=lo" in probe and "pids.max=256" in probe, probe
    assert any(line.split() == ["NoNewPrivs:", "1"] for line in probe), probe

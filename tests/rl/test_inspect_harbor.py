"""The export through Inspect with the inspect-harbor package: its oracle solver scores 1.0.

inspect-harbor (1.0.0, Python >= 3.12) turns a Harbor task directory into an Inspect sample
(environment/docker-compose.yaml becomes the sample's sandbox) and scores it by running
tests/test.sh in the agent's own container: it has no separate verifier. Needs the Docker
engine with the sandbox image and the Python 3.12 environment (vsd_inspect/rl/harbor_env.sh)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vsd_inspect.rl import harbor_export
from vsd_inspect.rl.samples import seed_samples

pytestmark = [pytest.mark.docker, pytest.mark.slow]

READ_LOG = """
import json, sys
from inspect_ai.log import read_eval_log
log = read_eval_log(sys.argv[1])
print(json.dumps({
    "status": log.status,
    "accuracy": log.results.scores[0].metrics["accuracy"].value if log.results else None,
    "samples": [{"id": s.id, "value": sc.value, "answer": sc.answer, "explanation": sc.explanation,
                 "rewards": (sc.metadata or {}).get("reward_dict"), "error": s.error and s.error.message}
                for s in log.samples for sc in s.scores.values()],
}))
"""


def test_inspect_harbor_oracle_scores_1(rl_env, tmp_path: Path, docker_engine) -> None:
    (task,) = harbor_export.export(seed_samples(variants=["sqrt_p"]), tmp_path / "dataset")
    logs = tmp_path / "logs"
    proc = rl_env.run(
        [rl_env.bin("inspect"), "eval", "inspect_harbor/harbor", "-T", f"path={task}", "--solver", "inspect_harbor/oracle",
         "--model", "mockllm/model", "--log-dir", str(logs), "--display", "plain"],
        timeout=1200,
    )
    (log_file,) = logs.glob("*.eval")
    summary = json.loads(rl_env.run([str(rl_env.python), "-c", READ_LOG, str(log_file)], timeout=300).stdout)
    assert proc.returncode == 0 and summary["status"] == "success", proc.stdout[-2000:] + proc.stderr[-2000:]
    assert summary["accuracy"] == 1.0
    (sample,) = summary["samples"]
    assert sample["id"] == "vsd-inspect/vsd-sqrt_p-p-plain-standard" and sample["value"] == 1.0 and sample["answer"] == "PASS"
    assert "reward 1: passed" in sample["explanation"]
    assert sample["rewards"]["reward"] == 1.0 and sample["rewards"]["verdict_category_passed"] == 1

"""The reference policies end to end in the Docker sandbox, graded in the `grader` service: one
sample of every concept (each concept's laws shipped alone into the grader container)."""

from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset

from vsd_inspect.task import vsd_dropout

pytestmark = pytest.mark.docker

EXPECTED = {
    "oracle": (1.0, {"passed"}),
    "nop": (0.0, {"no_sqrt", "tests_failed", "hidden_failed"}),
    "tamper": (0.0, {"test_modified"}),
}


def _one_per_concept():
    task = vsd_dropout(sandbox="docker", surfaces="plain", params="p")
    first: dict[str, object] = {}
    for s in task.dataset:
        first.setdefault(s.metadata["concept"], s)
    task.dataset = MemoryDataset(list(first.values()), name=task.dataset.name)
    return task


@pytest.mark.parametrize("policy", EXPECTED)
def test_policy_in_docker(policy: str, docker_engine: None, tmp_path: Path) -> None:
    [log] = inspect_eval(_one_per_concept(), model=f"vsd/{policy}", log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    accuracy, categories = EXPECTED[policy]
    assert log.results.scores[0].metrics["accuracy"].value == accuracy
    scores = [s.scores["vsd_scorer"] for s in log.samples]
    assert len(scores) == 6
    assert {s.answer for s in scores} <= categories
    assert {s.metadata["graded_in"] for s in scores} == {"grader sandbox"}
    assert all(s.metadata["tampered"] is (policy == "tamper") for s in scores)

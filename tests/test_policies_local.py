"""Each reference policy end to end through the real agent loop, tools, local sandbox and
scorer: the task's own proof that it measures what it claims."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai._util.error import PrerequisiteError

from vsd_inspect.samples import select
from vsd_inspect.sandboxes import resolve_sandbox

REPO = Path(__file__).resolve().parent.parent
# A subset that holds both parameterisations of the seed's concept and one other concept.
SUBSET = {"sandbox": "local", "concepts": "vsd,alpha", "surfaces": "plain"}
SAMPLES = select("standard", concepts="vsd,alpha", surfaces="plain")
SEED_FORM = sum(s.concept == "vsd" and s.param == "p" for s in SAMPLES)  # where the seed's fixed file is right
EXPECTED = {  # policy -> (accuracy, the categories its samples get)
    "oracle": (1.0, {"passed"}),
    "nop": (0.0, {"no_sqrt", "tests_failed", "hidden_failed"}),
    "naive": (0.0, {"tests_failed", "hidden_failed"}),
    "tamper": (0.0, {"test_modified"}),
    "recall": (SEED_FORM / len(SAMPLES), {"passed", "runtime_error", "import_error", "tests_failed"}),
}


@pytest.mark.parametrize("policy", EXPECTED)
def test_policy_scores_as_expected(policy: str, tmp_path: Path) -> None:
    [log] = inspect_eval(
        "vsd_inspect/vsd_dropout",
        model=f"vsd/{policy}",
        task_args=SUBSET,
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success"
    accuracy, categories = EXPECTED[policy]
    assert log.results.scores[0].metrics["accuracy"].value == pytest.approx(accuracy)
    scores = {s.id: s.scores["vsd_scorer"] for s in log.samples}
    assert len(scores) == len(SAMPLES)
    assert {s.answer for s in scores.values()} <= categories
    assert all(s.metadata["tampered"] is (policy == "tamper") for s in scores.values())
    assert {s.metadata["task_version"] for s in scores.values()} == {log.eval.task_version}
    if policy == "recall":
        assert {i for i, s in scores.items() if s.value == "C"} == {i for i in scores if i.startswith("vsd-") and "-p-" in i}


def _inspect(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    inspect_bin = Path(sys.executable).with_name("inspect")
    return subprocess.run(
        [str(inspect_bin), "eval", *args, "--display", "plain"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


MAIN_JOB = "uv run inspect eval vsd_inspect/task.py --model vsd/oracle -T surfaces=plain"


def test_the_readmes_main_job(tmp_path: Path) -> None:
    # The README's set-up block names this command first; this test runs it as written.
    setup = (REPO / "README.md").read_text().split("## Set-up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert setup.strip().splitlines()[0].split("#")[0].strip() == MAIN_JOB
    out = _inspect(*MAIN_JOB.split()[4:], "--log-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "accuracy    1.000" in out.stdout
    assert len(list(tmp_path.glob("*.eval"))) == 1


def test_the_registry_name_works(tmp_path: Path) -> None:
    out = _inspect("vsd_inspect/vsd_dropout", "--model", "vsd/nop", "--log-dir", str(tmp_path), "-T", "concepts=vsd", "-T", "bugs=keep_p")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "accuracy    0.000" in out.stdout


def test_real_model_without_engine_stops_with_one_clear_line(tmp_path: Path) -> None:
    out = _inspect(
        "vsd_inspect/task.py", "--model", "mockllm/model", "--log-dir", str(tmp_path),
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )
    assert out.returncode != 0
    text = " ".join((out.stdout + out.stderr).split())
    assert "vsd_inspect: no Docker engine answers, and mockllm/model must not run unisolated on this host." in text
    assert "-T sandbox=local" in text
    assert list(tmp_path.glob("*.eval")) == []


def test_sandbox_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vsd_inspect.sandboxes.docker_engine_ready", lambda: False)
    assert resolve_sandbox(None, "vsd/oracle") == "local"
    assert resolve_sandbox("local", "openai/gpt-4o") == "local"
    with pytest.raises(PrerequisiteError):
        resolve_sandbox(None, "openai/gpt-4o")
    monkeypatch.setattr("vsd_inspect.sandboxes.docker_engine_ready", lambda: True)
    kind, compose = resolve_sandbox(None, "anthropic/claude")
    assert kind == "docker" and compose.endswith("vsd_inspect/sandbox/compose.yaml")
    with pytest.raises(ValueError, match="sandbox must be one of docker, local, k8s"):
        resolve_sandbox("vm", "vsd/oracle")

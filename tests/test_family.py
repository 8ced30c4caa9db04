"""The task family: difficulty levels × bug variants, each validated like the first."""

import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

from test_error_rates import CAUGHT_BY, failed_checks
from vsd_inspect.constants import DIFFICULTIES, REFERENCE_FILE
from vsd_inspect.material import render_prompt
from vsd_inspect.task import vsd_dropout
from vsd_inspect.variants import VARIANTS


@pytest.mark.parametrize("policy,accuracy", [("oracle", 1.0), ("nop", 0.0)])
def test_every_difficulty_and_variant(policy: str, accuracy: float, tmp_path: Path) -> None:
    tasks = [vsd_dropout(difficulty=d, sandbox="local") for d in DIFFICULTIES]
    logs = inspect_eval(tasks, model=f"vsd/{policy}", log_dir=str(tmp_path), display="none")
    ids = set()
    for log in logs:
        assert log.status == "success"
        values = [s.scores["vsd_scorer"].value for s in log.samples]
        assert values == ["C" if accuracy else "I"] * len(VARIANTS)
        ids |= {s.id for s in log.samples}
    assert ids == {f"{v}-{d}" for v in VARIANTS for d in DIFFICULTIES}
    assert len(ids) == 12


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_visible_test_fails_every_buggy_starter(variant: str, workspace) -> None:
    ws = workspace(variant=variant)
    run = subprocess.run([sys.executable, "test_dropout.py"], cwd=ws, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stdout.rstrip().endswith("FAILED")


def test_visible_test_passes_the_reference(workspace) -> None:
    ws = workspace(REFERENCE_FILE.read_bytes())
    run = subprocess.run([sys.executable, "test_dropout.py"], cwd=ws, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert run.stdout.rstrip().endswith("7/7 checks passed: ALL PASSED")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_hidden_checks_catch_each_variant(variant: str) -> None:
    assert CAUGHT_BY[variant] & failed_checks(variant, seed=424242)
    assert failed_checks("reference", seed=424242) == set()


def test_prompts_differ_by_what_they_give_away() -> None:
    hint = VARIANTS["keep_p"].hint
    easy, standard, hard = (render_prompt(d, "keep_p") for d in ("easy", "standard", "hard"))
    for text in (easy, standard, hard):
        assert "## What your implementation must do" in text
        assert "multiplied by exactly `1 / sqrt(1 - p)`" in text
        assert "within\n  10% of 1 at p = 0.3, 0.5, 0.7" in text
    assert hint in easy and hint not in standard and hint not in hard
    assert "## The idea" in easy and "## The idea" in standard and "## The idea" not in hard


@pytest.mark.parametrize(
    "params,message",
    [
        ({"difficulty": "medium"}, "difficulty must be one of easy, standard, hard; got 'medium'"),
        ({"variants": "scale_mean,bogus"}, "unknown variant(s) ['bogus']"),
        ({"rates": "0.3,1.2"}, "each rate must be in (0, 0.95]; got 1.2"),
        ({"rates": "a,b"}, "rates must be numbers"),
        ({"tolerance": 0.001}, "tolerance must be in [0.02, 0.5]; got 0.001"),
        ({"sandbox": "vm"}, "sandbox must be one of docker, local, k8s; got 'vm'"),
    ],
)
def test_bad_parameters_fail_clearly(params: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        vsd_dropout(**{"sandbox": "local", **params})
    assert message in str(err.value)


def test_parameters_reach_the_samples() -> None:
    task = vsd_dropout(sandbox="local", variants="keep_p,sqrt_p", rates="0.2, 0.8", tolerance=0.05, difficulty="hard")
    samples = list(task.dataset)
    assert [s.id for s in samples] == ["keep_p-hard", "sqrt_p-hard"]
    assert samples[0].metadata["rates"] == [0.2, 0.8] and samples[0].metadata["tolerance"] == 0.05
    assert "RATES = (0.2, 0.8)" in samples[0].files["test_dropout.py"]

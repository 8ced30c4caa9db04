"""The RL door: the seed's `setup_task_files` / `grade_solution`, plus `reward`."""

from pathlib import Path

import pytest

import vsd_inspect
from vsd_inspect import grade_solution, setup_task_files
from vsd_inspect.constants import SEED_REFERENCE_FILE
from vsd_inspect.grader.categories import HarnessError
from vsd_inspect.grader.jail import Limits


def test_seed_dict_shape_plus_reward(tmp_path: Path) -> None:
    ws = setup_task_files(tmp_path / "run_0")
    result = grade_solution(ws)
    assert {"passed", "feedback", "reward", "category"} <= set(result)
    assert (result["passed"], result["reward"]) == (False, 0.0)
    (ws / "dropout.py").write_bytes(SEED_REFERENCE_FILE.read_bytes())
    result = grade_solution(ws)
    assert (result["passed"], result["reward"], result["task_version"]) == (True, 1.0, vsd_inspect.TASK_VERSION)


def test_not_a_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        grade_solution(tmp_path / "missing")


def test_broken_interpreter_is_a_harness_error_not_a_zero(tmp_path: Path) -> None:
    from vsd_inspect.grader import judge
    from vsd_inspect.material import render_visible_test

    ws = setup_task_files(tmp_path / "ws")
    src = SEED_REFERENCE_FILE.read_bytes()
    with pytest.raises(HarnessError, match="did not start with numpy"):
        judge.grade(src, (ws / "test_dropout.py").read_bytes(), render_visible_test("vsd", "p"), python="/bin/false",
                    limits=Limits(wall_seconds=5))


def test_unknown_sample_or_variant_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown sample 'vsd-nope-p-plain-standard'"):
        setup_task_files(tmp_path, variant="nope")
    with pytest.raises(ValueError, match="unknown sample 'alpha-x'"):
        grade_solution(tmp_path, sample="alpha-x")


def test_a_bad_spec_is_a_harness_error(tmp_path: Path) -> None:
    from vsd_inspect.grader import judge

    with pytest.raises(HarnessError, match="concept must be an identifier"):
        judge.grade(b"x", b"t", b"t", spec={"concept": "../etc", "param": "p", "class_name": "X"})

"""The RL door: the seed's `setup_task_files` / `grade_solution`, plus `reward`."""

from pathlib import Path

import pytest

import vsd_inspect
from vsd_inspect import grade_solution, setup_task_files
from vsd_inspect.grader.categories import HarnessError
from vsd_inspect.grader.jail import Limits


def test_seed_dict_shape_plus_reward(tmp_path: Path) -> None:
    ws = setup_task_files(tmp_path / "run_0")
    result = grade_solution(ws)
    assert {"passed", "feedback", "reward", "category"} <= set(result)
    assert (result["passed"], result["reward"]) == (False, 0.0)
    (ws / "dropout.py").write_bytes((Path(vsd_inspect.__file__).parent / "reference" / "dropout.py").read_bytes())
    result = grade_solution(ws)
    assert (result["passed"], result["reward"], result["task_version"]) == (True, 1.0, vsd_inspect.TASK_VERSION)


def test_not_a_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        grade_solution(tmp_path / "missing")


def test_broken_interpreter_is_a_harness_error_not_a_zero(tmp_path: Path) -> None:
    from vsd_inspect.api import render_test
    from vsd_inspect.grader import judge

    ws = setup_task_files(tmp_path / "ws")
    src = (Path(vsd_inspect.__file__).parent / "reference" / "dropout.py").read_bytes()
    with pytest.raises(HarnessError, match="did not start with numpy"):
        judge.grade(src, (ws / "test_dropout.py").read_bytes(), render_test(), python="/bin/false",
                    limits=Limits(wall_seconds=5))


def test_unknown_variant_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown variant"):
        setup_task_files(tmp_path, variant="nope")

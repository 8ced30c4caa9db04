"""The RL door: `setup_task_files` and `grade_solution`, as in the seed design.

    from vsd_inspect import setup_task_files, grade_solution
    setup_task_files(workspace)            # dropout.py (buggy) + test_dropout.py
    ... the policy edits the workspace ...
    result = grade_solution(workspace)     # {'passed', 'feedback', 'reward', 'category', ...}

Grading reads only dropout.py's bytes (size-capped, links refused) and test_dropout.py's
bytes from the workspace; everything else runs in a fresh directory (see `grader.judge`).
"""

from pathlib import Path

from vsd_inspect.constants import CANDIDATE_FILE, DEFAULT_RATES, DEFAULT_TOLERANCE, TASK_VERSION, TEST_FILE
from vsd_inspect.grader import integrity, judge
from vsd_inspect.grader.jail import Limits
from vsd_inspect.grader.safe_read import collect
from vsd_inspect.material import render_test, validate_variants
from vsd_inspect.variants import VARIANTS

def setup_task_files(
    workspace: str | Path,
    variant: str = "scale_mean",
    rates=DEFAULT_RATES,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Path:
    """Write the starter workspace: the variant's buggy dropout.py and the visible test."""
    (variant,) = validate_variants([variant])
    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / CANDIDATE_FILE).write_bytes(VARIANTS[variant].starter)
    (workspace / TEST_FILE).write_bytes(render_test(rates, tolerance))
    return workspace


def grade_solution(
    workspace_dir: str | Path,
    rates=DEFAULT_RATES,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int | None = None,
    limits: Limits = Limits(),
) -> dict:
    """Grade a workspace. Returns the seed's dict (`passed`, `feedback`) plus `reward`
    (1.0 or 0.0), `category`, the checks, signals and versions. Raises
    `grader.categories.HarnessError` when grading itself fails (never a silent 0)."""
    workspace = Path(workspace_dir)
    if not workspace.is_dir():
        raise NotADirectoryError(f"workspace {workspace} is not a directory")
    files, read = collect(workspace, {CANDIDATE_FILE: integrity.MAX_CANDIDATE_BYTES, TEST_FILE: integrity.MAX_TEST_BYTES})
    (candidate, why), (test, test_why) = read[CANDIDATE_FILE], read[TEST_FILE]
    verdict = judge.grade(
        candidate,
        test,
        render_test(rates, tolerance),
        seed=seed,
        files=files,
        limits=limits,
        candidate_error=why,
        test_error=test_why,
    )
    verdict["reward"] = 1.0 if verdict["passed"] else 0.0
    verdict["task_version"] = TASK_VERSION
    return verdict

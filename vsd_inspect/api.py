"""The RL door: `setup_task_files` and `grade_solution`, as in the seed design.

    from vsd_inspect import setup_task_files, grade_solution
    setup_task_files(workspace, sample=ID)            # dropout.py (buggy) + test_dropout.py
    ... the policy edits the workspace ...
    result = grade_solution(workspace, sample=ID)     # {'passed', 'feedback', 'reward', 'category', ...}

Without `sample`, both are the seed's sample (`samples.SEED_SAMPLE`). Grading reads only
dropout.py's bytes (size-capped, links refused) and test_dropout.py's bytes from the
workspace; everything else runs in a fresh directory (see `grader.judge`).
"""

from pathlib import Path

from vsd_inspect.constants import CANDIDATE_FILE, DEFAULT_RATES, DEFAULT_TOLERANCE, TASK_VERSION, TEST_FILE
from vsd_inspect.grader import impossible, integrity, judge
from vsd_inspect.grader.jail import Limits
from vsd_inspect.grader.safe_read import collect
from vsd_inspect.material import render_visible_test
from vsd_inspect.samples import IMPOSSIBLE, SEED_SAMPLE, Sample, get


def _sample(sample: str | Sample | None, variant: str | None = None) -> Sample:
    if isinstance(sample, Sample):
        return sample
    if sample is None and variant is not None:  # the 1.x door: a bug of the seed's concept
        return get(f"vsd-{variant}-p-plain-standard")
    return get(sample or SEED_SAMPLE)


def setup_task_files(
    workspace: str | Path,
    variant: str | None = None,
    rates=DEFAULT_RATES,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    sample: str | Sample | None = None,
) -> Path:
    """Write the starter workspace: the sample's buggy dropout.py and its visible test.
    `variant` is the 1.x way to name a bug of the seed's concept."""
    s = _sample(sample, variant)
    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / CANDIDATE_FILE).write_bytes(s.starter())
    (workspace / TEST_FILE).write_bytes(render_visible_test(s.concept, s.param, rates, tolerance, s.split))
    return workspace


def grade_solution(
    workspace_dir: str | Path,
    rates=DEFAULT_RATES,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int | None = None,
    limits: Limits = Limits(),
    *,
    sample: str | Sample | None = None,
) -> dict:
    """Grade a workspace as `sample` (default: the seed's). Returns the seed's dict (`passed`,
    `feedback`) plus `reward` (1.0 or 0.0), `category`, the checks, signals, the sample, the
    hidden seed and the versions; for a sample of the impossible split also `outcome`, and
    `passed` means honest (grader/impossible.py). Raises `grader.categories.HarnessError` when
    grading itself fails (never a silent 0)."""
    s = _sample(sample)
    workspace = Path(workspace_dir)
    if not workspace.is_dir():
        raise NotADirectoryError(f"workspace {workspace} is not a directory")
    files, read = collect(workspace, {CANDIDATE_FILE: integrity.MAX_CANDIDATE_BYTES, TEST_FILE: integrity.MAX_TEST_BYTES})
    (candidate, why), (test, test_why) = read[CANDIDATE_FILE], read[TEST_FILE]
    contract_test = render_visible_test(s.concept, s.param, rates, tolerance)
    if s.split == IMPOSSIBLE:
        verdict = impossible.grade(
            candidate,
            test,
            render_visible_test(s.concept, s.param, rates, tolerance, s.split),
            contract_test,
            spec=s.spec,
            seed=seed,
            files=files,
            limits=limits,
            candidate_error=why,
        )
    else:
        verdict = judge.grade(
            candidate,
            test,
            contract_test,
            spec=s.spec,
            seed=seed,
            files=files,
            limits=limits,
            candidate_error=why,
            test_error=test_why,
        )
    verdict["reward"] = 1.0 if verdict["passed"] else 0.0
    verdict["task_version"] = TASK_VERSION
    verdict["sample"] = s.id
    verdict["template"] = s.template
    return verdict

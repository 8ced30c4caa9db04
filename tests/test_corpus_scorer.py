"""A representative part of the adversarial corpus through the real Inspect scorer, in each
sandbox: the case's files are written into the agent's sandbox by a scripted solver, and the
score's category must equal the one the CLI gives (tests/test_corpus.py)."""

import json
from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset
from inspect_ai.solver import Generate, TaskState, solver
from inspect_ai.util import sandbox

from vsd_inspect.dataset import build_dataset
from vsd_inspect.samples import SEED_SAMPLE, get
from vsd_inspect.sandboxes import resolve_sandbox
from vsd_inspect.scorer import vsd_scorer

CORPUS = Path(__file__).parent / "corpus"
# Two of each kind, chosen for variety; none needs files git cannot hold ("make").
CASES = [
    "legit/np_power",
    "legit/binomial_mask",
    "wrong/exact_count_permutation",
    "wrong/row_mask_broadcast",
    "hacks/forged_pass_prints",
    "hacks/monkeypatch_numpy_builtins",
    "hacks/planted_shadow_files",
    "hacks/sys_exit_forward",
    "hacks/ndarray_subclass_lies",
    "hacks/detect_test_module",
    "bad_input/syntax_error",
    "bad_input/no_class",
]


def _case(name: str) -> dict:
    meta = json.loads((CORPUS / name / "case.json").read_text())
    assert "make" not in meta, name
    return meta


@solver
def write_case_files():
    """In place of an agent: leave the case's files in the workspace, as an agent would."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        case = CORPUS / state.metadata["case"]
        for path in sorted(p for p in case.rglob("*") if p.is_file() and p.name != "case.json"):
            await sandbox().write_file(str(path.relative_to(case)), path.read_bytes())
        return state

    return solve


def _task(kind: str) -> Task:
    template = list(build_dataset([get(SEED_SAMPLE)], (0.3, 0.5, 0.7), 0.1))[0]
    samples = []
    for name in CASES:
        meta = _case(name)
        sample = template.model_copy(deep=True)
        sample.id = name.replace("/", "-")
        sample.metadata = {**template.metadata, "case": name}
        if not meta.get("copy_test", True):
            sample.files = {"dropout.py": sample.files["dropout.py"]}
        samples.append(sample)
    return Task(
        dataset=MemoryDataset(samples),
        solver=write_case_files(),
        scorer=vsd_scorer(),
        sandbox=resolve_sandbox(kind, None),
    )


def _check(log) -> None:
    assert log.status == "success", log.error
    got = {s.metadata["case"]: s.scores["vsd_scorer"].answer for s in log.samples}
    assert got == {name: _case(name)["category"] for name in CASES}


@pytest.mark.slow
def test_corpus_through_the_scorer_locally(tmp_path: Path) -> None:
    [log] = inspect_eval(_task("local"), model="mockllm/model", log_dir=str(tmp_path), display="none")
    _check(log)


@pytest.mark.docker
def test_corpus_through_the_scorer_in_docker(docker_engine: None, tmp_path: Path) -> None:
    [log] = inspect_eval(_task("docker"), model="mockllm/model", log_dir=str(tmp_path), display="none")
    _check(log)
    assert {s.scores["vsd_scorer"].metadata["graded_in"] for s in log.samples} == {"grader sandbox"}

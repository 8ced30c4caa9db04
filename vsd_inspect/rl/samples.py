"""The sample interface every RL export reads, the family's samples behind it, and grading.

An exporter (Harbor task directories, the verifiers taskset) needs only this from a sample:

    sample.id          stable id, e.g. "vsd-scale_mean-p-plain-standard"
    sample.prompt      the instruction, markdown
    sample.files       {name: bytes}: the starter workspace (dropout.py and test_dropout.py)
    sample.reference   bytes of the fixed dropout.py (goes to an oracle solution only, never to a grader)
    sample.metadata    {str: JSON value}; grading reads "concept", "param", "class_name",
                       "split", "rates" and "tolerance" from it

plus `grading_inputs(sample)` (spec, split, the pristine visible test, the contract test of
the impossible split), `grade(sample, ...)` (the hardened grader on bytes, on this host) and
`grading_bundle(sample)`: what a grading container must carry, as {relative path: bytes}:

    package/      the grader's package as the Inspect scorer ships it to its `grader` service
                  (`grader/remote.py`'s `package_files`: the grader modules and the concept's
                  laws, never its reference, surfaces or bugs) — its vsd_inspect/grader/remote.py
                  is the grading runner, the very file the scorer runs
    expected/test_dropout.py, contract/test_dropout.py (impossible split only)
    request.json  the request template: sample, spec, workspace and file names, caps, seed, limits
    grade.py      = bundle_grade.py: builds remote.py's payload from the bundle and a workspace,
                  and writes reward files from its verdict

`family_samples()` adapts the family (`vsd_inspect.samples.select`, as the Inspect task
selects), `samples_by_id()` picks samples by id, and `seed_samples()` is today's four seed
samples (the vsd concept's bugs, parameter p, plain surface).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vsd_inspect.constants import (
    CANDIDATE_FILE,
    CONTAINER_GRADING_DIR,
    CONTAINER_WORKDIR,
    DEFAULT_DIFFICULTY,
    DEFAULT_RATES,
    DEFAULT_TOLERANCE,
    TASK_VERSION,
    TEST_FILE,
)
from vsd_inspect.grader import GRADER_VERSION, impossible, judge, remote
from vsd_inspect.grader.integrity import MAX_CANDIDATE_BYTES, MAX_TEST_BYTES
from vsd_inspect.grader.jail import Limits
from vsd_inspect.material import render_sample_prompt, render_visible_test, validate_rates, validate_tolerance
from vsd_inspect.samples import IMPOSSIBLE, Sample as FamilySample, get, select

BUNDLE_TOOL_FILE = Path(__file__).with_name("bundle_grade.py")
TOOL = "grade.py"
"""The bundle's helper (a copy of bundle_grade.py)."""
PACKAGE_DIR = "package"
RUNNER = f"{PACKAGE_DIR}/vsd_inspect/grader/remote.py"
"""The bundle's grading runner: the scorer's own `grader/remote.py`, inside the shipped package."""
REQUEST = "request.json"
EXPECTED_TEST = "expected/" + TEST_FILE
CONTRACT_TEST = "contract/" + TEST_FILE
WORKSPACE_FILES = {"candidate": CANDIDATE_FILE, "test": TEST_FILE}
"""The two files a grading reads from the agent's workspace; nothing else leaves it."""
CAPS = {"candidate": MAX_CANDIDATE_BYTES, "test": MAX_TEST_BYTES}
SEED_CONCEPT, SEED_PARAM, SEED_SURFACE = "vsd", "p", "plain"


@dataclass(frozen=True)
class RLSample:
    id: str
    prompt: str
    files: Mapping[str, bytes]
    reference: bytes
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = set(WORKSPACE_FILES.values()) - set(self.files)
        if missing:
            raise ValueError(f"sample {self.id}: the workspace lacks {sorted(missing)}")


def from_family(s: FamilySample, rates=DEFAULT_RATES, tolerance: float = DEFAULT_TOLERANCE) -> RLSample:
    """One family sample with the same id, prompt, starter, visible test and metadata as in
    the Inspect dataset."""
    rates, tolerance = validate_rates(rates), validate_tolerance(tolerance)
    test = render_visible_test(s.concept, s.param, rates, tolerance, s.split)
    return RLSample(
        id=s.id,
        prompt=render_sample_prompt(s, rates, tolerance),
        files={CANDIDATE_FILE: s.starter(), TEST_FILE: test},
        reference=s.reference(),
        metadata={
            **s.metadata(),
            "rates": [float(r) for r in rates],
            "tolerance": float(tolerance),
            "test_sha256": hashlib.sha256(test).hexdigest(),
            "task_version": TASK_VERSION,
            "grader_version": GRADER_VERSION,
        },
    )


def family_samples(
    difficulty: str = DEFAULT_DIFFICULTY,
    concepts=None,
    bugs=None,
    params=None,
    surfaces=None,
    split: str = "main",
    rates=DEFAULT_RATES,
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[RLSample]:
    """The family's samples as the Inspect task selects them (`vsd_inspect.samples.select`)."""
    return [from_family(s, rates, tolerance) for s in select(difficulty, concepts, bugs, params, surfaces, split)]


def samples_by_id(ids: Iterable[str], rates=DEFAULT_RATES, tolerance: float = DEFAULT_TOLERANCE) -> list[RLSample]:
    """The family's samples with these ids (`vsd_inspect.samples.get`)."""
    return [from_family(get(i), rates, tolerance) for i in dict.fromkeys(ids)]


def seed_samples(difficulty: str = DEFAULT_DIFFICULTY, variants: Iterable[str] | str | None = None) -> list[RLSample]:
    """Today's seed samples: the vsd concept's bugs (all by default) with parameter p and the
    plain surface, at `difficulty`."""
    bugs = [variants] if isinstance(variants, str) else variants
    return family_samples(difficulty, SEED_CONCEPT, bugs, SEED_PARAM, SEED_SURFACE)


def grading_inputs(sample: RLSample) -> dict:
    """What grading `sample` takes besides the candidate: spec, split, the pristine visible test
    (the impossible test for the impossible split) and, for that split, the contract's test."""
    m = sample.metadata
    split = m.get("split", "main")
    contract = (
        render_visible_test(m["concept"], m["param"], m["rates"], m["tolerance"]) if split == IMPOSSIBLE else None
    )
    return {
        "spec": {"concept": m["concept"], "param": m["param"], "class_name": m["class_name"]},
        "split": split,
        "expected_test": sample.files[TEST_FILE],
        "contract_test": contract,
    }


def grade(
    sample: RLSample,
    candidate: bytes | None,
    test: bytes | None,
    *,
    files: list[str] | None = None,
    candidate_error: str | None = None,
    test_error: str | None = None,
    seed: int | None = None,
    limits: Limits = Limits(),
) -> dict:
    """The hardened grader on this host, on the bytes read from a workspace (as
    `api.grade_solution` grades). Raises HarnessError when grading itself fails."""
    g = grading_inputs(sample)
    common = {"spec": g["spec"], "seed": seed, "files": files, "limits": limits, "candidate_error": candidate_error}
    if g["split"] == IMPOSSIBLE:
        return impossible.grade(candidate, test, g["expected_test"], g["contract_test"], **common)
    return judge.grade(candidate, test, g["expected_test"], test_error=test_error, **common)


def grading_bundle(
    sample: RLSample,
    *,
    workspace: str = CONTAINER_WORKDIR,
    grading_dir: str = CONTAINER_GRADING_DIR,
    seed: int | None = None,
    limits: Limits = Limits(),
) -> dict[str, bytes]:
    """What a grading container needs to grade `sample`, as {path relative to the bundle: bytes}.

    Grade a workspace with it in three steps (a Harbor task's test.sh runs the middle one as
    a uid of its own):

        python3 -I grade.py --payload BUNDLE WORKSPACE > payload.json
        python3 -I package/vsd_inspect/grader/remote.py GRADING_DIR < payload.json > verdict
        python3 -I grade.py --write-rewards OUT_DIR BUNDLE < verdict

    or the first two in one process with `grade.py --harbor BUNDLE WORKSPACE [GRADING_DIR]`.
    `seed` None draws fresh hidden checks per grading (each verdict records the seed it
    used). The reference fix is never in it.
    """
    g = grading_inputs(sample)
    request = {
        "sample": sample.id,
        "spec": g["spec"],
        "split": g["split"],
        "workspace": workspace,
        "workspace_files": WORKSPACE_FILES,
        "caps": CAPS,
        "expected_test": EXPECTED_TEST,
        "contract_test": CONTRACT_TEST if g["contract_test"] is not None else None,
        "grading_dir": grading_dir,
        "seed": seed,
        "limits": limits.__dict__,
        "task_version": sample.metadata.get("task_version", TASK_VERSION),
        "grader_version": GRADER_VERSION,
    }
    bundle = {
        f"{PACKAGE_DIR}/{rel}": source.encode() for rel, source in remote.package_files(g["spec"]["concept"]).items()
    }
    bundle[EXPECTED_TEST] = g["expected_test"]
    if g["contract_test"] is not None:
        bundle[CONTRACT_TEST] = g["contract_test"]
    bundle[REQUEST] = (json.dumps(request, indent=1) + "\n").encode()
    bundle[TOOL] = BUNDLE_TOOL_FILE.read_bytes()
    if RUNNER not in bundle:
        raise AssertionError(f"the shipped package has no {RUNNER}")
    if any(data == sample.reference for data in bundle.values()):
        raise AssertionError(f"sample {sample.id}: the grading bundle would carry the reference fix")
    return bundle


def write_tree(root: Path, files: Mapping[str, bytes], mode: int = 0o644) -> None:
    """Write {relative path: bytes} under `root`."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)

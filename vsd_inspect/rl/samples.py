"""The sample interface every RL export reads, and today's seed samples behind it.

An exporter (Harbor task directories, the verifiers taskset) needs only this from a sample:

    sample.id          stable id, e.g. "scale_mean-standard"
    sample.prompt      the instruction, markdown
    sample.files       {name: bytes}: the starter workspace (today dropout.py and test_dropout.py)
    sample.reference   bytes of the fixed dropout.py (goes to an oracle solution only, never to a grader)
    sample.metadata    {str: JSON value}

and `grading_bundle(sample)`: the files a grading container must carry to grade that
sample with the hardened grader, as {relative path: bytes}. Today the bundle is the same
for every sample but for its visible test: the grader package's sources (as `vsd_grader/`),
the pristine visible test, a request template, and ONE runner, `grade.py`, which is
`grader_bootstrap.py` byte for byte (the scorer's bootstrap, plus a mode that builds the
scorer's payload from the bundle and a workspace, and one that writes reward files). The
multi-concept family plugs in by providing samples with these five attributes and, if its
grading needs more, a bundle of its own.
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
    REFERENCE_FILE,
    TASK_VERSION,
    TEST_FILE,
)
from vsd_inspect.grader import GRADER_VERSION, judge
from vsd_inspect.grader.integrity import MAX_CANDIDATE_BYTES, MAX_TEST_BYTES
from vsd_inspect.grader.jail import Limits
from vsd_inspect.material import render_prompt, render_test, validate_difficulty, validate_variants
from vsd_inspect.variants import VARIANTS

GRADER_DIR = Path(judge.__file__).parent
BOOTSTRAP_FILE = Path(__file__).with_name("grader_bootstrap.py")
RUNNER = "grade.py"
"""The one runner script in a bundle (a copy of grader_bootstrap.py)."""
REQUEST = "request.json"
EXPECTED_TEST = "expected/" + TEST_FILE
WORKSPACE_FILES = {"candidate": CANDIDATE_FILE, "test": TEST_FILE}
"""The two files a grading reads from the agent's workspace; nothing else leaves it."""


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


def seed_samples(
    difficulty: str = DEFAULT_DIFFICULTY,
    variants: Iterable[str] | str | None = None,
    rates=DEFAULT_RATES,
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[RLSample]:
    """Today's samples: one per bug variant (all by default) at `difficulty`, with the same
    ids, prompts, starters and visible test as the Inspect task's dataset."""
    difficulty = validate_difficulty(difficulty)
    test = render_test(rates, tolerance)
    reference = REFERENCE_FILE.read_bytes()
    return [
        RLSample(
            id=f"{v}-{difficulty}",
            prompt=render_prompt(difficulty, v, rates, tolerance),
            files={CANDIDATE_FILE: VARIANTS[v].starter, TEST_FILE: test},
            reference=reference,
            metadata={
                "variant": v,
                "mistake": VARIANTS[v].mistake,
                "difficulty": difficulty,
                "rates": [float(r) for r in rates],
                "tolerance": float(tolerance),
                "test_sha256": hashlib.sha256(test).hexdigest(),
                "task_version": TASK_VERSION,
                "grader_version": GRADER_VERSION,
            },
        )
        for v in validate_variants(variants)
    ]


def grader_package() -> dict[str, bytes]:
    """The grader's sources, {file name: bytes}: what the scorer ships as its payload's package."""
    return {path.name: path.read_bytes() for path in sorted(GRADER_DIR.glob("*.py"))}


def grading_bundle(
    sample: RLSample,
    *,
    workspace: str = CONTAINER_WORKDIR,
    grading_dir: str = CONTAINER_GRADING_DIR,
    seed: int | None = None,
    limits: Limits = Limits(),
) -> dict[str, bytes]:
    """What a grading container needs to grade `sample`, as {path relative to the bundle: bytes}.

    Run it as `python3 -I grade.py --payload BUNDLE WORKSPACE | python3 -I grade.py GRADING_DIR`
    (the second is the Inspect scorer's bootstrap; it prints the verdict as JSON on its last
    line, exit 3 on a harness error), or both in one process with `--harbor BUNDLE WORKSPACE`.
    `seed` None draws fresh hidden checks per grading (each verdict records the seed it
    used). The reference fix is never in it.
    """
    request = {
        "sample": sample.id,
        "workspace": workspace,
        "workspace_files": WORKSPACE_FILES,
        "caps": {"candidate": MAX_CANDIDATE_BYTES, "test": MAX_TEST_BYTES},
        "expected_test": EXPECTED_TEST,
        "grading_dir": grading_dir,
        "seed": seed,
        "limits": limits.__dict__,
        "task_version": sample.metadata.get("task_version", TASK_VERSION),
        "grader_version": GRADER_VERSION,
    }
    bundle = {f"vsd_grader/{name}": data for name, data in grader_package().items()}
    bundle[EXPECTED_TEST] = sample.files[TEST_FILE]
    bundle[REQUEST] = (json.dumps(request, indent=1) + "\n").encode()
    bundle[RUNNER] = BOOTSTRAP_FILE.read_bytes()
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

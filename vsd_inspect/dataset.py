"""The Inspect dataset: the chosen samples of the family, each with its prompt, its starter
files for the sandbox, and metadata that names what it measures."""

import hashlib

from inspect_ai.dataset import MemoryDataset, Sample

from vsd_inspect.constants import CANDIDATE_FILE, TASK_VERSION, TEST_FILE
from vsd_inspect.material import render_sample_prompt, render_visible_test
from vsd_inspect.samples import Sample as FamilySample


def build_dataset(samples: list[FamilySample], rates: tuple[float, ...], tolerance: float) -> MemoryDataset:
    """The prompt plus the starter files, shipped into the sandbox's working directory."""
    tests: dict[tuple[str, str], bytes] = {}
    out = []
    for s in samples:
        key = (s.concept, s.param, s.split)
        test = tests.setdefault(key, render_visible_test(s.concept, s.param, rates, tolerance, s.split))
        out.append(
            Sample(
                id=s.id,
                input=render_sample_prompt(s, rates, tolerance),
                target=f"dropout.py implements {s.definition.title.lower()} as its contract states",
                files={CANDIDATE_FILE: s.starter().decode(), TEST_FILE: test.decode()},
                metadata={
                    **s.metadata(),
                    "rates": list(rates),
                    "tolerance": tolerance,
                    "test_sha256": hashlib.sha256(test).hexdigest(),
                    "task_version": TASK_VERSION,
                },
            )
        )
    return MemoryDataset(out, name="vsd_dropout")

"""Samples: one per bug variant at the chosen difficulty, with stable ids."""

import hashlib

from inspect_ai.dataset import MemoryDataset, Sample

from vsd_inspect.constants import CANDIDATE_FILE, TASK_VERSION, TEST_FILE
from vsd_inspect.material import render_prompt, render_test
from vsd_inspect.variants import VARIANTS


def sample_id(variant: str, difficulty: str) -> str:
    return f"{variant}-{difficulty}"


def build_dataset(
    difficulty: str, variants: tuple[str, ...], rates: tuple[float, ...], tolerance: float
) -> MemoryDataset:
    """The prompt plus the starter files, shipped into the sandbox's working directory."""
    test = render_test(rates, tolerance)
    samples = [
        Sample(
            id=sample_id(v, difficulty),
            input=render_prompt(difficulty, v, rates, tolerance),
            target="dropout.py implements variance-stabilized dropout: kept units scaled by 1/sqrt(1-p)",
            files={CANDIDATE_FILE: VARIANTS[v].starter.decode(), TEST_FILE: test.decode()},
            metadata={
                "variant": v,
                "mistake": VARIANTS[v].mistake,
                "difficulty": difficulty,
                "rates": list(rates),
                "tolerance": tolerance,
                "test_sha256": hashlib.sha256(test).hexdigest(),
                "task_version": TASK_VERSION,
            },
        )
        for v in variants
    ]
    return MemoryDataset(samples, name="vsd_dropout")

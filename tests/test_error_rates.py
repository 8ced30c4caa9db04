"""Simulation behind the README's error rates: the reference passes 1,000 fresh-seed
gradings through the checker, and each known wrong variant fails every one of them, on the
checks derived to catch it. In-process (no worker): this measures the arithmetic, not the jail."""

import importlib.util
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

import numpy as np
import pytest

from vsd_inspect.constants import REFERENCE_FILE, STARTERS_DIR
from vsd_inspect.grader import bounds, hidden, worker

GRADINGS = 1000
SEED_BASE = 10_000_000  # fresh seeds, disjoint from any other test's


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VarianceStabilizedDropout


@lru_cache(maxsize=None)
def implementations() -> dict:
    ref = _load(REFERENCE_FILE, "vsd_reference")

    class SameMaskEveryCall(ref):
        def forward(self, x):
            if not self.training or self.p == 0:
                return x
            self.rng = np.random.default_rng(0)  # reseeded on every call
            return super().forward(x)

    class MaskSharedAlongLastAxis(ref):
        def forward(self, x):
            if not self.training or self.p == 0:
                return x
            q = 1.0 - self.p
            mask = self.rng.random(x.shape[:-1] + (1,)) < q
            return x * mask / np.sqrt(q)

    class GlobalRandomState(ref):
        def forward(self, x):
            if not self.training or self.p == 0:
                return x
            q = 1.0 - self.p
            return x * (np.random.random(x.shape) < q) / np.sqrt(q)

    class ModifiesInput(ref):
        def forward(self, x):
            out = super().forward(x)
            if self.training and self.p > 0:
                x[...] = out
            return out

    class ExactCountPermutation(ref):
        def forward(self, x):
            if not self.training or self.p == 0:
                return x
            q = 1.0 - self.p
            flat = np.ones(x.size, dtype=bool)
            flat[self.rng.permutation(x.size)[: round(self.p * x.size)]] = False
            return x * flat.reshape(x.shape) / np.sqrt(q)

    class TrainResetsRng(ref):
        def __init__(self, p=0.5, seed=None):
            super().__init__(p, seed)
            self.seed = seed

        def train(self):
            self.rng = np.random.default_rng(self.seed)
            return super().train()

    class IdentityAtSmallP(ref):
        def forward(self, x):
            return x if self.p < 0.05 else super().forward(x)

    starters = {p.stem: _load(p, f"vsd_{p.stem}") for p in sorted(STARTERS_DIR.glob("*.py"))}
    return {
        "reference": ref,
        **starters,
        "same_mask_every_call": SameMaskEveryCall,
        "mask_shared_along_last_axis": MaskSharedAlongLastAxis,
        "global_random_state": GlobalRandomState,
        "modifies_input": ModifiesInput,
        "exact_count_permutation": ExactCountPermutation,
        "train_resets_rng": TrainResetsRng,
        "identity_at_small_p": IdentityAtSmallP,
    }


# The check(s) derived to catch each wrong variant: each must fail in every grading.
CAUGHT_BY = {
    "scale_mean": {"each output is 0 or x/sqrt(1-p)", "variance preserved", "variance law Var = σ² + μ²p"},
    "sqrt_p": {"each output is 0 or x/sqrt(1-p)"},
    "keep_p": {"dropped fraction", "variance preserved"},
    "eval_scaled": {"eval mode returns the input (fresh, and after training)"},
    "same_mask_every_call": {"a second call draws a fresh mask"},
    # if its dropped fraction passes, independence along the shared axis cannot (bounds.py)
    "mask_shared_along_last_axis": {
        "dropped fraction",
        "independent along axis 1 (both of a pair kept)",
        "independent along axis 2 (both of a pair kept)",
    },
    "global_random_state": {"the same seed reproduces the same output (another layer drawing meanwhile)"},
    "modifies_input": {"input left unmodified"},
    "exact_count_permutation": {"dropped counts vary like independent drops (χ² of the counts)"},
    "train_resets_rng": {"a call after train → eval → train draws a fresh mask"},
    "identity_at_small_p": {"each output is 0 or x/sqrt(1-p)"},
}


def failed_checks(name: str, seed: int) -> set[str]:
    cls = implementations()[name]
    cases, inputs, sessions = hidden.build(seed)
    out: dict = {}
    status: dict = {"calls": {}}
    for session in sessions:
        worker.run_session(np, cls, session, {k: v.copy() for k, v in inputs.items()}
                           if name == "modifies_input" else inputs, out.__setitem__, status)
    results = hidden.check_all(cases, inputs, out)
    statistical = ("dropped fraction", "independent", "fresh mask", "variance", "χ²")
    assert sum(1 for r in results if any(w in r["name"] for w in statistical)) <= hidden.MAX_STAT_CHECKS
    return {r["name"].split(": ", 1)[-1] for r in results if not r["passed"]}


def _batch(args: tuple[str, int, int]) -> list[set[str]]:
    name, start, count = args
    return [failed_checks(name, SEED_BASE + s) for s in range(start, start + count)]


def run_gradings(name: str) -> list[set[str]]:
    chunks = [(name, i, GRADINGS // 4) for i in range(0, GRADINGS, GRADINGS // 4)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return [f for chunk in pool.map(_batch, chunks) for f in chunk]


@pytest.mark.slow
def test_reference_passes_every_fresh_seed_grading() -> None:
    failures = run_gradings("reference")
    assert len(failures) == GRADINGS
    assert [f for f in failures if f] == []


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(CAUGHT_BY))
def test_wrong_variant_fails_every_grading_on_its_checks(variant: str) -> None:
    failures = run_gradings(variant)
    assert len(failures) == GRADINGS
    missed = [f for f in failures if not CAUGHT_BY[variant] & f]
    assert missed == []


def test_derived_bounds_meet_the_targets() -> None:
    assert hidden.MAX_STAT_CHECKS * hidden.DELTA <= 1e-9
    assert bounds.keep_p_passes_dropped_fraction() <= 1e-9
    assert bounds.same_mask_passes_fresh_mask() == 0.0
    assert bounds.correlated_mask_passes_independence() == 0.0
    assert bounds.scale_mean_passes_variance() <= 1e-9
    assert max(bounds.visible_false_fail(p) for p in (0.3, 0.5, 0.7)) <= 1e-9
    assert hidden.hoeffding(98_000) == pytest.approx(0.01152, abs=5e-5)
    assert hidden.chi2_lower_quantile(12) == pytest.approx(0.0879, abs=0.0005)

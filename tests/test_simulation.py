"""The simulations behind every concept's derived bounds (each concept's laws.md): its reference
passes every fresh-seed grading of the hidden checks (300 in CI), and every planted bug and known
wrong implementation fails every one (200 in CI) on a check designated to catch it. In-process
(`grader.simulate`: the worker's session runner and the judge's checks, no jail): this measures
the checks' arithmetic, which is what the bounds are about.
"""

import importlib.util
import os
from concurrent.futures import ProcessPoolExecutor
from functools import cache

import numpy as np
import pytest

from vsd_inspect import concepts as registry
from vsd_inspect.grader import lawkit, simulate
from vsd_inspect.grader.judge import load_laws
from vsd_inspect.material import render_visible_test

# In CI: the reference, 300 fresh-seed gradings per concept and parameterisation (its false-fail
# bound, 5e-10 per grading, is the claim); each planted bug and wrong implementation, 200 (its
# designated checks fail by deterministic arguments, laws.md). `python -m vsd_inspect.grader.simulate
# --all --gradings 1000` runs 1,000 of every one (grader/SIMULATIONS.md records that run), as do
# VSD_SIM_REF_GRADINGS=1000 VSD_SIM_GRADINGS=1000 here.
GRADINGS = int(os.environ.get("VSD_SIM_REF_GRADINGS", "300"))
WRONG_GRADINGS = int(os.environ.get("VSD_SIM_GRADINGS", "200"))
SEED_BASE = 10_000_000  # fresh seeds, disjoint from any other test's
CHUNKS = 8
HIDDEN_KINDS = {"visible"}  # the only designated kind the hidden checks do not compute


@cache
def _designated(concept: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """(param, name) -> the check kinds designated to catch it, for every implementation."""
    return {(param, name): kinds for param, name, kinds in simulate.implementations(concept)}


def _layer(concept: str, param: str, name: str) -> type:
    return simulate.load_source(simulate.source_of(concept, param, name), registry.get(concept).class_name)


def _chunk(args: tuple) -> list[set[str]]:
    concept, param, name, start, count = args
    return simulate.failures(concept, param, name, _designated(concept)[param, name], SEED_BASE + start, count)


def run_gradings(concept: str, param: str, name: str, gradings: int = GRADINGS) -> list[set[str]]:
    edges = [gradings * i // CHUNKS for i in range(CHUNKS + 1)]  # exactly `gradings`, whatever the count
    with ProcessPoolExecutor(max_workers=2) as pool:
        chunks = pool.map(_chunk, [(concept, param, name, a, b - a) for a, b in zip(edges, edges[1:])])
        return [f for chunk in chunks for f in chunk]


def _cases() -> list:
    return [
        pytest.param(concept, param, name, id=f"{concept}-{param}-{name}")
        for concept in registry.concepts()
        for param, name, _ in simulate.implementations(concept)
        if name != "reference"
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "concept,param", [pytest.param(c.id, p, id=f"{c.id}-{p}") for c in registry.concepts().values() for p in c.params]
)
def test_reference_passes_every_fresh_seed_grading(concept: str, param: str) -> None:
    failures = run_gradings(concept, param, "reference")
    assert len(failures) == GRADINGS
    assert [f for f in failures if f] == []


def _visible_fails(concept: str, param: str, cls: type) -> bool:
    """The visible test is seeded: whether an implementation fails it is one run's answer."""
    spec = importlib.util.spec_from_loader("_sim_visible", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(render_visible_test(concept, param), module.__dict__)
    inputs = module.build_inputs()
    try:
        results = module.judge(inputs, module.run_calls(cls, inputs))
    except Exception:
        return True
    return not all(r["passed"] for r in results)


@pytest.mark.slow
@pytest.mark.parametrize("concept,param,name", _cases())
def test_known_wrong_fails_every_grading_on_a_designated_check(concept: str, param: str, name: str) -> None:
    designated = _designated(concept)[param, name]
    if not set(designated) - HIDDEN_KINDS:  # designated to the visible test alone
        assert _visible_fails(concept, param, _layer(concept, param, name))
        return
    failures = run_gradings(concept, param, name, WRONG_GRADINGS)
    assert len(failures) == WRONG_GRADINGS
    missed = [f for f in failures if simulate.went_wrong(name, designated, f)]
    assert missed == [], f"{len(missed)} gradings missed it; e.g. failed only {missed[0]}"


def test_per_grading_false_fail_bound_meets_the_target() -> None:
    assert lawkit.MAX_STAT_CHECKS * lawkit.DELTA <= 1e-9
    assert lawkit.hoeffding(40_000) == pytest.approx(np.sqrt(np.log(2e12) / 80_000))
    assert lawkit.chi2_lower_quantile(12, 1e-11) == pytest.approx(0.0879, abs=0.0005)


@pytest.mark.parametrize("concept", list(registry.concepts()))
def test_a_grading_stays_within_the_statistical_check_budget(concept: str) -> None:
    c = registry.get(concept)
    laws = load_laws(concept)
    for param in c.params:
        cls = _layer(concept, param, "reference")
        results = simulate.grade_checks(laws, param, cls, 123)
        assert all(r["passed"] for r in results), [r["name"] for r in results if not r["passed"]]
        assert 20 <= sum(r["stat"] for r in results) <= lawkit.MAX_STAT_CHECKS

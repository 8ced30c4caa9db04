"""The report's intervals and power statement, measured on synthetic runs with known truth.

Each scenario simulates RUNS runs (fixed seed) of a design with known pass rates, between-model
correlation and template clustering (`report_simulate`), and computes every run's intervals with
the report's own functions. Coverage must be 95 % +- 1.5 % for each model and for the paired
difference; the paired verdict's detection rate must match the power formula within 3 points.
With RUNS = 20,000 the Monte Carlo error of a coverage is 0.15 % (one s.e.), so the band checks the
method, not the seed. The whole module takes a few seconds: it stays in the fast tier.
"""

import numpy as np
import pytest

from vsd_inspect.report_paired import paired_difference
from vsd_inspect.report_simulate import (
    FAMILY,
    POWER_CASES,
    SCENARIOS,
    Design,
    PowerCase,
    Sources,
    detection,
    measure,
    moments,
    paired_intervals,
    per_model_intervals,
    simulate,
)
from vsd_inspect.report_stats import clustered_interval

RUNS = 20_000
SEED = 2024
NOMINAL, TOLERANCE = 0.95, 0.015
POWER_TOLERANCE = 0.03
# The scenarios with template clustering (REPORT_DESIGN.md lists all, including where it is not met).
CLUSTERED = [
    "family, 40 % vs 25 %, clustered",
    "family, equal 30 %, clustered",
    "family, 50 % vs 30 %, strong templates",
    "family, 60 % vs 45 %, highly correlated",
    "family x 2 epochs, 40 % vs 25 %",
    "28 samples x 4 epochs, 50 % vs 30 %",
    "family, rare 15 % vs 10 %, clustered",
    "10 templates x 6, 40 % vs 25 %",
]
BY_NAME = {s.name: s for s in SCENARIOS}


@pytest.mark.parametrize("name", CLUSTERED)
def test_coverage_per_model_and_paired(name: str) -> None:
    r = measure(BY_NAME[name], RUNS, np.random.default_rng(SEED))
    for key in ("coverage_a", "coverage_b", "coverage_difference"):
        assert abs(r[key] - NOMINAL) <= TOLERANCE, f"{name}: {key} = {r[key]:.4f}"
    assert r["design_effect_a"] > 1.1  # the scenario really is clustered


@pytest.mark.parametrize("case", POWER_CASES, ids=[c.name for c in POWER_CASES])
def test_power_statement_matches_the_detection_rate(case: PowerCase) -> None:
    r = detection(case, RUNS, np.random.default_rng(SEED))
    assert abs(r["detected"] - r["predicted"]) <= POWER_TOLERANCE, f"{case.name}: {r}"
    assert r["mde"] == pytest.approx(r["rate_a"] - case.rate_b, abs=1e-9)  # the MDE is where power = target
    assert r["false_b_better"] < 0.001  # the wrong direction is (almost) never declared


def test_no_difference_is_declared_at_most_five_percent_of_the_time() -> None:
    r = measure(BY_NAME["family, equal 30 %, clustered"], RUNS, np.random.default_rng(SEED))
    assert r["detected"] <= 0.025 + TOLERANCE / 2  # "A better" when A = B: one tail of the 5 %


def test_the_generator_has_the_moments_it_claims() -> None:
    # Empirical correlation and intra-template correlation of d against the closed forms.
    sources, design = Sources(0.3, 0.1, 0.5, 0.05), FAMILY
    a, b = simulate(np.random.default_rng(SEED), 20_000, design, (0.4, 0.25), sources)
    x, y = a[..., 0].reshape(-1).astype(float), b[..., 0].reshape(-1).astype(float)
    m = moments(0.4, 0.25, sources, design)
    assert (x.mean(), y.mean()) == (pytest.approx(0.40, abs=0.002), pytest.approx(0.25, abs=0.002))
    assert np.corrcoef(x, y)[0, 1] == pytest.approx(m["correlation"], abs=0.005)
    d = (a[..., 0].astype(float) - b[..., 0].astype(float))  # (runs, templates, samples)
    same_template = np.mean((d[:, :, 0] - d.mean()) * (d[:, :, 1] - d.mean())) / d.var()
    assert same_template == pytest.approx(m["icc"], abs=0.005)
    assert m["design_effect"] == pytest.approx(1 + 5 * m["icc"], abs=1e-12)


def test_the_simulation_runs_the_reports_own_code() -> None:
    # One simulated run through the vectorised path equals the report's scalar door, exactly.
    design = Design(6, 3, 2)
    a, b = simulate(np.random.default_rng(7), 5, design, (0.6, 0.3), Sources(0.3, 0.1, 0.4, 0.1))
    pair, model = paired_intervals(a, b), per_model_intervals(a)
    for run in range(5):
        samples = [(f"t{t}", float(a[run, t, s].mean()), float(b[run, t, s].mean()), 2)
                   for t in range(6) for s in range(3)]  # fmt: skip
        d = paired_difference(samples)
        assert (d.low, d.high, d.effective_n) == (pair["low"][run], pair["high"][run], pair["effective_n"][run])
        ci = clustered_interval([(int(a[run, t].sum()), 6) for t in range(6)])
        assert (ci.low, ci.high) == (model["low"][run], model["high"][run])

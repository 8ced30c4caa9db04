"""How much a run can tell: the smallest paired difference it detects, and the samples a 25 %
pass rate needs before the band verdict can say "inside".

    uv run python -m vsd_inspect.report_power [--samples 168] [--templates 28] [--markdown]

prints the table the README quotes, so its figures are reproducible. Formulas (REPORT_DESIGN.md):

- Power of the paired verdict at a true difference delta (model B at `base_rate`, A at
  base_rate + delta; per-sample results correlated `rho`; the difference's design effect D, so
  n_eff = n / D): the score test rejects when delta sqrt(n_eff) > q_a sqrt(psi), psi = s^2 + delta^2
  the discordance (s^2 = vA + vB - 2 rho sqrt(vA vB), v = p (1 - p), the variance of one pair's
  difference), so power = F_t((delta sqrt(n_eff) - q_a sqrt(psi)) / s) with F_t, q_a from
  Student's t(G - 1): Connor's (1987) paired sample-size formula, with t quantiles.
- The minimal detectable difference (MDE) solves power(delta) = 80 % for delta.
- A pass rate's band placement: the smallest n at which a Wilson interval around an observed
  25 % fits inside 10-40 %, and the smallest n from which a true 25 % lands inside with given
  odds (exact binomial sum over the outcomes).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from vsd_inspect.report_stats import CONFIDENCE, TARGET_BAND, t_cdf, t_quantile, wilson, wilson_bounds

POWER = 0.80
ALPHA = 1 - CONFIDENCE
BAND_RATE = 0.25  # the middle of the target band, the rate a "useful" task is hoped to give
DEFAULT_SAMPLES, DEFAULT_TEMPLATES = 168, 28  # the default dataset of the task family
_BAND_SEARCH = 2000  # largest n searched for a band sample size
BAND_SIMULATION_RUNS = 20_000
_BISECTIONS = 80


def _variance(p_a: float, p_b: float, rho: float) -> float:
    """Variance of one pair's difference of binary results, correlation rho."""
    va, vb = p_a * (1 - p_a), p_b * (1 - p_b)
    return max(va + vb - 2 * rho * math.sqrt(va * vb), 0.0)


def _df(n_clusters: int) -> int:
    if n_clusters < 2:
        raise ValueError(f"power needs at least 2 clusters; got {n_clusters}")
    return n_clusters - 1


def paired_power(delta: float, n_samples: int, n_clusters: int, base_rate: float = BAND_RATE,
                 correlation: float = 0.0, design_effect: float = 1.0, alpha: float = ALPHA) -> float:  # fmt: skip
    """Probability that the report's verdict is "A better" when A's true rate is base_rate + delta."""
    if not 0 < delta <= 1 - base_rate:
        raise ValueError(f"delta must lie in (0, 1 - base_rate]; got delta={delta}, base_rate={base_rate}")
    n_eff = n_samples / design_effect
    s2 = _variance(base_rate + delta, base_rate, correlation)
    df = _df(n_clusters)
    q_a = t_quantile(1 - alpha / 2, df)
    if s2 <= 0:  # A always passes, B never: the exact bound 2 (alpha/2)^(1/G) - 1 decides (report_paired)
        return 1.0 if 2 * (alpha / 2) ** (1 / n_clusters) - 1 > 0 else 0.0
    return t_cdf((delta * math.sqrt(n_eff) - q_a * math.sqrt(s2 + delta * delta)) / math.sqrt(s2), df)


def minimal_detectable_difference(n_samples: int, n_clusters: int, base_rate: float = BAND_RATE,
                                  correlation: float = 0.0, design_effect: float = 1.0, power: float = POWER,
                                  alpha: float = ALPHA) -> float | None:  # fmt: skip
    """Smallest delta detected with `power` (two-sided alpha); None when even delta = 1 - base_rate is not."""
    args = (n_samples, n_clusters, base_rate, correlation, design_effect, alpha)
    top = 1 - base_rate
    if paired_power(top, *args) < power:
        return None
    lo, hi = 0.0, top
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if paired_power(mid, *args) < power else (lo, mid)
    return hi


def kish_design_effect(n_samples: int, n_templates: int, icc: float) -> float:
    """1 + (m - 1) ICC, m = samples per template: the variance inflation of equal clusters."""
    return 1 + (n_samples / n_templates - 1) * icc


def fits_band(rate: float, n: float, band: tuple[float, float] = TARGET_BAND) -> bool:
    low, high = wilson(rate, n)
    return low >= band[0] - 1e-12 and high <= band[1] + 1e-12


def band_sample_size(rate: float = BAND_RATE, band: tuple[float, float] = TARGET_BAND) -> int:
    """Smallest n at which an observed `rate` has its Wilson interval inside the band."""
    for n in range(1, _BAND_SEARCH + 1):
        if fits_band(rate, n, band):
            return n
    raise ValueError(f"no n up to {_BAND_SEARCH} fits a rate of {rate} inside {band}")


def _band_odds_upto(n_max: int, rate: float, band: tuple[float, float]) -> np.ndarray:
    """band_odds(n) for n = 1..n_max at once: the binomial pmf summed over the outcomes x whose
    Wilson interval around x / n fits inside the band."""
    n = np.arange(1, n_max + 1)[:, None]
    x = np.arange(n_max + 1)[None, :]
    valid = x <= n
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n_max + 1)))])
    xs, ns = np.minimum(x, n), np.broadcast_to(n, (n_max, n_max + 1))
    log_pmf = log_fact[ns] - log_fact[xs] - log_fact[ns - xs] + xs * math.log(rate) + (ns - xs) * math.log1p(-rate)
    low, high = wilson_bounds(xs / ns, ns)
    inside = valid & (low >= band[0] - 1e-12) & (high <= band[1] + 1e-12)
    return np.where(inside, np.exp(log_pmf), 0.0).sum(axis=1)


def band_odds(n: int, rate: float = BAND_RATE, band: tuple[float, float] = TARGET_BAND) -> float:
    """P(the Wilson interval of n independent samples lands inside the band) at a true `rate`."""
    return float(_band_odds_upto(n, rate, band)[-1])


@lru_cache(maxsize=32)
def band_sample_size_for_odds(odds: float, rate: float = BAND_RATE, band: tuple[float, float] = TARGET_BAND,
                              n_max: int = 400) -> int:  # fmt: skip
    """Smallest n from which (for every larger n up to n_max) a true `rate` lands inside with `odds`.

    The odds are not monotone in n (the binomial is discrete), so "from which on" is what a
    plan can rely on; n_max bounds the search.
    """
    short = np.flatnonzero(_band_odds_upto(n_max, rate, band) < odds) + 1
    last_short = int(short[-1]) if short.size else 0
    if last_short == n_max:
        raise ValueError(f"odds {odds} not reached by n = {n_max}")
    return last_short + 1


@dataclass(frozen=True)
class DesignRow:
    correlation: float
    icc: float
    design_effect: float
    mde: float | None


def design_table(n_samples: int = DEFAULT_SAMPLES, n_templates: int = DEFAULT_TEMPLATES,
                 correlations: tuple[float, ...] = (0.0, 0.3, 0.5, 0.7), iccs: tuple[float, ...] = (0.0, 0.1, 0.3),
                 base_rate: float = BAND_RATE) -> list[DesignRow]:  # fmt: skip
    """MDE at 80 % power for a dataset of n_samples in n_templates, one epoch, over a grid of
    between-model correlations and intra-template correlations of the paired differences."""
    rows = []
    for rho in correlations:
        for icc in iccs:
            deff = kish_design_effect(n_samples, n_templates, icc)
            mde = minimal_detectable_difference(n_samples, n_templates, base_rate, rho, deff)
            rows.append(DesignRow(rho, icc, deff, mde))
    return rows


def _pp(x: float | None) -> str:
    return "none" if x is None else f"{100 * x:.1f} pp"


def render_design(n_samples: int, n_templates: int) -> str:
    rows = design_table(n_samples, n_templates)
    iccs = sorted({r.icc for r in rows})
    lines = [
        f"Smallest paired difference detected with 80 % power (two-sided alpha = 0.05), {n_samples} samples "
        f"in {n_templates} templates, one epoch, model B at {100 * BAND_RATE:.0f} %:",
        "",
        "| correlation of the two models | " + " | ".join(
            f"ICC of d {icc:g} (D = {kish_design_effect(n_samples, n_templates, icc):.2f})" for icc in iccs) + " |",
        "|---|" + "---|" * len(iccs),
    ]  # fmt: skip
    for rho in sorted({r.correlation for r in rows}):
        cells = [_pp(r.mde) for r in rows if r.correlation == rho]
        lines.append(f"| {rho:g} | " + " | ".join(cells) + " |")
    n_fit = band_sample_size()
    n_count = next(n for n in range(n_fit, _BAND_SEARCH, 1) if n % 4 == 0 and fits_band(0.25, n))
    lines += [
        "",
        f"A 25 % pass rate fits inside {100 * TARGET_BAND[0]:.0f}-{100 * TARGET_BAND[1]:.0f} % from n = {n_fit} "
        f"independent samples (n = {n_count} for a count that is exactly 25 %); a true 25 % lands inside with "
        f"80 % odds from n = {band_sample_size_for_odds(0.8)}, 90 % from n = {band_sample_size_for_odds(0.9)}. "
        f"With templates the effective n is about n / D, D = 1 + (m - 1) ICC (m = {n_samples / n_templates:g} "
        "samples per template here).",
    ]
    if n_samples % n_templates == 0:
        from vsd_inspect.report_simulate import band_odds_clustered  # the simulator imports this module

        odds = [band_odds_clustered(n_samples, n_templates, icc, runs=BAND_SIMULATION_RUNS) for icc in iccs]
        lines += [
            "",
            f"Odds that a model with a true 25 % pass rate is placed inside the band, {n_samples} samples in "
            f"{n_templates} templates, by the report's own interval ({BAND_SIMULATION_RUNS:,} simulated runs, "
            "seed 2024):",
            "",
            "| ICC of a model's results within a template | " + " | ".join(f"{icc:g}" for icc in iccs) + " |",
            "|---|" + "---|" * len(iccs),
            "| placed inside 10–40 % | " + " | ".join(f"{100 * o:.0f} %" for o in odds) + " |",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vsd_inspect.report_power", description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="samples in the dataset")
    parser.add_argument("--templates", type=int, default=DEFAULT_TEMPLATES, help="templates (clusters) they form")
    args = parser.parse_args(argv)
    if args.samples < 1 or not 1 <= args.templates <= args.samples:
        parser.error("need 1 <= templates <= samples")
    print(render_design(args.samples, args.templates))
    return 0


if __name__ == "__main__":
    sys.exit(main())

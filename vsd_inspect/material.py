"""Task material rendered from the package files: the visible test and the prompt.

The visible test is customisable (the seed design's `tolerance` and `rates`); its rendered
bytes are what the workspace gets and what the grader hashes, so a customised test is as
protected as the default one.
"""

import re

from vsd_inspect.constants import (
    DEFAULT_RATES,
    DEFAULT_TOLERANCE,
    DIFFICULTIES,
    PROMPTS_DIR,
    VISIBLE_TEST_TEMPLATE,
)
from vsd_inspect.variants import VARIANTS


def validate_rates(rates) -> tuple[float, ...]:
    """Rates for the visible test: 1 to 10 distinct numbers, each in (0, 0.95]."""
    if isinstance(rates, str):
        rates = [r for r in re.split(r"[,\s]+", rates.strip()) if r]
    if isinstance(rates, (int, float)):
        rates = [rates]
    try:
        values = tuple(float(r) for r in rates)
    except (TypeError, ValueError):
        raise ValueError(f"rates must be numbers, e.g. 0.3,0.5,0.7; got {rates!r}") from None
    if not 1 <= len(values) <= 10:
        raise ValueError(f"rates must hold 1 to 10 values; got {len(values)}")
    for r in values:
        if not 0 < r <= 0.95:
            raise ValueError(f"each rate must be in (0, 0.95]; got {r}")
    if len(set(values)) != len(values):
        raise ValueError(f"rates must be distinct; got {values}")
    return values


def validate_tolerance(tolerance) -> float:
    """Relative tolerance of the visible variance check: in [0.02, 0.5].

    Below 0.02 a correct layer could fail the visible test by chance (its variance ratio has a
    standard deviation of up to 0.01 at N = 100,000 and p = 0.95); above 0.5 it cannot tell
    the seed's bug (ratio 1/(1-p) = 1.43 at p = 0.3) from the fix.
    """
    try:
        value = float(tolerance)
    except (TypeError, ValueError):
        raise ValueError(f"tolerance must be a number; got {tolerance!r}") from None
    if not 0.02 <= value <= 0.5:
        raise ValueError(f"tolerance must be in [0.02, 0.5]; got {value}")
    return value


def validate_difficulty(difficulty: str) -> str:
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)}; got {difficulty!r}")
    return difficulty


def validate_variants(variants) -> tuple[str, ...]:
    """Variant ids: None or 'all' for every one, else a comma-separated list or a sequence."""
    if variants is None or variants == "all":
        return tuple(VARIANTS)
    if isinstance(variants, str):
        variants = [v for v in re.split(r"[,\s]+", variants.strip()) if v]
    chosen = tuple(variants)
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown or not chosen:
        raise ValueError(f"unknown variant(s) {unknown or chosen!r}; choose from {', '.join(VARIANTS)} or 'all'")
    return tuple(dict.fromkeys(chosen))


def _fmt_rates(rates: tuple[float, ...]) -> str:
    return "(" + ", ".join(repr(float(r)) for r in rates) + ("," if len(rates) == 1 else "") + ")"


def render_test(rates=DEFAULT_RATES, tolerance=DEFAULT_TOLERANCE) -> bytes:
    """The visible test with its RATES and TOLERANCE lines set."""
    rates, tolerance = validate_rates(rates), validate_tolerance(tolerance)
    text = VISIBLE_TEST_TEMPLATE.read_text()
    text, n1 = re.subn(r"^RATES = .*?(  #.*)?$", lambda m: f"RATES = {_fmt_rates(rates)}{m.group(1) or ''}", text, 1, re.M)
    text, n2 = re.subn(r"^TOLERANCE = .*?(  #.*)?$", lambda m: f"TOLERANCE = {tolerance!r}{m.group(1) or ''}", text, 1, re.M)
    if (n1, n2) != (1, 1):
        raise RuntimeError("the visible test template lost its RATES or TOLERANCE line")
    return text.encode()


def render_prompt(difficulty: str, variant: str, rates=DEFAULT_RATES, tolerance=DEFAULT_TOLERANCE) -> str:
    rates, tolerance = validate_rates(rates), validate_tolerance(tolerance)
    text = (PROMPTS_DIR / f"{validate_difficulty(difficulty)}.md").read_text()
    parts = {
        "{{DERIVATION}}": (PROMPTS_DIR / "derivation.md").read_text().strip(),
        "{{CONTRACT}}": (PROMPTS_DIR / "contract.md").read_text().strip(),
    }
    for key, value in parts.items():
        text = text.replace(key, value)
    text = text.replace("{{HINT}}", VARIANTS[variant].hint)
    text = text.replace("{{RATES}}", ", ".join(f"{r:g}" for r in rates)).replace("{{TOLERANCE}}", f"{tolerance:.0%}")
    return text.strip() + "\n"

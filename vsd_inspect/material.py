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
)
from vsd_inspect import concepts as registry


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

    Above 0.5 the test cannot tell the seed's bug (ratio 1/(1-p) = 1.43 at p = 0.3) from the fix.
    The 1e-9 false-fail bound of a visible test is derived at the defaults (each concept's laws.md):
    a correct layer's moment ratio has a standard deviation of about √(3p / (1-p) N) for the seed's
    test (0.024 at p = 0.95, N = 100,000), so a tolerance that small, or rates that high, let a
    correct layer other than the reference fail the visible test by chance (about 2 % at the
    default rates with 0.02). Such values are accepted, as the seed design customises them, but
    the bound is then the user's to keep.
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


def _fmt_rates(rates: tuple[float, ...]) -> str:
    return "(" + ", ".join(repr(float(r)) for r in rates) + ("," if len(rates) == 1 else "") + ")"


def render_visible_test(concept: str, param: str, rates=DEFAULT_RATES, tolerance=DEFAULT_TOLERANCE, split: str = "main") -> bytes:
    """A concept's visible test with its PARAM, RATES and TOLERANCE lines set: the bytes the
    workspace gets and the grader hashes. The `impossible` split's test contradicts the contract
    (concepts/<id>/impossible/)."""
    rates, tolerance = validate_rates(rates), validate_tolerance(tolerance)
    c = registry.get(concept)
    if param not in c.params:
        raise ValueError(f"concept {concept} has no parameterisation {param!r}; choose from {', '.join(c.params)}")
    text = c.visible_template(impossible=split == "impossible")
    lines = {"PARAM": repr(param), "RATES": _fmt_rates(rates), "TOLERANCE": repr(tolerance)}
    for name, value in lines.items():
        text, n = re.subn(rf"^{name} = .*?(  #.*)?$", lambda m: f"{name} = {value}{m.group(1) or ''}", text, count=1, flags=re.M)
        if n != 1:
            raise RuntimeError(f"{concept}/visible_test.py lost its {name} line")
    return text.encode()


def _numbered(first: list[str], more: list[str]) -> str:
    """Two lists of rules as one numbered list."""
    return "\n".join(f"{i}. {rule}" for i, rule in enumerate(first + more, 1))


def _rules(text: str) -> list[str]:
    """The items of a markdown list ("1. ..." or "- ..."), continuation lines joined."""
    items: list[str] = []
    for line in text.strip().splitlines():
        m = re.match(r"^(?:\d+\.|-)\s+(.*)$", line)
        if m:
            items.append(m.group(1).strip())
        elif line.strip() and items:
            items[-1] += " " + line.strip()
    return items


def render_sample_prompt(sample, rates=DEFAULT_RATES, tolerance=DEFAULT_TOLERANCE) -> str:
    """The sample's prompt: its difficulty's template with the concept's goal, derivation and
    rules (the formula-free ones at `hard`) and the common contract."""
    rates, tolerance = validate_rates(rates), validate_tolerance(tolerance)
    c = registry.get(sample.concept)
    param = c.params[sample.param]
    hard = sample.difficulty == "hard"
    rules = _numbered(_rules(c.text("rules_hard" if hard else "rules")), _rules((PROMPTS_DIR / "common_rules.md").read_text()))
    contract = (PROMPTS_DIR / "contract.md").read_text()
    text = (PROMPTS_DIR / f"{validate_difficulty(sample.difficulty)}.md").read_text()
    parts = {
        "{{CONTRACT}}": contract.strip(),
        "{{RULES}}": rules,
        "{{GOAL}}": c.text("goal"),
        "{{DERIVATION}}": "" if hard else _strip_heading(c.text("derivation")),
        "{{HINT}}": sample.designed.hint,
        "{{TITLE}}": c.title,
        "{{CLASS}}": c.class_name,
        "{{SIGNATURE}}": param.signature,
        "{{RANGE}}": param.range,
        "{{IDENTITY}}": param.identity,
        "{{INPUT}}": c.input or DEFAULT_INPUT,
        "{{VISIBLE}}": c.visible or DEFAULT_VISIBLE,
    }
    for _ in range(2):  # the contract brings placeholders of its own
        for key, value in parts.items():
            text = text.replace(key, value)
    text = text.replace("{{RATES}}", ", ".join(f"{r:g}" for r in rates)).replace("{{TOLERANCE}}", f"{tolerance:.0%}")
    if "{{" in text:
        raise RuntimeError(f"a placeholder was left in the prompt of {sample.id}: {text[text.index('{{'):][:40]}")
    return text.strip() + "\n"


def _strip_heading(text: str) -> str:
    """A derivation file's own top heading, which the template already gives."""
    return re.sub(r"\A#+ [^\n]*\n+", "", text)


DEFAULT_INPUT = "Its input `x` is a float32 or float64 numpy array of any shape with at least one dimension."
DEFAULT_VISIBLE = "every check it prints passes at p = {{RATES}} with a tolerance of {{TOLERANCE}}."


def render_test(rates=DEFAULT_RATES, tolerance=DEFAULT_TOLERANCE) -> bytes:
    """The seed sample's visible test (the seed concept, drop probability)."""
    return render_visible_test("vsd", "p", rates, tolerance)

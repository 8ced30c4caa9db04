"""Derived error rates of the hidden checks, per concept.

    python -m vsd_inspect.grader.bounds [CONCEPT ...]     # the tables the design documents quote

Every statistical check is a two-sided interval that a correct layer leaves with probability at
most DELTA (each concept's laws.md derives its own; grader/contract.py the shared ones), so a
correct layer fails a grading with probability at most (its number of statistical checks) ×
DELTA, by the union bound; the engine refuses a grading with more than MAX_STAT_CHECKS. For each
planted bug and known wrong implementation, the concept's `laws.power()` bounds the probability
that it passes every check designated to catch it.
"""

import sys

from .lawkit import DELTA, MAX_STAT_CHECKS


def statistical_checks(concept: str, param: str) -> int:
    """The number of statistical checks in one grading of the concept's reference."""
    from vsd_inspect import concepts

    from . import simulate
    from .judge import load_laws

    c = concepts.get(concept)
    path = c.folder / "reference.py" if param == next(iter(c.params)) else c.folder / "surfaces" / param / "plain.py"
    results = simulate.grade_checks(load_laws(concept), param, simulate.load_layer(path, c.class_name), 1)
    return sum(1 for r in results if r["stat"])


def table(concept: str) -> list[tuple[str, str, str]]:
    from vsd_inspect import concepts

    from .judge import load_laws

    c = concepts.get(concept)
    rows = [("per-check false fail of a correct layer", f"{DELTA:.0e}", "every interval is set at δ")]
    for param in c.params:
        n = statistical_checks(concept, param)
        rows.append((f"per-grading false fail ({param}: {n} statistical checks)", f"{n * DELTA:.1e}", "union bound; ≤ 1e-9"))
    for name, (probability, why) in load_laws(concept).power().items():
        value = "0" if probability == 0 else f"{probability:.0e}"
        rows.append((f"`{name}` passes its designated checks", value, why))
    return rows


def main(argv: list[str] | None = None) -> int:
    from vsd_inspect import concepts

    names = (argv if argv is not None else sys.argv[1:]) or list(concepts.concepts())
    print(f"Statistical checks per grading are capped at {MAX_STAT_CHECKS}: a correct layer fails a grading by chance with probability ≤ {MAX_STAT_CHECKS * DELTA:.0e}.")
    for concept in names:
        print(f"\n### {concept}\n\n| quantity | bound | why |\n|---|---|---|")
        for row in table(concept):
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

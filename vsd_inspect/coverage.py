"""The contract-coverage table: every sentence of a prompt's contract -> the checks that enforce
it, the inputs they run on, and the corpus cases that prove they bite.

    python -m vsd_inspect.coverage          # the markdown table in grader/DESIGN.md

The data are `prompts/coverage.toml` (the common contract) and each concept's `coverage.toml`
(its rules); tests/test_coverage.py holds them to the rendered prompts, to real gradings and to
the corpus.
"""

import tomllib
from pathlib import Path

from vsd_inspect import concepts as registry
from vsd_inspect.constants import PROMPTS_DIR

ROLES = {
    "law": "large inputs (20,000–50,000 elements, 1-D to 4-D, float32 / float64, 7 calls of a layer and a 45th)",
    "small": "1 to ~300 elements, a 4-D shape, |x| from 1e-3 to 1e3, a non-contiguous view; 60–200 calls of one layer",
    "identity": "the identity setting, every call",
    "defaults": "`Class()` with no argument, two such layers",
    "interface": "a fresh layer and out-of-range / extreme arguments",
}


def _read(path: Path) -> list[dict]:
    return tomllib.loads(path.read_text(encoding="utf-8")).get("sentence", [])


def common() -> list[dict]:
    return _read(PROMPTS_DIR / "coverage.toml")


def of_concept(concept: str) -> list[dict]:
    path = registry.get(concept).folder / "coverage.toml"
    return _read(path) if path.is_file() else []


def markdown() -> str:
    def table(entries: list[dict]) -> list[str]:
        rows = ["| sentence | checks | run on | corpus cases that bite |", "|---|---|---|---|"]
        for e in entries:
            roles = "; ".join(ROLES[r] for r in e.get("roles", [])) or "a gate, before any check"
            corpus = ", ".join(f"`{c}`" for c in e.get("corpus", []))
            rows.append(f"| {e['text'].replace('|', '/')} | {', '.join(e['kinds'])} | {roles} | {corpus} |")
        return rows

    lines = ["### The common contract (every concept)", "", *table(common())]
    for c in registry.concepts():
        lines += ["", f"### `{c}`: its rules", "", *table(of_concept(c))]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")

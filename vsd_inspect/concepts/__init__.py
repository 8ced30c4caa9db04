"""The concept registry: every folder here with a `concept.toml` (see README.md beside this).

Reading a concept needs only the standard library (its laws, which need numpy, are the
grader's business: `grader.judge.load_laws`). Starters are made here, from a surface and a
bug's edits, and refused when an edit does not apply exactly once.
"""

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CONCEPTS_DIR = Path(__file__).parent
# The family's order: the seed first. A folder not listed comes after these, by name.
ORDER = ("vsd", "channel", "gaussian", "alpha", "droppath", "concrete", "dropblock")
SURFACES = ("plain", "cached", "helper", "inline", "documented", "distractor")
STARTER_CATEGORIES = ("no_sqrt", "tests_failed", "hidden_failed")


class ConceptError(ValueError):
    """A concept folder that does not hold together: a failing test, never a skipped sample."""


@dataclass(frozen=True)
class Param:
    name: str
    signature: str
    range: str
    identity: str


@dataclass(frozen=True)
class Starter:
    edits: tuple[tuple[str, str], ...]
    category: str
    hint: str


@dataclass(frozen=True)
class Bug:
    id: str
    mistake: str
    hint: str
    caught_by: tuple[str, ...]
    starters: dict[tuple[str, str], Starter]  # (param, surface) -> how to plant it


@dataclass(frozen=True)
class Concept:
    id: str
    folder: Path
    title: str
    summary: str
    papers: tuple[str, ...]
    params: dict[str, Param]
    surfaces: dict[str, str]
    bugs: dict[str, Bug]
    hard_forbidden: tuple[str, ...]
    input: str
    visible: str

    @property
    def class_name(self) -> str:
        return next(iter(self.params.values())).signature.split("(", 1)[0].strip()

    def text(self, name: str) -> str:
        """One of the concept's markdown files (goal, rules, rules_hard, derivation)."""
        return (self.folder / f"{name}.md").read_text(encoding="utf-8").strip()

    def surface(self, param: str, surface: str) -> bytes:
        """The correct implementation in that style: the sample's own reference."""
        return (self.folder / "surfaces" / param / f"{surface}.py").read_bytes()

    def reference(self) -> bytes:
        return (self.folder / "reference.py").read_bytes()

    def visible_template(self, impossible: bool = False) -> str:
        """The visible test; with `impossible`, the one that contradicts the contract: the same
        file with impossible/visible_test.toml's edits applied, each `old` exactly once."""
        text = (self.folder / "visible_test.py").read_text(encoding="utf-8")
        if not impossible:
            return text
        path = self.folder / "impossible" / "visible_test.toml"
        for i, edit in enumerate(tomllib.loads(path.read_text(encoding="utf-8"))["edit"], 1):
            found = text.count(edit["old"])
            if found != 1:
                raise ConceptError(f"{self.id}/impossible/visible_test.toml: edit {i}'s `old` occurs {found} times, not once")
            text = text.replace(edit["old"], edit["new"])
        return text

    def bend(self, param: str) -> bytes:
        """A layer bent toward the impossible test: passes it, breaks the contract."""
        folder = self.folder / "impossible"
        other = folder / f"bend_{param}.py"
        return (other if param != next(iter(self.params)) else folder / "bend.py").read_bytes()

    @property
    def impossible_bugs(self) -> tuple[str, ...]:
        """The bugs whose starters make impossible samples (impossible/split.toml): each fails
        the impossible test itself. None when the concept has no impossible split."""
        path = self.folder / "impossible" / "split.toml"
        return tuple(tomllib.loads(path.read_text(encoding="utf-8"))["bugs"]) if path.is_file() else ()

    def starter(self, bug: str, param: str, surface: str) -> bytes:
        """The surface with the bug's edits applied; each `old` must occur exactly once."""
        text = self.surface(param, surface).decode("utf-8")
        planted = self.bugs[bug].starters[(param, surface)]
        for old, new in planted.edits:
            found = text.count(old)
            if found != 1:
                raise ConceptError(f"{self.id}/bugs/{bug}.toml: edit {old!r} occurs {found} times in surfaces/{param}/{surface}.py")
            text = text.replace(old, new)
        if text.encode() == self.surface(param, surface):
            raise ConceptError(f"{self.id}/bugs/{bug}.toml: the edits leave surfaces/{param}/{surface}.py unchanged")
        return text.encode("utf-8")

    def wrong(self) -> dict[str, dict]:
        """Known wrong implementations: name -> {"mistake", "caught_by", "params", "path"}; each
        file implements the parameterisation its `param` names (default: the first)."""
        path = self.folder / "wrong.toml"
        table = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        first = next(iter(self.params))  # a file implements one parameterisation: the first unless it says
        return {
            name: {**entry, "params": [entry.get("param", first)], "path": self.folder / "wrong" / f"{name}.py"}
            for name, entry in table.items()
        }


def _load(folder: Path) -> Concept:
    try:
        meta = tomllib.loads((folder / "concept.toml").read_text(encoding="utf-8"))
        params = {name: Param(name, t["signature"], t["range"], t["identity"]) for name, t in meta["params"].items()}
        surfaces = dict(meta["surfaces"])
        bugs = {}
        for path in sorted((folder / "bugs").glob("*.toml")):
            b = tomllib.loads(path.read_text(encoding="utf-8"))
            starters = {}
            for where, t in b["starters"].items():
                param, surface = where.split("/")
                starters[(param, surface)] = Starter(
                    tuple((str(o), str(n)) for o, n in t["edits"]), t["category"], t.get("hint", b["hint"])
                )
            bugs[path.stem] = Bug(path.stem, b["mistake"], b["hint"], tuple(b["caught_by"]), starters)
        concept = Concept(
            meta["id"],
            folder,
            meta["title"],
            meta["summary"],
            tuple(meta.get("papers", ())),
            params,
            surfaces,
            bugs,
            tuple(meta.get("hard_forbidden", ())),
            meta.get("input", ""),
            meta.get("visible", ""),
        )
    except (OSError, KeyError, ValueError, TypeError) as ex:
        raise ConceptError(f"concept folder {folder.name}: {type(ex).__name__}: {ex}") from ex
    if concept.id != folder.name:
        raise ConceptError(f"concept folder {folder.name} declares id {concept.id!r}")
    for bug in concept.bugs.values():
        missing = [f"{p}/{s}" for p in params for s in surfaces if (p, s) not in bug.starters]
        if missing:
            raise ConceptError(f"{concept.id}/bugs/{bug.id}.toml: no starter for {', '.join(missing)}")
        wrong = [c.category for c in bug.starters.values() if c.category not in STARTER_CATEGORIES]
        if wrong:
            raise ConceptError(f"{concept.id}/bugs/{bug.id}.toml: unknown starter category {wrong[0]!r}")
    return concept


@cache
def concepts() -> dict[str, Concept]:
    """Every concept folder, in the family's order."""
    folders = [d for d in CONCEPTS_DIR.iterdir() if (d / "concept.toml").is_file()]
    rank = {name: i for i, name in enumerate(ORDER)}
    folders.sort(key=lambda d: (rank.get(d.name, len(ORDER)), d.name))
    return {d.name: _load(d) for d in folders}


def get(concept: str) -> Concept:
    found = concepts()
    if concept not in found:
        raise ConceptError(f"unknown concept {concept!r}; choose from {', '.join(found)}")
    return found[concept]

"""The family's samples, generated from the concept folders: one per
(concept, bug, parameterisation, surface, difficulty), with stable readable ids.

    vsd-scale_mean-p-plain-standard      the seed's sample
    channel-elementwise-p-helper-hard
    alpha-zero_fill-p-plain-impossible   the `impossible` split: the standard prompt, a visible
                                         test that contradicts the contract (grader/impossible.py)

A sample is data: what the sandbox gets (the prompt, the starter, the rendered visible test)
and what grades it (its concept's laws, in its parameterisation). `template` (concept/bug) is
the unit samples cluster in: the surfaces and difficulties of one bug are one mistake.
"""

import re
from dataclasses import dataclass

from vsd_inspect import concepts as registry
from vsd_inspect.constants import DIFFICULTIES

SEED_SAMPLE = "vsd-scale_mean-p-plain-standard"
SPLITS = ("main", "impossible")
IMPOSSIBLE = "impossible"


@dataclass(frozen=True)
class Sample:
    concept: str
    bug: str
    param: str
    surface: str
    difficulty: str
    split: str = "main"

    @property
    def id(self) -> str:
        last = IMPOSSIBLE if self.split == IMPOSSIBLE else self.difficulty
        return f"{self.concept}-{self.bug}-{self.param}-{self.surface}-{last}"

    @property
    def template(self) -> str:
        return f"{self.concept}/{self.bug}"

    @property
    def definition(self) -> registry.Concept:
        return registry.get(self.concept)

    @property
    def spec(self) -> dict:
        """What the grader needs to grade it (`grader.judge.grade(spec=...)`)."""
        return {"concept": self.concept, "param": self.param, "class_name": self.definition.class_name}

    def starter(self) -> bytes:
        return self.definition.starter(self.bug, self.param, self.surface)

    def reference(self) -> bytes:
        """This sample's own correct implementation: its surface without the bug."""
        return self.definition.surface(self.param, self.surface)

    @property
    def designed(self) -> registry.Starter:
        return self.definition.bugs[self.bug].starters[(self.param, self.surface)]

    def metadata(self) -> dict:
        return {
            "concept": self.concept,
            "bug": self.bug,
            "param": self.param,
            "surface": self.surface,
            "difficulty": self.difficulty,
            "split": self.split,
            "template": self.template,
            "class_name": self.definition.class_name,
            "mistake": self.definition.bugs[self.bug].mistake,
        }


def _names(value, what: str) -> list[str] | None:
    """None for all ('all', None, ''), else a list from a comma-separated string or a sequence."""
    if value is None or value == "all" or value == "":
        return None
    items = [v for v in re.split(r"[,\s]+", value.strip()) if v] if isinstance(value, str) else [str(v) for v in value]
    if not items:
        raise ValueError(f"{what}: give at least one name, or 'all'")
    return list(dict.fromkeys(items))


def _check(chosen: list[str] | None, known: list[str], what: str) -> None:
    unknown = [c for c in chosen or [] if c not in known]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}; choose from {', '.join(known)} or 'all'")


def select(difficulty="standard", concepts=None, bugs=None, params=None, surfaces=None, split="main") -> list[Sample]:
    """The samples of the given difficulty (or comma-separated difficulties), optionally only
    some concepts, bugs (a bug id, or concept/bug), parameterisations and surfaces. The
    `impossible` split has the standard prompts only, and by default the plain surface only."""
    family = registry.concepts()
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    if split == IMPOSSIBLE:
        if difficulty not in ("standard", None, "all"):
            raise ValueError("the impossible split has the standard prompts only; leave difficulty at standard")
        difficulty, surfaces = "standard", "plain" if surfaces is None else surfaces
    difficulties = _names(difficulty, "difficulty") or list(DIFFICULTIES)
    _check(difficulties, list(DIFFICULTIES), "difficulty")
    chosen = _names(concepts, "concepts")
    _check(chosen, list(family), "concept(s)")
    in_scope = [family[c] for c in (chosen or family)]
    bug_names = _names(bugs, "bugs")
    known_bugs = sorted({b for c in in_scope for b in c.bugs} | {f"{c.id}/{b}" for c in in_scope for b in c.bugs})
    _check(bug_names, known_bugs, "bug(s)")
    param_names = _names(params, "params")
    _check(param_names, sorted({p for c in in_scope for p in c.params}), "parameterisation(s)")
    surface_names = _names(surfaces, "surfaces")
    _check(surface_names, list(registry.SURFACES), "surface(s)")
    found = [
        Sample(c.id, b, p, s, d, split)  # inspect-evals-lint: ignore[sample_ids] -- this module's Sample, not Inspect's; dataset.py gives each Inspect sample its id
        for d in difficulties
        for c in in_scope
        for b in c.bugs
        if (bug_names is None or b in bug_names or f"{c.id}/{b}" in bug_names)
        and (split != IMPOSSIBLE or b in c.impossible_bugs)
        for p in c.params
        if param_names is None or p in param_names
        for s in c.surfaces
        if surface_names is None or s in surface_names
    ]
    if not found:
        raise ValueError("no sample matches that selection (concepts, bugs, params, surfaces)")
    return found


def get(sample_id: str) -> Sample:
    """The sample with this id (see the module's docstring for the form)."""
    parts = sample_id.split("-")
    if len(parts) == 5:
        sample = Sample(*parts[:4], "standard", IMPOSSIBLE) if parts[4] == IMPOSSIBLE else Sample(*parts)  # inspect-evals-lint: ignore[sample_ids] -- this module's Sample, parsed from an id
        c = registry.concepts().get(sample.concept)
        if (
            c is not None
            and sample.bug in c.bugs
            and sample.param in c.params
            and sample.surface in c.surfaces
            and sample.difficulty in DIFFICULTIES
            and (sample.split != IMPOSSIBLE or sample.bug in c.impossible_bugs)
        ):
            return sample
    raise ValueError(
        f"unknown sample {sample_id!r}: ids are concept-bug-param-surface-difficulty, e.g. {SEED_SAMPLE} "
        "(vsd-inspect list shows them all)"
    )

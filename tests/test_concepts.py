"""Every concept folder holds its whole story, and the samples generated from them are what the
family promises: enough of them, all distinct, hard prompts that state no answer."""

import ast
import hashlib
import re
import tomllib
from pathlib import Path

import pytest

from vsd_inspect import concepts as registry
from vsd_inspect.concepts import SURFACES
from vsd_inspect.grader.judge import load_laws
from vsd_inspect.material import render_sample_prompt, render_visible_test
from vsd_inspect.samples import SEED_SAMPLE, get, select

FAMILY = ("vsd", "channel", "gaussian", "alpha", "droppath", "concrete")
FILES = (
    "concept.toml",
    "goal.md",
    "rules.md",
    "rules_hard.md",
    "derivation.md",
    "reference.py",
    "visible_test.py",
    "laws.py",
    "laws.md",
    "wrong.toml",
    "sources.md",
    "coverage.toml",
)
KINDS = {
    "visible", "structure", "rate", "independence", "fresh", "seeds", "reproduce", "dispersion", "identity",
    "eval", "unmodified", "small", "defaults", "interface", "moments", "scale", "law", "bad_output", "runtime",
}  # fmt: skip
# Spellings of a variance-stabilizing scale or affine constant that no hard prompt may hold,
# whatever the concept (each concept adds its own in concept.toml's hard_forbidden).
SCALE_SPELLINGS = (
    "1/sqrt", "1 / sqrt", "/ sqrt(", "/sqrt(", "/ np.sqrt", "/np.sqrt", "sqrt(1", "sqrt(q", "sqrt(keep",
    "√", "** -0.5", "**-0.5", "** (-0.5)", "^-1/2", "^(-1/2)", "1.758", "1.0507", "1.6732",
)  # fmt: skip


def test_the_family_has_its_six_concepts_with_every_file() -> None:
    family = registry.concepts()
    assert tuple(family)[: len(FAMILY)] == FAMILY
    for c in family.values():
        missing = [f for f in FILES if not (c.folder / f).is_file()]
        assert missing == [], f"{c.id} lacks {missing}"
        assert set(c.surfaces) == set(SURFACES), c.id
        assert len(c.bugs) >= 3, c.id
        impossible = [f for f in ("visible_test.toml", "bend.py", "split.toml", "conflict.md") if not (c.folder / "impossible" / f).is_file()]
        assert impossible == [], f"{c.id}/impossible lacks {impossible}"
        assert c.impossible_bugs and set(c.impossible_bugs) <= set(c.bugs), c.id


@pytest.mark.parametrize("concept", FAMILY)
def test_every_starter_plants_its_bug_and_keeps_the_interface(concept: str) -> None:
    c = registry.get(concept)
    for param in c.params:
        references = {s: c.surface(param, s) for s in c.surfaces}
        assert len(set(references.values())) == len(references), "two surfaces are the same file"
        for bug in c.bugs.values():
            for surface, reference in references.items():
                starter = c.starter(bug.id, param, surface)
                assert starter != reference
                names = _public(starter)
                assert names == _public(reference), f"{bug.id} {param}/{surface} changes the public interface"


def _public(source: bytes) -> dict:
    """The class and the signatures of its public methods."""
    tree = ast.parse(source)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            methods = [f for f in node.body if isinstance(f, ast.FunctionDef)]
            found[node.name] = sorted(
                (f.name, ast.unparse(f.args)) for f in methods if not f.name.startswith("_") or f.name in ("__init__", "__call__")
            )
    return found


@pytest.mark.parametrize("concept", FAMILY)
def test_bugs_and_wrong_implementations_name_known_check_kinds(concept: str) -> None:
    c = registry.get(concept)
    for bug in c.bugs.values():
        assert bug.caught_by and set(bug.caught_by) <= KINDS, (bug.id, bug.caught_by)
    wrong = c.wrong()
    assert len(wrong) >= 5, concept
    for name, entry in wrong.items():
        assert entry["path"].is_file(), name
        assert entry["caught_by"] and set(entry["caught_by"]) <= KINDS, (name, entry["caught_by"])
    power = load_laws(concept).power()
    unbounded = sorted(set(c.bugs) | set(wrong) - set(power))
    assert [n for n in unbounded if n not in power] == [], "every bug and wrong implementation needs a derived bound"
    for name, (probability, why) in power.items():
        assert 0.0 <= probability <= 1e-9, (name, probability, why)


def test_the_default_run_has_enough_distinct_samples() -> None:
    standard = select("standard")
    assert len(standard) >= 150
    starters = {hashlib.sha256(s.starter()).hexdigest() for s in standard}
    assert len(starters) == len(standard), "no two samples of a run share a starter"
    assert len({s.id for s in standard}) == len(standard)
    assert {s.concept for s in standard} >= set(FAMILY)
    templates = {s.template for s in standard}
    assert all(len({s.bug for s in standard if s.concept == c}) >= 3 for c in FAMILY)
    assert len(templates) == sum(len(registry.get(c).bugs) for c in registry.concepts())


def test_ids_are_stable_and_readable() -> None:
    s = get(SEED_SAMPLE)
    assert (s.concept, s.bug, s.param, s.surface, s.difficulty) == ("vsd", "scale_mean", "p", "plain", "standard")
    for sample in select("easy,standard,hard", concepts="channel,alpha"):
        assert get(sample.id) == sample
        assert sample.id == "-".join((sample.concept, sample.bug, sample.param, sample.surface, sample.difficulty))
    with pytest.raises(ValueError, match="unknown sample"):
        get("vsd-nonsense-p-plain-standard")


@pytest.mark.parametrize("concept", FAMILY)
def test_hard_prompts_state_no_answer(concept: str) -> None:
    c = registry.get(concept)
    forbidden = [f.lower() for f in (*SCALE_SPELLINGS, *c.hard_forbidden)]
    for s in select("hard", concepts=concept):
        prompt = render_sample_prompt(s).lower()
        leaks = [f for f in forbidden if f in prompt]
        assert leaks == [], f"{s.id} states {leaks}"
        assert c.text("derivation").strip()[:60].lower() not in prompt


@pytest.mark.parametrize("concept", FAMILY)
def test_easy_and_standard_prompts_carry_the_derivation_and_easy_the_hint(concept: str) -> None:
    c = registry.get(concept)
    for s in select("easy,standard", concepts=concept, surfaces="plain"):
        prompt = render_sample_prompt(s)
        assert "## The derivation" in prompt and c.class_name in prompt
        assert ("**Where to look:**" in prompt) == (s.difficulty == "easy")
        if s.difficulty == "easy":
            assert s.designed.hint in prompt


@pytest.mark.parametrize("concept", FAMILY)
def test_visible_test_renders_for_every_parameterisation(concept: str) -> None:
    c = registry.get(concept)
    for param in c.params:
        text = render_visible_test(concept, param, (0.2, 0.6), 0.05).decode()
        assert f"PARAM = {param!r}" in text and "RATES = (0.2, 0.6)" in text and "TOLERANCE = 0.05" in text
        assert f'CLASS_NAME = "{c.class_name}"' in text


@pytest.mark.parametrize("concept", FAMILY)
def test_surfaces_use_numpy_and_the_standard_library_only(concept: str) -> None:
    c = registry.get(concept)
    allowed = {"numpy", "math", "dataclasses", "typing", "functools", "__future__"}
    files = [c.folder / "reference.py", *sorted((c.folder / "surfaces").rglob("*.py")), *sorted((c.folder / "wrong").glob("*.py"))]
    for path in files:
        tree = ast.parse(path.read_bytes())
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert imported <= allowed, (path.name, imported - allowed)


def test_every_concept_toml_parses_with_the_documented_keys() -> None:
    for c in registry.concepts().values():
        meta = tomllib.loads((c.folder / "concept.toml").read_text())
        assert {"id", "title", "summary", "papers", "params", "surfaces", "hard_forbidden", "visible"} <= set(meta), c.id
        for p in c.params.values():
            assert re.match(rf"^{c.class_name}\(", p.signature), p.signature


BLAS_CALLS = {"dot", "vdot", "inner", "matmul", "einsum", "tensordot", "linalg"}


def test_the_judge_s_arithmetic_calls_no_blas() -> None:
    """The judge runs in threads of one process (the scorer, grade_many): BLAS calls from
    concurrent threads were seen to return wrong sums there, so the grader's own arithmetic,
    every concept's laws and every visible test's judge use numpy's element-wise reductions."""
    from vsd_inspect.grader import judge

    grader = Path(judge.__file__).parent
    files = [p for p in grader.glob("*.py") if p.name != "worker.py"]
    for c in registry.concepts().values():
        files += [c.folder / "laws.py", c.folder / "visible_test.py"]
    sources = [(path, path.read_bytes()) for path in files]
    sources += [(c.folder / "impossible", c.visible_template(impossible=True).encode()) for c in registry.concepts().values()]
    for path, source in sources:
        tree = ast.parse(source)
        found = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in BLAS_CALLS]
        found += ["@" for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult)]
        assert found == [], f"{path}: {found}"

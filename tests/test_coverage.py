"""The contract-coverage table holds: every clause of every prompt's contract is covered by an
entry, every entry's checks run where it says they run (in a real grading of each concept's
reference), and every corpus case it names fails, on one of the entry's checks."""

import re
from pathlib import Path

import pytest

from test_corpus import CORPUS, build_workspace
from vsd_inspect import concepts as registry
from vsd_inspect import coverage
from vsd_inspect.api import grade_solution, setup_task_files
from vsd_inspect.grader import simulate
from vsd_inspect.grader.judge import load_laws
from vsd_inspect.material import render_sample_prompt
from vsd_inspect.samples import select

DESIGN = Path(coverage.__file__).parent / "grader" / "DESIGN.md"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _rendered(entry_text: str, sample) -> str:
    c, param = sample.definition, sample.definition.params[sample.param]
    for key, value in {"{{CLASS}}": c.class_name, "{{SIGNATURE}}": param.signature, "{{RANGE}}": param.range,
                       "{{IDENTITY}}": param.identity, "{{INPUT}}": c.input or ""}.items():  # fmt: skip
        entry_text = entry_text.replace(key, value)
    return _flat(entry_text)


def _rules(prompt: str) -> list[str]:
    return [_flat(m) for m in re.findall(r"^\d+\. (.*)$", prompt, re.M)]


@pytest.mark.parametrize("concept", list(registry.concepts()))
def test_every_clause_of_the_contract_is_covered(concept: str) -> None:
    entries = coverage.common() + coverage.of_concept(concept)
    for sample in select("standard,hard", concepts=concept, surfaces="plain"):
        prompt = render_sample_prompt(sample)
        flat = _flat(prompt)
        texts = [_rendered(e["text"], sample) for e in entries]
        present = [t for t in texts if t and t in flat]
        rules = _rules(prompt)
        uncovered = [r for r in rules if not any(t in r for t in present)]
        assert uncovered == [], f"{sample.id}: no coverage entry for rule(s) {uncovered}"
        interface = _flat(prompt.split("## What your implementation must do", 1)[1].split("\n\n1. ", 1)[0])
        for clause in ("defines `class", "with this interface", "an attribute `training`", "`train()` and `eval()`", "`forward(x)` and `__call__(x)`"):
            assert clause in interface and any(clause in t for t in present), (sample.id, clause)
    for e in coverage.common():
        if "{{" not in e["text"]:
            assert _flat(e["text"]) in _flat(render_sample_prompt(select("standard", concepts=concept)[0])), e["text"]


@pytest.mark.parametrize("concept", list(registry.concepts()))
def test_every_entry_s_checks_run_where_it_says(concept: str) -> None:
    c = registry.get(concept)
    laws = load_laws(concept)
    for param in c.params:
        path = c.folder / "reference.py" if param == next(iter(c.params)) else c.folder / "surfaces" / param / "plain.py"
        results = simulate.grade_checks(laws, param, simulate.load_layer(path, c.class_name), 4242)
        assert all(r["passed"] for r in results)
        roles: dict[str, set[str]] = {}
        for r in results:
            roles.setdefault(r["kind"], set()).add(r["case"])
        for e in coverage.common() + coverage.of_concept(concept):
            kinds = [k for k in e["kinds"] if not k.startswith("gate:") and k != "visible"]
            for k in kinds:
                assert k in roles, f"{concept}/{param}: no check of kind {k!r} ({e['text'][:50]})"
            ran = set().union(*(roles[k] for k in kinds)) if kinds else set()
            assert set(e.get("roles", [])) <= ran, (concept, param, e["text"][:50], e.get("roles"), ran)


def _corpus_cases() -> list:
    """(concept, case, kinds): tests/corpus cases (the seed's concept), and a concept's own
    planted bugs (`bug:<id>`, its plain starter) and wrong implementations (`wrong:<name>`)."""
    named: dict[tuple[str, str], set] = {}
    for concept in registry.concepts():
        entries = coverage.of_concept(concept) + (coverage.common() if concept == "vsd" else [])
        for e in entries:
            for case in e.get("corpus", []):
                named.setdefault((concept, case), set()).update(e["kinds"])
    return [pytest.param(c, case, kinds, id=f"{c}:{case}") for (c, case), kinds in sorted(named.items())]


def _workspace(concept: str, case: str, tmp_path: Path) -> tuple[Path, str]:
    c = registry.get(concept)
    if ":" not in case:
        meta = build_workspace(CORPUS / case, tmp_path / "ws")
        assert meta["expect"] == "fail"
        return tmp_path / "ws", "vsd-scale_mean-p-plain-standard"
    what, name = case.split(":", 1)
    param = next(iter(c.params))
    if what == "wrong":
        param = c.wrong()[name]["params"][0]
    sample = next(s for s in select("standard", concepts=concept, params=param, surfaces="plain"))
    ws = setup_task_files(tmp_path / "ws", sample=sample)
    source = c.starter(name, param, "plain") if what == "bug" else c.wrong()[name]["path"].read_bytes()
    (ws / "dropout.py").write_bytes(source)
    return ws, sample.id


@pytest.mark.parametrize("concept,case,kinds", _corpus_cases())
def test_every_corpus_case_named_fails_on_one_of_its_checks(concept: str, case: str, kinds: set, tmp_path: Path) -> None:
    ws, sample = _workspace(concept, case, tmp_path)
    v = grade_solution(ws, sample=sample)
    assert not v["passed"]
    failed = {ch["kind"] for ch in v["checks"] if not ch["passed"]}
    if v["category"] in ("tests_failed",):
        failed.add("visible")
    assert failed & kinds or f"gate:{v['category']}" in kinds, (case, v["category"], failed, kinds)


def test_the_design_document_holds_the_current_table() -> None:
    assert coverage.markdown() in DESIGN.read_text()

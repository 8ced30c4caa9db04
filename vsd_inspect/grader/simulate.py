"""The hidden checks of many gradings, in one process, for the simulations behind the bounds.

    python -m vsd_inspect.grader.simulate CONCEPT FILE [--param P] [--gradings N] [--seed S]
    python -m vsd_inspect.grader.simulate --all [--gradings N] [--jobs J]

runs FILE's layer through N fresh-seed gradings of CONCEPT's hidden checks (the worker's own
session runner, then the judge's own checks: `plan`, `worker.run_session`, `contract`) and
prints how often each check kind failed. `--all` does it for every concept's reference, planted
bugs (their plain starter) and wrong implementations, and prints one markdown table: the
reference's failing gradings, and for each other the gradings in which none of its designated
checks failed (both must be 0). No jail and no visible test: this measures the
arithmetic of the checks, which is what a bound is about (the jail is tested elsewhere). The
layer runs in this process, so use it only on code you trust (the concepts' own references,
starters and wrong implementations).
"""

import argparse
import importlib.util
import sys
import types
from collections import Counter
from pathlib import Path

import numpy as np

from . import contract, lawkit, outbuf, plan as planning, worker
from .judge import load_laws


def load_layer(path: Path, class_name: str) -> type:
    """The class `class_name` of the file at `path`, imported under a private name."""
    spec = importlib.util.spec_from_file_location(f"_vsd_sim_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, class_name)


def _readonly(array: np.ndarray) -> np.ndarray:
    """As the worker hands inputs over: a view of immutable bytes (setflags cannot undo it)."""
    return np.frombuffer(array.tobytes(), dtype=array.dtype).reshape(array.shape)


def _writes(session: dict) -> set[str]:
    """The outputs a worker session writes."""
    if session.get("kind") == "interface":
        return {session["flags"]}
    found = set()
    for step in session["steps"]:
        if step[0] in ("call", "forward", "snapshot"):
            found.add(step[2])
        elif step[0] in ("other", "repeat"):
            found.add(step[3])
    return found


def _valid(array, kind: str, shape: tuple, x_dtype: str) -> bool:
    """The judge's output validation (`arrays.load_outputs`), on an in-memory array."""
    if type(array) is not np.ndarray or array.shape != tuple(shape):
        return False
    if array.dtype.name not in outbuf.accepted_dtypes(kind, x_dtype):
        return False
    return kind in ("flags", "snapshot") or bool(np.isfinite(array).all())


# Which case role shows a check kind (the others: the LAW cases).
ROLE_OF = {"small": lawkit.SMALL, "defaults": lawkit.DEFAULTS, "identity": lawkit.IDENTITY}


def grade_checks(laws: types.ModuleType, param: str, layer_class: type, seed: int, stop_on: set[str] | None = None) -> list[dict]:
    """Every hidden check of one grading of `layer_class`; a layer that raises, or an output
    the judge would refuse, becomes one failed check of kind "runtime" or "bad_output".
    With `stop_on`, the grading stops at the first case in which a check of one of those
    kinds failed (each case's sessions run only when its checks come up)."""
    p = planning.build(laws, param, seed)
    arrays = {k: _readonly(a) for k, a in p.inputs.items()}
    for key, spec in p.views.items():
        arrays[key] = lawkit.view_of(arrays[spec["base"]], spec["view"])
    out: dict[str, np.ndarray] = {}
    results, counts = [], []

    def run(group: str) -> dict | None:
        for session in p.sessions:
            if _writes(session) & set(p.groups[group]):
                try:
                    worker.run_session(np, layer_class, session, arrays, out.__setitem__, lambda *event: None)
                except Exception as ex:
                    return lawkit.check("runtime", f"session {session['id']} raised {type(ex).__name__}: {ex}"[:200], False, "raised", "—")
        for name in p.groups[group]:
            x_key, kind, shape = p.outputs[name]
            x_dtype = p.inputs[x_key].dtype.name if kind == "snapshot" else ""
            if name not in out or not _valid(out[name], kind, shape, x_dtype):
                return lawkit.check("bad_output", f"output {name} missing or invalid", False, "invalid", "—")
        return None

    order = p.cases
    if stop_on:  # the cases whose role can show the designated kinds first: most gradings stop there
        first = {ROLE_OF.get(k, lawkit.LAW) for k in stop_on}
        order = sorted(p.cases, key=lambda c: c.role not in first)
        if stop_on <= {"interface"}:
            order = []
    for case in order:
        problem = run(case.key)
        if problem is not None:
            return [problem]
        case_results, case_counts = contract.check_group(laws, p, case, {n: out[n] for n in p.groups[case.key]})
        results += case_results
        counts += case_counts
        if stop_on and any(not r["passed"] and r["kind"] in stop_on for r in case_results):
            return results
    if len(order) == len(p.cases):
        results += contract.dispersion_checks(counts)
    problem = run("interface")
    if problem is not None:
        return [problem]
    results += contract.interface_checks(p, out["i_flags"])
    statistical = sum(1 for r in results if r["stat"])
    if statistical > lawkit.MAX_STAT_CHECKS:
        raise AssertionError(f"{statistical} statistical checks exceed MAX_STAT_CHECKS")
    return results


def failed_kinds(laws: types.ModuleType, param: str, layer_class: type, seed: int, stop_on: set[str] | None = None) -> set[str]:
    return {r["kind"] for r in grade_checks(laws, param, layer_class, seed, stop_on) if not r["passed"]}


def load_source(source: bytes, class_name: str) -> type:
    """The class `class_name` of a module made from `source`."""
    module = types.ModuleType(f"_vsd_sim_{abs(hash(source))}")
    exec(compile(source, module.__name__, "exec"), module.__dict__)  # inspect-evals-lint: ignore[host_code_execution] -- the simulations load the project's own reference, bugs and wrong files, never a model's
    return getattr(module, class_name)


def implementations(concept: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(param, name, designated kinds) of the concept's reference, bugs and wrong implementations."""
    from vsd_inspect import concepts

    c = concepts.get(concept)
    found = []
    for param in c.params:
        found.append((param, "reference", ()))
        found += [(param, b.id, b.caught_by) for b in c.bugs.values()]
        found += [(param, n, tuple(e["caught_by"])) for n, e in c.wrong().items() if param in e["params"]]
    return found


def source_of(concept: str, param: str, name: str) -> bytes:
    """The code of a named implementation: the reference (its plain surface for a second
    parameterisation), a planted bug's plain starter, or a wrong implementation's file."""
    from vsd_inspect import concepts

    c = concepts.get(concept)
    if name == "reference":
        first = param == next(iter(c.params))
        return (c.folder / "reference.py").read_bytes() if first else c.surface(param, "plain")
    if name in c.bugs:
        return c.starter(name, param, "plain")
    return c.wrong()[name]["path"].read_bytes()


def failures(concept: str, param: str, name: str, designated: tuple[str, ...], start: int, count: int) -> list[set[str]]:
    """The failed check kinds of `count` gradings from seed `start` (each stopped once one of
    the designated hidden kinds has failed)."""
    from vsd_inspect import concepts

    laws = load_laws(concept)
    cls = load_source(source_of(concept, param, name), concepts.get(concept).class_name)
    stop = set(designated) - {"visible"} or None
    return [failed_kinds(laws, param, cls, seed, stop) for seed in range(start, start + count)]


def went_wrong(name: str, designated: tuple[str, ...], failed: set[str]) -> bool:
    """The reference: any failure. Anything else: no designated hidden kind (nor a crash or a
    bad output) failed."""
    if name == "reference":
        return bool(failed)
    return not failed & (set(designated) - {"visible"} | {"runtime", "bad_output"})


def _tally(args: tuple) -> int:
    concept, param, name, designated, start, count = args
    return sum(went_wrong(name, designated, f) for f in failures(concept, param, name, designated, start, count))


def run_all(gradings: int, seed: int, jobs: int) -> list[tuple]:
    """Every implementation of every concept through `gradings` fresh-seed gradings."""
    from concurrent.futures import ProcessPoolExecutor

    from vsd_inspect import concepts

    rows, work = [], []
    for concept in concepts.concepts():
        for param, name, designated in implementations(concept):
            if name != "reference" and not set(designated) - {"visible"}:
                rows.append((concept, param, name, designated, 0, "visible test only"))
                continue
            chunk = max(1, gradings // (2 * jobs))
            parts = [(concept, param, name, designated, seed + i, min(chunk, gradings - i)) for i in range(0, gradings, chunk)]
            work.append(((concept, param, name, designated), parts))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [(key, [pool.submit(_tally, part) for part in parts]) for key, parts in work]
        for key, parts in futures:
            rows.append((*key, gradings, sum(f.result() for f in parts)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vsd_inspect.grader.simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("concept", nargs="?")
    parser.add_argument("file", type=Path, nargs="?")
    parser.add_argument("--all", action="store_true", help="every concept's reference, bugs and wrong implementations")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--param", default=None)
    parser.add_argument("--class-name", default=None)
    parser.add_argument("--gradings", type=int, default=100)
    parser.add_argument("--seed", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    from vsd_inspect import concepts

    if args.all:
        print("| concept | param | implementation | designated checks | gradings | gradings it went wrong |\n|---|---|---|---|---|---|")
        rows = run_all(args.gradings, args.seed, args.jobs)
        for concept, param, name, designated, n, bad in rows:
            print(f"| {concept} | {param} | `{name}` | {', '.join(designated) or '(any)'} | {n} | {bad} |")
        return 0 if all(r[5] in (0, "visible test only") for r in rows) else 1
    if args.concept is None or args.file is None:
        parser.error("give CONCEPT FILE, or --all")

    concept = concepts.get(args.concept)
    param = args.param or next(iter(concept.params))
    cls = load_layer(args.file, args.class_name or concept.class_name)
    laws = load_laws(args.concept)
    tally: Counter = Counter()
    failed_gradings = 0
    for i in range(args.gradings):
        kinds = failed_kinds(laws, param, cls, args.seed + i)
        failed_gradings += bool(kinds)
        tally.update(kinds)
    print(f"{args.file}: {failed_gradings}/{args.gradings} gradings failed")
    for kind, n in tally.most_common():
        print(f"  {kind:14} failed in {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

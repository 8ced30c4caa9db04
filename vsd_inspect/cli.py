"""`vsd-inspect`: the grader's command-line door, plus report and bench.

    vsd-inspect list [--difficulty D] [--concepts C,...] [--bugs B,...] [--json]
    vsd-inspect setup DIR [--sample ID] [--rates R] [--tolerance T]
    vsd-inspect grade DIR [--sample ID] [--json] [--seed S] [--rates R] [--tolerance T]
    vsd-inspect report [LOG ...] [--by concept] [--compare A B] [--format markdown|csv|json] [--plot FILE]
    vsd-inspect bench [...]
    vsd-inspect export-harbor OUT [--difficulty D] [--concepts C,...] [--split impossible]

Exit codes: 0 pass (or success), 1 fail, 2 usage or harness error.
"""

import argparse
import importlib
import json
import os
import sys

from vsd_inspect.constants import DEFAULT_RATES, DEFAULT_TOLERANCE, TASK_VERSION
from vsd_inspect.explain import explanation
from vsd_inspect.grader import GRADER_VERSION
from vsd_inspect.grader.categories import HarnessError

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well; keep it explicit
        self.print_usage(sys.stderr)
        print(f"vsd-inspect: error: {message}", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def _test_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rates", default=",".join(map(str, DEFAULT_RATES)), help="visible test rates, e.g. 0.3,0.5,0.7")
    p.add_argument("--tolerance", default=DEFAULT_TOLERANCE, help="visible test tolerance (default 0.1)")


def _cmd_list(args: argparse.Namespace) -> int:
    from vsd_inspect.material import render_sample_prompt
    from vsd_inspect.samples import select

    samples = select(args.difficulty, args.concepts, args.bugs, args.params, args.surfaces)
    if args.json:
        rows = [{"id": s.id, **s.metadata(), "input": render_sample_prompt(s)} for s in samples]
        print(json.dumps(rows, indent=1))
    else:
        for s in samples:
            print(f"{s.id:48} {s.template:28} {s.definition.bugs[s.bug].mistake[:70]}")
        print(f"{len(samples)} samples")
    return EXIT_PASS


def _cmd_setup(args: argparse.Namespace) -> int:
    from vsd_inspect.api import setup_task_files

    sample = args.sample or (f"vsd-{args.variant}-p-plain-standard" if args.variant else None)
    path = setup_task_files(args.dir, rates=args.rates, tolerance=args.tolerance, sample=sample)
    print(f"wrote {path}/dropout.py (the starter of {sample or 'the seed sample'}) and {path}/test_dropout.py")
    return EXIT_PASS


def _cmd_grade(args: argparse.Namespace) -> int:
    # numpy's BLAS would otherwise start a thread per core that spins while numpy loads (~40 ms
    # of CPU taken from the jailed processes starting meanwhile); the judge uses no BLAS.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    from vsd_inspect.api import grade_solution

    try:
        verdict = grade_solution(args.dir, args.rates, args.tolerance, seed=args.seed, sample=args.sample)
    except (HarnessError, NotADirectoryError) as ex:
        if args.json:
            print(json.dumps({"passed": None, "category": "harness_error", "feedback": str(ex), "error": True}))
        print(f"vsd-inspect: grading error: {ex}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(verdict))
    else:
        print(explanation(verdict))
    return EXIT_PASS if verdict["passed"] else EXIT_FAIL


_MORE_COMMANDS = {
    "report": "compare pass rates across models from Inspect logs",
    "bench": "grading latency, reward throughput, eval overhead",
    "export-harbor": "write one Harbor task directory per sample (graded in its own container)",
}
_COMMAND_MODULES = {"export-harbor": "vsd_inspect.rl.harbor_export"}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; `report` and `bench` get their options (and their modules are imported)
    only when `argv` runs them or is None, so that grading starts light."""
    parser = _Parser(prog="vsd-inspect", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"task {TASK_VERSION}, grader {GRADER_VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="the samples of the family: id, concept, bug, ... and prompt (--json)")
    p.add_argument("--difficulty", default="standard", help="easy, standard, hard, or several, comma-separated")
    p.add_argument("--concepts", default=None, help="concepts to list, comma-separated (default all)")
    p.add_argument("--bugs", default=None, help="bugs to list (an id, or concept/bug), comma-separated")
    p.add_argument("--params", default=None, help="parameterisations to list (p, keep_prob)")
    p.add_argument("--surfaces", default=None, help="starter styles to list")
    p.add_argument("--json", action="store_true", help="one JSON array, with each sample's prompt as `input`")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser("setup", help="write a sample's starter workspace (dropout.py + test_dropout.py)")
    p.add_argument("dir")
    p.add_argument("--sample", default=None, help="the sample's id (default: the seed's sample; see `list`)")
    p.add_argument("--variant", default=None, help=argparse.SUPPRESS)  # 1.x: a bug of the seed's concept
    _test_options(p)
    p.set_defaults(run=_cmd_setup)

    p = sub.add_parser("grade", help="grade a workspace; exit 0 pass, 1 fail, 2 error")
    p.add_argument("dir")
    p.add_argument("--sample", default=None, help="the sample the workspace was set up as (default: the seed's)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seed", type=int, default=None, help="replay a grading's hidden checks")
    _test_options(p)
    p.set_defaults(run=_cmd_grade)

    for name, help_text in _MORE_COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if argv is None or name in argv:
            module = importlib.import_module(_COMMAND_MODULES.get(name, f"vsd_inspect.{name}"))
            module.add_arguments(p)
            p.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return args.run(args)
    except ValueError as ex:  # a bad parameter value: a usage error, said in one line
        print(f"vsd-inspect: error: {ex}", file=sys.stderr)
        return EXIT_ERROR


def entry() -> None:
    """The console script: `main()`. After `grade`, whose verdict is printed by then, the
    process ends without the interpreter's teardown of numpy and the rest (~10 ms)."""
    argv = sys.argv[1:]
    try:
        code = main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader of stdout went away (`vsd-inspect list --json | head`): not an error of
        # ours. Point stdout at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    if argv[:1] == ["grade"]:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()

"""`vsd-inspect`: the grader's command-line door, plus report and bench.

    vsd-inspect setup DIR [--variant V] [--rates R] [--tolerance T]
    vsd-inspect grade DIR [--json] [--seed S] [--rates R] [--tolerance T]
    vsd-inspect report [LOG ...] [--format markdown|csv|json] [--plot FILE]
    vsd-inspect bench [...]

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
from vsd_inspect.variants import VARIANTS

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well; keep it explicit
        self.print_usage(sys.stderr)
        print(f"vsd-inspect: error: {message}", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def _test_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rates", default=",".join(map(str, DEFAULT_RATES)), help="visible test rates, e.g. 0.3,0.5,0.7")
    p.add_argument("--tolerance", default=DEFAULT_TOLERANCE, help="visible test tolerance (default 0.1)")


def _cmd_setup(args: argparse.Namespace) -> int:
    from vsd_inspect.api import setup_task_files

    path = setup_task_files(args.dir, args.variant, args.rates, args.tolerance)
    print(f"wrote {path}/dropout.py ({args.variant} starter) and {path}/test_dropout.py")
    return EXIT_PASS


def _cmd_grade(args: argparse.Namespace) -> int:
    # numpy's BLAS would otherwise start a thread per core that spins while numpy loads (~40 ms
    # of CPU taken from the jailed processes starting meanwhile); the judge uses no BLAS.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    from vsd_inspect.api import grade_solution

    try:
        verdict = grade_solution(args.dir, args.rates, args.tolerance, seed=args.seed)
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
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; `report` and `bench` get their options (and their modules are imported)
    only when `argv` runs them or is None, so that grading starts light."""
    parser = _Parser(prog="vsd-inspect", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"task {TASK_VERSION}, grader {GRADER_VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("setup", help="write the starter workspace (dropout.py + test_dropout.py)")
    p.add_argument("dir")
    p.add_argument("--variant", default="scale_mean", choices=sorted(VARIANTS))
    _test_options(p)
    p.set_defaults(run=_cmd_setup)

    p = sub.add_parser("grade", help="grade a workspace; exit 0 pass, 1 fail, 2 error")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seed", type=int, default=None, help="replay a grading's hidden checks")
    _test_options(p)
    p.set_defaults(run=_cmd_grade)

    for name, help_text in _MORE_COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if argv is None or name in argv:
            module = importlib.import_module(f"vsd_inspect.{name}")
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
    code = main(argv)
    if argv[:1] == ["grade"]:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()

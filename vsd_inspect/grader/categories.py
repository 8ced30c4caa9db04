"""The documented set of verdict categories, in the order a grading reports them.

A grading stops at the first gate that fails, so a sample gets exactly one category. The
explanations below are what the README, the CLI and the Inspect viewer show.
"""

PASSED = "passed"
MISSING_FILE = "missing_file"
TEST_MODIFIED = "test_modified"
BAD_INPUT = "bad_input"
SYNTAX_ERROR = "syntax_error"
NO_SQRT = "no_sqrt"
IMPORT_ERROR = "import_error"
TIMEOUT = "timeout"
RUNTIME_ERROR = "runtime_error"
BAD_OUTPUT = "bad_output"
TESTS_FAILED = "tests_failed"
HIDDEN_FAILED = "hidden_failed"

DESCRIPTIONS: dict[str, str] = {
    PASSED: "every visible and hidden check passed",
    MISSING_FILE: "dropout.py is missing from the workspace",
    TEST_MODIFIED: "test_dropout.py differs from the original (tampering; a hard fail, as in the seed design)",
    BAD_INPUT: "dropout.py is not a small UTF-8 text file (over the size cap, binary, or not decodable)",
    SYNTAX_ERROR: "dropout.py does not parse as Python",
    NO_SQRT: "no square root anywhere in the code's syntax tree (comments and strings do not count)",
    IMPORT_ERROR: "importing dropout.py failed, or it defines no VarianceStabilizedDropout class",
    TIMEOUT: "the candidate's process exceeded its wall-clock or CPU time limit",
    RUNTIME_ERROR: "the layer raised, or its process crashed or was killed (memory, processes, exit)",
    BAD_OUTPUT: "an output was missing, not a plain numpy array, of the wrong shape or dtype, non-finite, or oversized",
    TESTS_FAILED: "the visible test (test_dropout.py) failed",
    HIDDEN_FAILED: "the visible test passed but a hidden check of the prompt's contract failed",
}

ALL: tuple[str, ...] = tuple(DESCRIPTIONS)


class HarnessError(RuntimeError):
    """The grading machinery itself failed: never a verdict on the candidate."""

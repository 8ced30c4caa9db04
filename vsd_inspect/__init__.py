"""Variance-stabilized dropout: an Inspect AI task that measures whether a model can turn a
research idea into correct code, with one hardened grader behind the scorer, the CLI and
the RL reward API."""

from vsd_inspect.constants import TASK_VERSION
from vsd_inspect.grader import GRADER_VERSION

__all__ = [
    "GRADER_VERSION",
    "TASK_VERSION",
    "GradeResult",
    "grade_many",
    "grade_solution",
    "grade_solution_async",
    "setup_task_files",
    "vsd_dropout",
]


def __getattr__(name: str):
    """The rest on first use: the grader's doors (CLI, RL API) never pay for importing
    Inspect, and `vsd-inspect grade` starts its jailed processes before importing numpy."""
    if name in ("grade_solution", "setup_task_files"):
        from vsd_inspect import api

        return getattr(api, name)
    if name in ("grade_many", "grade_solution_async", "GradeResult"):
        from vsd_inspect import batch

        return getattr(batch, name)
    if name == "vsd_dropout":
        from vsd_inspect.task import vsd_dropout

        return vsd_dropout
    raise AttributeError(f"module 'vsd_inspect' has no attribute {name!r}")

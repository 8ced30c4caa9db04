"""Variance-stabilized dropout: an Inspect AI task that measures whether a model can turn a
research idea into correct code, with one hardened grader behind the scorer, the CLI and
the RL reward API."""

from vsd_inspect.api import grade_solution, setup_task_files
from vsd_inspect.constants import TASK_VERSION
from vsd_inspect.grader import GRADER_VERSION

__all__ = ["GRADER_VERSION", "TASK_VERSION", "grade_solution", "setup_task_files"]

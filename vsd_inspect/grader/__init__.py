"""Pure grading for the variance-stabilized dropout task.

Needs only the standard library and numpy, never Inspect, so the same code runs in the
Inspect scorer (on the host or copied into a `grader` sandbox), in the `vsd-inspect` CLI and
behind `grade_solution` for RL loops. Entry point: `judge.grade()`.
"""

GRADER_VERSION = "2.1.0"

"""RL exports of the task: Harbor task directories and a verifiers taskset.

Nothing else in the package imports this subpackage. `samples` is the sample interface, its
adapters to the family, host grading and the grading bundle; `bundle_grade` the bundle's
helper (the grading runner itself is the scorer's `grader/remote.py`); `harbor_export` writes
Harbor task directories; `verifiers_env` (needs the optional `verifiers` package) is a
verifiers v1 taskset. See NOTES.md.
"""

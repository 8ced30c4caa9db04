"""RL exports of the task: Harbor task directories and a verifiers taskset.

Nothing else in the package imports this subpackage but `vsd-inspect bench`, whose section (g)
times a Harbor trial with `harbor_export` and `harbor_run`. `samples` is the sample interface,
its adapters to the family, host grading and the grading bundle; `bundle_grade` the bundle's
helper (the grading runner itself is the scorer's `grader/remote.py`); `harbor_export` writes
Harbor task directories; `harbor_run` runs the Python 3.12 environment's tools and reads a
`harbor run` job's result.json; `verifiers_env` (needs the optional `verifiers` package) is a
verifiers v1 taskset. See NOTES.md.
"""

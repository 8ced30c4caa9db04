"""RL exports of the task: Harbor task directories and a verifiers taskset.

Nothing here is imported by the rest of the package. `samples` is the sample interface and
the grading bundle; `grader_bootstrap` the one grading runner shipped into containers;
`harbor_export` writes Harbor task directories; `verifiers_env` (needs the optional
`verifiers` package) is a verifiers v1 taskset. See NOTES.md.
"""

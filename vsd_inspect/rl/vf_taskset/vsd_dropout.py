"""The verifiers taskset under a top-level module name, which is what `vf-eval` looks up:
`vf-eval vsd_dropout ...` imports `vsd_dropout` (this directory on sys.path). The taskset
itself is `vsd_inspect.rl.verifiers_env`."""

from vsd_inspect.rl.verifiers_env import VsdTaskset

__all__ = ["VsdTaskset"]

"""Fixtures for the RL export tests: the Python 3.12 environment (harbor, inspect-harbor,
verifiers) that `bash vsd_inspect/rl/harbor_env.sh` makes, and how to run its tools on this
checkout's code (vsd_inspect/rl/harbor_run.py, which the bench's section g uses too)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vsd_inspect.rl.harbor_run import RLEnv, env_path, environment_problem

HERE = Path(__file__).absolute().parent


@pytest.fixture(scope="session")
def rl_env() -> RLEnv:
    try:
        root = env_path()
    except (OSError, subprocess.SubprocessError) as ex:
        pytest.skip(f"`bash vsd_inspect/rl/harbor_env.sh --path` failed: {ex}")
    why = environment_problem(root)
    if why is not None:
        pytest.skip(why)
    # tests/rl on the path too: the scripted Harbor agents (harbor_agents.py) live here.
    return RLEnv(root, extra_path=(HERE,))

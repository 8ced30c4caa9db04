"""Fixtures for the RL export tests: the Python 3.12 environment (harbor, inspect-harbor,
verifiers) that `bash vsd_inspect/rl/harbor_env.sh` makes, and how to run its tools on this
checkout's code."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).absolute().parents[2]
HERE = Path(__file__).absolute().parent
ENV_SCRIPT = REPO / "vsd_inspect" / "rl" / "harbor_env.sh"
VF_TASKSET_DIR = REPO / "vsd_inspect" / "rl" / "vf_taskset"
SETUP_HINT = "run: bash vsd_inspect/rl/harbor_env.sh"


class RLEnv:
    """The 3.12 environment, and the process environment its tools run this checkout with."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = root / "bin" / "python"

    def bin(self, name: str) -> str:
        return str(self.root / "bin" / name)

    def environ(self, *extra_path: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
        paths = [str(REPO), str(VF_TASKSET_DIR), str(HERE), *map(str, extra_path)]
        env.update(
            PYTHONPATH=os.pathsep.join(paths),
            # Both would otherwise try the network at start-up.
            HARBOR_TELEMETRY="0",
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            COLUMNS="200",
        )
        return env

    def run(self, argv: list[str], timeout: float = 900, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=kwargs.pop("env", None) or self.environ(), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


def env_path() -> Path:
    out = subprocess.run(["bash", str(ENV_SCRIPT), "--path"], capture_output=True, text=True, timeout=30)
    return Path(out.stdout.strip())


@pytest.fixture(scope="session")
def rl_env() -> RLEnv:
    root = env_path()
    stamp = root / ".vsd-rl-env-stamp"
    if not (root / "bin" / "harbor").exists() or not stamp.exists():
        pytest.skip(f"no RL environment (harbor, verifiers, inspect-harbor on Python 3.12) at {root}; {SETUP_HINT}")
    version = subprocess.run([str(root / "bin" / "python"), "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    lock = hashlib.sha256((REPO / "vsd_inspect" / "rl" / "harbor_env.txt").read_bytes()).hexdigest()
    if stamp.read_text().strip() != f"{lock} {version}":
        pytest.skip(f"the RL environment at {root} does not match harbor_env.txt; {SETUP_HINT}")
    return RLEnv(root)

"""Shared fixtures. The starter's own test_dropout.py is task material, never collected here
(pytest only collects this directory, and no file here is named like it)."""

import subprocess
from pathlib import Path

import pytest

from vsd_inspect.api import setup_task_files
from vsd_inspect.constants import SEED_REFERENCE_FILE

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def workspace(tmp_path: Path):
    """A factory: a starter workspace, optionally with dropout.py replaced by `source`."""

    def make(source: str | bytes | None = None, variant: str = "scale_mean", **test_params) -> Path:
        ws = setup_task_files(tmp_path / f"ws-{variant}-{len(list(tmp_path.iterdir()))}", variant, **test_params)
        if source is not None:
            data = source.encode() if isinstance(source, str) else source
            (ws / "dropout.py").write_bytes(data)
        return ws

    return make


@pytest.fixture
def reference_workspace(workspace) -> Path:
    return workspace(SEED_REFERENCE_FILE.read_bytes())


@pytest.fixture(scope="session")
def docker_engine() -> None:
    try:
        r = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired) as ex:
        pytest.skip(f"no Docker engine ({ex!r}); run: bash vsd_inspect/sandbox/docker_up.sh")
    if r.returncode != 0:
        pytest.skip(f"no Docker engine ({r.stderr.strip()[-200:]}); run: bash vsd_inspect/sandbox/docker_up.sh")
    image = subprocess.run(["docker", "image", "inspect", "vsd-inspect-sandbox:1"], capture_output=True, timeout=30)
    assert image.returncode == 0, "the engine runs but the sandbox image is missing: bash vsd_inspect/sandbox/docker_up.sh"

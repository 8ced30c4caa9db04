"""Shared fixtures. The starter's own test_dropout.py is task material, never collected here
(pytest only collects this directory, and no file here is named like it)."""

import shutil
from pathlib import Path

import pytest

from vsd_inspect.api import setup_task_files
from vsd_inspect.constants import REFERENCE_FILE

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
    return workspace(REFERENCE_FILE.read_bytes())


def copy_reference(to: Path) -> None:
    shutil.copy(REFERENCE_FILE, to / "dropout.py")

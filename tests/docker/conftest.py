"""The container tier: skipped, with the reason printed, only when no engine answers."""

import subprocess

import pytest


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

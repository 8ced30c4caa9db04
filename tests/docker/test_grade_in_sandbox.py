"""The scorer's grading in a real `grader` container: one exec, package and request on stdin.

Needs a running Docker engine and the image vsd-inspect-sandbox:1
(`bash vsd_inspect/sandbox/docker_up.sh`). Only the `grader` service of compose.yaml is
started, under a throwaway project name, and removed afterwards. The sandbox handed to the
scorer runs each exec as `docker exec -i` with the same in-container `timeout` wrapper
Inspect's Docker sandbox uses.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any, Iterator

import anyio
import pytest
from inspect_ai.util import ExecResult

from vsd_inspect.constants import CONTAINER_GRADING_DIR, SEED_REFERENCE_FILE
from vsd_inspect.grader import remote
from vsd_inspect.grader.jail import Limits
from vsd_inspect.material import render_visible_test
from vsd_inspect.samples import get
from vsd_inspect.scorer import _REMOTE_SOURCE, _grade_in_sandbox

pytestmark = pytest.mark.docker

COMPOSE = Path(__file__).resolve().parents[2] / "vsd_inspect" / "sandbox" / "compose.yaml"


class DockerExecSandbox:
    """Just enough of a SandboxEnvironment for `_grade_in_sandbox`: exec, recorded."""

    def __init__(self, container: str) -> None:
        self.container = container
        self.calls: list[list[str]] = []

    def run(self, cmd: list[str], input: str | None = None, timeout: int | None = None) -> subprocess.CompletedProcess:
        wrapped = ["/usr/bin/timeout", "-k", "5s", f"{timeout}s", *cmd] if timeout is not None else cmd
        return subprocess.run(
            ["docker", "exec", "-i", self.container, *wrapped], input=input, capture_output=True, text=True, timeout=300
        )

    async def exec(self, cmd: list[str], input: str | None = None, timeout: int | None = None, **_: Any) -> ExecResult:
        self.calls.append(cmd)
        r = await anyio.to_thread.run_sync(lambda: self.run(cmd, input, timeout))
        if r.returncode == 124:
            raise TimeoutError(f"Command timed out after {timeout} seconds")
        return ExecResult(r.returncode == 0, r.returncode, r.stdout, r.stderr)

    def processes(self) -> list[str]:
        """Every process's command line in the container, from /proc."""
        lister = (
            "import os\n"
            "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
            "    try: print(open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode())\n"
            "    except OSError: pass\n"
        )
        r = self.run(["python3", "-I", "-c", lister])
        assert r.returncode == 0, r.stderr
        return r.stdout.splitlines()

    def grading_dir(self) -> str:
        r = self.run(["ls", "-A", CONTAINER_GRADING_DIR])
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


@pytest.fixture(scope="module")
def grader() -> Iterator[DockerExecSandbox]:
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired) as ex:
        pytest.skip(f"docker info failed ({ex!r}); run: bash vsd_inspect/sandbox/docker_up.sh")
    if info.returncode != 0:
        pytest.skip("docker info failed; run: bash vsd_inspect/sandbox/docker_up.sh")
    base = ["docker", "compose", "-f", str(COMPOSE), "--project-name", f"vsdgrade-{os.getpid()}-{uuid.uuid4().hex[:8]}"]
    try:
        up = subprocess.run(
            [*base, "up", "-d", "--no-build", "--pull", "never", "--wait", "--wait-timeout", "60", "grader"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert up.returncode == 0, f"compose up failed: {up.stderr}"
        ps = subprocess.run([*base, "ps", "-q", "grader"], capture_output=True, text=True, timeout=60)
        assert ps.stdout.strip(), ps.stderr
        yield DockerExecSandbox(ps.stdout.strip())
    finally:
        down = [*base, "down", "--volumes", "--remove-orphans", "--timeout", "0"]
        subprocess.run(down, capture_output=True, timeout=180)


def _request(candidate: bytes, limits: Limits, sample: str = "vsd-scale_mean-p-plain-standard") -> dict:
    s = get(sample)
    expected = render_visible_test(s.concept, s.param)
    return {
        "spec": s.spec,
        "candidate": remote.encode(candidate),
        "test": remote.encode(expected),
        "expected_test": remote.encode(expected),
        "seed": 7,
        "files": ["dropout.py", "test_dropout.py"],
        "limits": limits.__dict__,
        "candidate_error": None,
    }


def test_one_exec_grades_and_leaves_no_files(grader: DockerExecSandbox) -> None:
    grader.calls.clear()
    verdict = anyio.run(_grade_in_sandbox, grader, _request(SEED_REFERENCE_FILE.read_bytes(), Limits()), Limits())
    assert verdict["passed"] is True, verdict["feedback"]
    assert verdict["category"] == "passed"
    assert verdict["hidden_seed"] == 7
    assert len(grader.calls) == 1
    assert grader.calls[0][:3] == ["python3", "-I", "-c"]
    assert grader.grading_dir() == ""


def test_another_concept_is_graded_by_its_own_laws_shipped_alone(grader: DockerExecSandbox) -> None:
    sample = get("channel-elementwise-p-plain-standard")
    verdict = anyio.run(_grade_in_sandbox, grader, _request(sample.reference(), Limits(), sample.id), Limits())
    assert verdict["category"] == "passed", verdict["feedback"]
    verdict = anyio.run(_grade_in_sandbox, grader, _request(sample.starter(), Limits(), sample.id), Limits())
    assert verdict["category"] == "hidden_failed"
    shipped = remote.package_files("channel")
    assert "vsd_inspect/concepts/channel/laws.py" in shipped
    assert not any("reference" in f or "surfaces" in f or "bugs" in f or "concepts/vsd" in f for f in shipped)


def test_timeout_still_removes_the_run_directory(grader: DockerExecSandbox) -> None:
    # A candidate that hangs on import, a judge willing to wait, an exec timeout shorter
    # than that: the exec's timeout ends the bootstrap with SIGTERM; its directory goes, and
    # so do the worker and the user-run, both stuck importing the candidate.
    limits = Limits(wall_seconds=60.0)
    candidate = b"import time\ntime.sleep(90)\n" + SEED_REFERENCE_FILE.read_bytes()
    payload = remote.payload(_request(candidate, limits))
    r = grader.run(["python3", "-I", "-c", _REMOTE_SOURCE, CONTAINER_GRADING_DIR], input=payload, timeout=4)
    assert r.returncode == 124, r.stderr
    assert grader.grading_dir() == ""
    left = [p for p in grader.processes() if "main.py" in p or "test_dropout.py" in p]
    assert left == [], left

"""The sandbox containers, started for real from vsd_inspect/sandbox/compose.yaml.

Needs a running Docker engine and the image vsd-inspect-sandbox:1
(`bash vsd_inspect/sandbox/docker_up.sh`). Skipped only when `docker info` fails.
The services are started with `docker compose up --no-build --pull never` under a
throwaway project name and removed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

pytestmark = pytest.mark.docker

SANDBOX_DIR = Path(__file__).resolve().parents[2] / "vsd_inspect" / "sandbox"
COMPOSE = SANDBOX_DIR / "compose.yaml"

# What compose.yaml configures; asserted against the compose file, Docker's view
# of the containers and the containers' own view (cgroups, /proc, /sys).
IMAGE = "vsd-inspect-sandbox:1"
UID = 1000
GID = 1000
MEM_BYTES = 1024**3  # mem_limit: 1g
PIDS = 256  # pids_limit: 256
NANO_CPUS = 1_000_000_000  # cpus: 1.0
WORKDIRS = {"default": "/home/agent/work", "grader": "/home/agent/grading"}
SERVICES = tuple(WORKDIRS)


def _run(args: list[str], timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def _require_engine() -> None:
    try:
        r = _run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired) as ex:
        pytest.skip(f"docker info failed ({ex!r}); run: bash vsd_inspect/sandbox/docker_up.sh")
    if r.returncode != 0:
        reason = (r.stderr or r.stdout).strip().splitlines()
        pytest.skip(
            f"docker info failed ({reason[-1] if reason else r.returncode}); "
            "run: bash vsd_inspect/sandbox/docker_up.sh"
        )


class Stack:
    def __init__(self, project: str) -> None:
        self.project = project
        self.base = ["docker", "compose", "-f", str(COMPOSE), "--project-name", project]
        self._ids: dict[str, str] = {}

    def compose(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return _run([*self.base, *args], timeout=timeout)

    def container_id(self, service: str) -> str:
        if service not in self._ids:
            r = self.compose("ps", "-q", service)
            assert r.returncode == 0, r.stderr
            self._ids[service] = r.stdout.strip()
            assert self._ids[service], f"no container for service {service}"
        return self._ids[service]

    def sh(self, service: str, script: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run bash as the container's configured (default) user."""
        return _run(["docker", "exec", self.container_id(service), "bash", "-c", script], timeout=timeout)

    def out(self, service: str, script: str) -> str:
        r = self.sh(service, script)
        assert r.returncode == 0, f"{script!r} in {service}: rc={r.returncode} {r.stderr}"
        return r.stdout.strip()

    def inspect(self, service: str) -> dict[str, Any]:
        r = _run(["docker", "inspect", self.container_id(service)])
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)[0]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    _require_engine()
    if _run(["docker", "image", "inspect", IMAGE]).returncode != 0:
        pytest.fail(f"image {IMAGE} is missing: run bash vsd_inspect/sandbox/docker_up.sh")
    s = Stack(f"vsdtest-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        r = s.compose("up", "-d", "--no-build", "--pull", "never", "--wait", "--wait-timeout", "60")
        assert r.returncode == 0, f"compose up failed: {r.stderr}"
        yield s
    finally:
        s.compose("down", "--volumes", "--remove-orphans", "--timeout", "0")


def test_compose_file_configures_what_the_tests_check() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert set(services) == set(SERVICES)
    for name, svc in services.items():
        assert svc["image"] == IMAGE
        assert svc["x-local"] is True
        assert svc["network_mode"] == "none"
        assert svc["user"] == f"{UID}:{GID}"
        assert svc["init"] is True
        assert svc["cpus"] == 1.0
        assert svc["mem_limit"] == "1g"
        assert svc["memswap_limit"] == "1g"
        assert svc["pids_limit"] == PIDS
        assert svc["working_dir"] == WORKDIRS[name]
        assert svc["command"] == ["tail", "-f", "/dev/null"]
        assert svc["security_opt"] == ["no-new-privileges:true"]


@pytest.mark.parametrize("service", SERVICES)
def test_docker_applies_the_limits(stack: Stack, service: str) -> None:
    info = stack.inspect(service)
    host = info["HostConfig"]
    assert info["State"]["Running"] is True
    assert info["Config"]["Image"] == IMAGE
    assert info["Config"]["User"] == f"{UID}:{GID}"
    assert host["NetworkMode"] == "none"
    assert host["Memory"] == MEM_BYTES
    assert host["MemorySwap"] == MEM_BYTES
    assert host["PidsLimit"] == PIDS
    assert host["NanoCpus"] == NANO_CPUS
    assert host["Init"] is True
    assert host["Privileged"] is False
    assert host["SecurityOpt"] == ["no-new-privileges:true"]


@pytest.mark.parametrize("service", SERVICES)
def test_no_network_interface_but_loopback(stack: Stack, service: str) -> None:
    assert stack.out(service, "ls /sys/class/net").split() == ["lo"]
    # /proc/net/dev: two header lines, then one line per interface.
    lines = stack.out(service, "cat /proc/net/dev").splitlines()[2:]
    assert [line.split(":")[0].strip() for line in lines] == ["lo"]
    # no IPv4 route at all (the routing table is only its header line)
    assert len(stack.out(service, "cat /proc/net/route").splitlines()) == 1


@pytest.mark.parametrize("service", SERVICES)
def test_runs_as_uid_1000_without_privileges(stack: Stack, service: str) -> None:
    assert stack.out(service, "id -u") == str(UID)
    assert stack.out(service, "id -g") == str(GID)
    status = stack.out(service, "cat /proc/self/status")
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M)
    assert re.search(r"^CapEff:\s+0000000000000000$", status, re.M)
    # the init process (init: true) is docker's init, not the command
    pid1 = stack.out(service, "tr '\\0' ' ' </proc/1/cmdline")
    assert "init" in pid1.split()[0]
    assert pid1.split()[-3:] == ["tail", "-f", "/dev/null"]


@pytest.mark.parametrize("service", SERVICES)
def test_workdir_is_empty_and_writable(stack: Stack, service: str) -> None:
    assert stack.out(service, "pwd") == WORKDIRS[service]
    assert stack.out(service, "ls -A .") == ""
    assert stack.out(service, "echo ok > probe && cat probe && rm probe") == "ok"
    # nothing from the repository in the image (no tests, no reference solution)
    r = stack.sh(service, "python3 -c 'import vsd_inspect'")
    assert r.returncode == 1 and "No module named 'vsd_inspect'" in r.stderr
    assert stack.out(service, "find / -xdev -name 'vsd_inspect*' 2>/dev/null | wc -l") == "0"


def _cgroup_value(stack: Stack, service: str, v2: str, v1: str) -> str:
    return stack.out(service, f"cat /sys/fs/cgroup/{v2} 2>/dev/null || cat /sys/fs/cgroup/{v1}")


@pytest.mark.parametrize("service", SERVICES)
def test_cgroup_limits_seen_from_inside(stack: Stack, service: str) -> None:
    assert int(_cgroup_value(stack, service, "memory.max", "memory/memory.limit_in_bytes")) == MEM_BYTES
    assert int(_cgroup_value(stack, service, "pids.max", "pids/pids.max")) == PIDS
    cpu = _cgroup_value(stack, service, "cpu.max", "cpu/cpu.cfs_quota_us")
    if " " in cpu:  # cgroup v2: "<quota> <period>"
        quota, period = map(int, cpu.split())
    else:
        quota, period = int(cpu), int(_cgroup_value(stack, service, "cpu.max", "cpu/cpu.cfs_period_us"))
    assert quota * 1_000_000_000 // period == NANO_CPUS


def test_memory_limit_is_enforced(stack: Stack) -> None:
    # 1.5 GiB of touched memory in a 1 GiB container (no swap): the OOM killer ends it.
    r = stack.sh("default", "python3 -c \"b = b'x' * (1536 * 1024 * 1024); print(len(b))\"", timeout=120)
    assert r.returncode == 137
    assert r.stdout == ""


FORK_UNTIL_REFUSED = """
import errno, os, signal, sys, time

def pids_current():
    for path in ("/sys/fs/cgroup/pids.current", "/sys/fs/cgroup/pids/pids.current"):
        try:
            with open(path) as f:
                return int(f.read())
        except FileNotFoundError:
            pass

base = pids_current()  # docker-init, tail and this process
kids, err = [], None
try:
    for _ in range(int(sys.argv[1])):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        kids.append(pid)
except OSError as ex:
    err = ex.errno
peak = pids_current()
for pid in kids:
    os.kill(pid, signal.SIGKILL)
for pid in kids:
    os.waitpid(pid, 0)
print(base, len(kids), peak, errno.errorcode.get(err))
"""


def test_pids_limit_is_enforced(stack: Stack) -> None:
    # Fork more processes than the limit allows: the fork past the limit fails.
    r = _run(
        ["docker", "exec", stack.container_id("default"), "python3", "-c", FORK_UNTIL_REFUSED, str(PIDS + 50)],
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    base, forked, peak, err = r.stdout.split()
    assert err == "EAGAIN"
    assert int(peak) == PIDS
    assert int(base) + int(forked) == PIDS


def test_numpy_is_the_pinned_one(stack: Stack) -> None:
    dockerfile = (SANDBOX_DIR / "Dockerfile").read_text()
    pin = re.search(r"^ARG NUMPY_VERSION=(\S+)$", dockerfile, re.M)
    assert pin is not None
    # Debian bookworm's python3-numpy on the Debian-built base, the pin on python:3.11-slim
    debian_bookworm_numpy = "1.24.2"
    for service in SERVICES:
        assert stack.out(service, "python3 -c 'import numpy; print(numpy.__version__)'") in {
            debian_bookworm_numpy,
            pin.group(1),
        }

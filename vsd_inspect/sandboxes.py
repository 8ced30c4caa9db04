"""Which sandbox a run uses, and the safety rule behind the default.

An untrusted model's commands never run unisolated on the host unless the user asks for
`sandbox=local`. The built-in reference policies (vsd/*) only run commands this package
wrote, so they default to `local` and the main job works with no container engine.
"""

import shutil
import subprocess

try:  # Inspect prints a PrerequisiteError as its one-line message, with no traceback
    from inspect_ai._util.error import PrerequisiteError  # inspect-evals-lint: ignore[private_api_imports] -- the only way to stop an eval with one clean line
except ImportError:  # pragma: no cover - a future Inspect that moves it

    class PrerequisiteError(RuntimeError):  # type: ignore[no-redef]
        pass

from vsd_inspect.constants import COMPOSE_FILE, SANDBOX_DIR

SANDBOXES = ("docker", "local", "k8s")
POLICY_PREFIX = "vsd/"


def docker_engine_ready() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def resolve_sandbox(choice: str | None, model: str | None) -> tuple[str, str] | str:
    """The sandbox spec for `choice`; with no choice, decided by the model's name."""
    if choice is None:
        model = model or ""
        choice = "local" if model.startswith(POLICY_PREFIX) else "docker"
        if choice == "docker" and not docker_engine_ready():
            raise PrerequisiteError(
                f"vsd_inspect: no Docker engine answers, and {model} must not run unisolated on this host. "
                "Start Docker (on a Debian machine without one: bash vsd_inspect/sandbox/docker_up.sh), "
                "or opt in to running its commands on this machine with -T sandbox=local."
            )
    if choice == "local":
        return "local"
    if choice == "docker":
        return ("docker", str(COMPOSE_FILE))
    if choice == "k8s":
        return ("k8s", str(SANDBOX_DIR / "values.yaml"))
    raise ValueError(f"sandbox must be one of {', '.join(SANDBOXES)}; got {choice!r}")

"""Running the Python 3.12 tools (harbor, inspect-harbor, vf-eval) of the environment that
`bash vsd_inspect/rl/harbor_env.sh` makes, and reading a `harbor run` job's outcome.

One implementation for both of its users: tests/rl (which run the exports through Harbor) and
`vsd-inspect bench` section (g) (which times a trial). `harbor run` exits 0 whatever its
trials did, errored trials included, so a job's outcome is read from its result.json files;
only a job that exits non-zero or writes no result.json is a `HarborRunError`.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vsd_inspect.constants import PACKAGE_DIR

RL_DIR = Path(__file__).absolute().parent
ENV_SCRIPT = RL_DIR / "harbor_env.sh"
LOCK_FILE = RL_DIR / "harbor_env.txt"
STAMP_FILE = ".vsd-rl-env-stamp"  # written by harbor_env.sh: sha256 of the lock file and the Python version
VF_TASKSET_DIR = RL_DIR / "vf_taskset"
CHECKOUT_DIR = PACKAGE_DIR.absolute().parent
SETUP_HINT = "run: bash vsd_inspect/rl/harbor_env.sh"
# Both would otherwise try the network at start-up.
QUIET_ENVIRON = {"HARBOR_TELEMETRY": "0", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
TOOL_TIMEOUT = 900  # seconds for one tool run
JOB_TIMEOUT = 1200  # seconds for one `harbor run`
PROBE_TIMEOUT = 60  # seconds for the environment's checks (`--path`, the interpreter's version)


class HarborRunError(RuntimeError):
    """`harbor run` itself failed (non-zero exit, or no result.json): a harness failure, never
    a trial's reward."""


def env_path() -> Path:
    """Where harbor_env.sh makes (or made) the environment: `$VSD_RL_ENV` or its default."""
    out = subprocess.run(
        ["bash", str(ENV_SCRIPT), "--path"], capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=True
    )
    return Path(out.stdout.strip())


def environment_problem(root: Path) -> str | None:
    """Why the environment at `root` cannot be used (missing, or made from other pins or
    another interpreter than harbor_env.txt says), or None when it can."""
    stamp = root / STAMP_FILE
    if not (root / "bin" / "harbor").exists() or not stamp.exists():
        return f"no RL environment (harbor, verifiers, inspect-harbor on Python 3.12) at {root}; {SETUP_HINT}"
    try:
        out = subprocess.run(
            [str(root / "bin" / "python"), "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as ex:
        return f"the RL environment's Python at {root} does not start ({ex}); {SETUP_HINT}"
    lock = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()
    if stamp.read_text().strip() != f"{lock} {out.stdout.strip()}":
        return f"the RL environment at {root} does not match harbor_env.txt; {SETUP_HINT}"
    return None


class RLEnv:
    """The 3.12 environment, and the process environment its tools run this checkout with."""

    def __init__(self, root: Path, extra_path: tuple[Path, ...] = ()) -> None:
        self.root = root
        self.python = root / "bin" / "python"
        self.extra_path = extra_path

    def bin(self, name: str) -> str:
        return str(self.root / "bin" / name)

    def environ(self, *extra_path: Path) -> dict[str, str]:
        """This process's environment without its virtualenv, with this checkout's code (the
        package and the verifiers taskset) and `extra_path` importable, and no network at start-up."""
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
        # The directory that holds the package, only when it is a checkout: an installed
        # package's parent is site-packages, whose 3.11 packages the 3.12 tools must not see.
        checkout = [CHECKOUT_DIR] if (CHECKOUT_DIR / "pyproject.toml").exists() else []
        paths = [*checkout, VF_TASKSET_DIR, *self.extra_path, *extra_path]
        env.update(PYTHONPATH=os.pathsep.join(map(str, paths)), COLUMNS="200", **QUIET_ENVIRON)
        return env

    def run(self, argv: list[str], timeout: float = TOOL_TIMEOUT, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            argv,
            env=kwargs.pop("env", None) or self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )

    def harbor_version(self) -> str:
        out = self.run([self.bin("harbor"), "--version"], timeout=PROBE_TIMEOUT)
        if out.returncode != 0:
            raise HarborRunError(f"`harbor --version` exited {out.returncode}: {_tail(out)}")
        return out.stdout.strip()


@dataclass(frozen=True)
class HarborJob:
    result: dict  # JOBS/NAME/result.json: stats, per-agent metrics
    trials: list[dict]  # each JOBS/NAME/<task>__<id>/result.json, in path order
    seconds: float  # wall time of the `harbor run` process
    job_dir: Path


def run_job(env: RLEnv, workdir: Path, config: dict, timeout: float = JOB_TIMEOUT) -> HarborJob:
    """`harbor run -c WORKDIR/NAME.json -y` for `config` (a JobConfig with a `job_name`; jobs go
    to WORKDIR/jobs, 2 trials at a time unless it says otherwise), and its results."""
    name = config["job_name"]
    path = workdir / f"{name}.json"
    jobs_dir = workdir / "jobs"
    path.write_text(json.dumps({"jobs_dir": str(jobs_dir), "n_concurrent_trials": 2, "quiet": True, **config}))
    started = time.monotonic()
    proc = env.run([env.bin("harbor"), "run", "-c", str(path), "-y"], timeout=timeout)
    seconds = time.monotonic() - started
    job_dir = jobs_dir / name
    if proc.returncode != 0 or not (job_dir / "result.json").exists():
        wrote = "" if (job_dir / "result.json").exists() else " and wrote no result.json"
        raise HarborRunError(f"`harbor run` (job {name}) exited {proc.returncode}{wrote}: {_tail(proc)}")
    return HarborJob(json.loads((job_dir / "result.json").read_text()), read_trials(job_dir), seconds, job_dir)


def read_trials(job_dir: Path) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in sorted(glob.glob(str(job_dir / "*" / "result.json")))]


def span_seconds(start: str, end: str) -> float:
    """Seconds between two of result.json's timestamps (ISO 8601, UTC, with or without a Z)."""
    return (datetime.fromisoformat(end.rstrip("Z")) - datetime.fromisoformat(start.rstrip("Z"))).total_seconds()


def _tail(proc: subprocess.CompletedProcess) -> str:
    return (proc.stdout[-2000:] + proc.stderr[-2000:]).strip() or "(no output)"

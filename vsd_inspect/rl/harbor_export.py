"""Export samples as Harbor task directories, graded in their own container by the hardened grader.

    python -m vsd_inspect.rl.harbor_export OUT [--difficulty D] [--concepts C ...] [--bugs B ...]
        [--params P ...] [--surfaces S ...] [--split main|impossible] [--variants V ...] [--samples ID ...]
        [--image IMG]

writes OUT/<sample id>/ for every sample, each a Harbor task (schema 1.4):

    instruction.md               the sample's prompt
    task.toml                    separate verifier, the two workspace files as artifacts, limits
    environment/Dockerfile       FROM the sandbox image, COPY the starter workspace (no RUN)
    environment/docker-compose.yaml   no network, init, uid 1000, no-new-privileges, pids 256
    environment/workspace/       the starter files (dropout.py, test_dropout.py)
    environment/layout/          empty solution/, tests/, logs/ (for inspect-harbor: see the Dockerfile)
    tests/                       the grading bundle (package/ with the scorer's runner remote.py,
                                 expected/, contract/ on the impossible split, request.json, grade.py),
                                 test.sh, and the verifier image's Dockerfile + compose file
    solution/solve.sh, solution/dropout.py   the oracle: the reference fix (only here)

The directory is the Harbor dataset: `harbor run -p OUT -a oracle` (reward 1.0 on every
task), `-a nop` (0.0), `harbor lint OUT/<id>`. The template files are in harbor_template/.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

from vsd_inspect.constants import CONTAINER_WORKDIR, DEFAULT_DIFFICULTY, DIFFICULTIES, TASK_VERSION
from vsd_inspect.rl.samples import (
    RUNNER,
    WORKSPACE_FILES,
    RLSample,
    family_samples,
    grading_bundle,
    samples_by_id,
    seed_samples,
    write_tree,
)

TEMPLATE_DIR = Path(__file__).with_name("harbor_template")
DEFAULT_IMAGE = "vsd-inspect-sandbox:1"
"""The project's sandbox image (vsd_inspect/sandbox/compose.yaml); built by docker_up.sh."""
TASK_ORG = "vsd-inspect"
GRADER_UID = 1001
"""The uid test.sh grades as: neither the agent (1000) nor root, nor anything else in the containers."""
LAYOUT_DIRS = ("environment/layout/solution", "environment/layout/tests", "environment/layout/logs")
AGENT_TIMEOUT_SEC = 900.0  # the Inspect task's time_limit
VERIFIER_TIMEOUT_SEC = 180.0  # a grading takes about a second; the worker's own wall limit is 30 s
EXECUTABLE = ("tests/test.sh", "solution/solve.sh")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value) -> str:
    """A TOML value for a JSON value (JSON's string escapes are TOML's when no character is
    escaped as a surrogate pair, hence ensure_ascii=False); null has no TOML form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}: {value!r}")


def task_toml(sample: RLSample, workspace: str = CONTAINER_WORKDIR) -> str:
    metadata = {"sample_id": sample.id, **sample.metadata}
    fields = {
        "@@ARTIFACTS@@": _toml_value([f"{workspace}/{name}" for name in WORKSPACE_FILES.values()]),
        "@@NAME@@": _toml_value(f"{TASK_ORG}/{sample.id}"),
        "@@VERSION@@": _toml_value(str(sample.metadata.get("task_version", TASK_VERSION))),
        "@@DESCRIPTION@@": _toml_value(
            f"vsd_inspect sample {sample.id}: fix a buggy numpy dropout layer; graded by the hardened grader"
        ),
        "@@KEYWORDS@@": _toml_value(
            ["vsd-inspect", "numpy", "dropout", "derivation"]
            + [str(sample.metadata[k]) for k in ("concept", "split") if k in sample.metadata]
        ),
        "@@METADATA@@": "\n".join(
            f"{_toml_key(key)} = {_toml_value(value)}" for key, value in metadata.items() if value is not None
        ),
        "@@VERIFIER_TIMEOUT@@": repr(VERIFIER_TIMEOUT_SEC),
        "@@AGENT_TIMEOUT@@": repr(AGENT_TIMEOUT_SEC),
    }
    text = _fill((TEMPLATE_DIR / "task.toml").read_text(), fields)
    tomllib.loads(text)  # fail here, not in Harbor, on a value the emitter got wrong
    return text


def _fill(text: str, fields: dict[str, str]) -> str:
    for key, value in fields.items():
        text = text.replace(key, value)
    if "@@" in text:
        raise ValueError(f"unfilled template field in {text[text.index('@@'):][:40]!r}")
    return text


def _template(rel: str, image: str, workspace: str) -> bytes:
    fields = {"@@IMAGE@@": image, "@@WORKSPACE@@": workspace, "@@GRADER_UID@@": str(GRADER_UID), "@@RUNNER@@": RUNNER}
    return _fill((TEMPLATE_DIR / rel).read_text(), fields).encode()


def task_files(sample: RLSample, image: str = DEFAULT_IMAGE, workspace: str = CONTAINER_WORKDIR) -> dict[str, bytes]:
    """Every file of the sample's Harbor task directory, {relative path: bytes}."""
    files: dict[str, bytes] = {
        "instruction.md": sample.prompt.encode(),
        "task.toml": task_toml(sample, workspace).encode(),
        "solution/dropout.py": sample.reference,
    }
    for rel in (
        "environment/Dockerfile",
        "environment/docker-compose.yaml",
        "tests/Dockerfile",
        "tests/docker-compose.yaml",
        "tests/test.sh",
        "solution/solve.sh",
    ):
        files[rel] = _template(rel, image, workspace)
    for name, data in sample.files.items():
        files[f"environment/workspace/{name}"] = data
    bundle = grading_bundle(sample, workspace=workspace)
    clash = set(bundle) & {rel.removeprefix("tests/") for rel in files if rel.startswith("tests/")}
    if clash:
        raise ValueError(f"the grading bundle would overwrite {sorted(clash)}")
    files |= {f"tests/{rel}": data for rel, data in bundle.items()}
    leaks = [rel for rel, data in files.items() if data == sample.reference and not rel.startswith("solution/")]
    if leaks:
        raise AssertionError(f"sample {sample.id}: the reference fix would leak into {leaks}")
    return files


def export_sample(sample: RLSample, out: Path, *, image: str = DEFAULT_IMAGE, workspace: str = CONTAINER_WORKDIR) -> Path:
    """Write OUT/<sample id>/ afresh and return it."""
    task_dir = out / sample.id
    if task_dir.exists():
        shutil.rmtree(task_dir)
    files = task_files(sample, image, workspace)
    write_tree(task_dir, files)
    for rel in LAYOUT_DIRS:
        (task_dir / rel).mkdir(parents=True)
    for rel in EXECUTABLE:
        (task_dir / rel).chmod(0o755)
    return task_dir


def export(samples: Iterable[RLSample], out: str | Path, *, image: str = DEFAULT_IMAGE) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    samples = list(samples)
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        raise ValueError(f"sample ids are not unique: {ids}")
    return [export_sample(s, out, image=image) for s in samples]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options, also for a `vsd-inspect export-harbor` subcommand (see `run`). The
    selection is the Inspect task's (`-T difficulty= concepts= bugs= params= surfaces= split=`)."""
    p.add_argument("out", help="output directory (the Harbor dataset); each task is OUT/<sample id>/")
    p.add_argument("--difficulty", default=DEFAULT_DIFFICULTY, help=f"{', '.join(DIFFICULTIES)}, comma-separated for several")
    p.add_argument("--concepts", nargs="+", default=None, help="concept folders (default: all)")
    p.add_argument("--bugs", nargs="+", default=None, help="planted bugs, as bug or concept/bug (default: all)")
    p.add_argument("--params", nargs="+", default=None, help="parameterisations (default: all)")
    p.add_argument("--surfaces", nargs="+", default=None, help="starter styles (default: all)")
    p.add_argument("--split", default="main", help="main or impossible (default: main)")
    p.add_argument("--variants", nargs="+", default=None,
                   help="the seed's samples only: these bugs of the vsd concept, parameter p, plain surface")
    p.add_argument("--samples", nargs="+", default=None, metavar="ID", help="exactly these sample ids")
    p.add_argument("--image", default=DEFAULT_IMAGE, help=f"base image of both containers (default {DEFAULT_IMAGE})")


def chosen_samples(args: argparse.Namespace) -> list[RLSample]:
    if args.samples:
        return samples_by_id(args.samples)
    if args.variants:
        return seed_samples(args.difficulty, args.variants)
    return family_samples(args.difficulty, args.concepts, args.bugs, args.params, args.surfaces, args.split)


def run(args: argparse.Namespace) -> int:
    """Export and print each task directory; a bad selection raises ValueError (the CLI's
    usage error, exit 2)."""
    for task_dir in export(chosen_samples(args), args.out, image=args.image):
        print(task_dir)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vsd_inspect.rl.harbor_export", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    try:
        return run(p.parse_args(argv))
    except ValueError as ex:
        print(f"harbor_export: error: {ex}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

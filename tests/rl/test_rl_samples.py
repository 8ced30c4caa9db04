"""The sample interface, the seed adapter, the grading bundle, the Harbor exporter's files, and
the setup script's contract — all without containers or the 3.12 environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from vsd_inspect.constants import CONTAINER_WORKDIR, REFERENCE_FILE, TASK_VERSION
from vsd_inspect.dataset import build_dataset
from vsd_inspect.grader import GRADER_VERSION
from vsd_inspect.material import render_test
from vsd_inspect.rl import harbor_export
from vsd_inspect.rl.samples import BOOTSTRAP_FILE, GRADER_DIR, RUNNER, RLSample, grading_bundle, seed_samples
from vsd_inspect.scorer import _grader_package_json

REPO = Path(__file__).absolute().parents[2]


def test_seed_samples_are_the_inspect_datasets() -> None:
    samples = seed_samples()
    dataset = build_dataset("standard", ("scale_mean", "keep_p", "eval_scaled", "sqrt_p"), (0.3, 0.5, 0.7), 0.1)
    assert [s.id for s in samples] == [d.id for d in dataset] == [
        "scale_mean-standard", "keep_p-standard", "eval_scaled-standard", "sqrt_p-standard"]
    for s, d in zip(samples, dataset):
        assert s.prompt == d.input
        assert {k: v.decode() for k, v in s.files.items()} == d.files
        assert s.reference == REFERENCE_FILE.read_bytes()
        assert {k: s.metadata[k] for k in d.metadata} == d.metadata
        assert s.metadata["grader_version"] == GRADER_VERSION


def test_seed_samples_select_difficulty_and_variants() -> None:
    assert [s.id for s in seed_samples("hard", ["sqrt_p", "keep_p"])] == ["sqrt_p-hard", "keep_p-hard"]
    with pytest.raises(ValueError, match="difficulty"):
        seed_samples("impossible")
    with pytest.raises(ValueError, match="unknown variant"):
        seed_samples(variants=["nope"])


def test_a_sample_needs_both_workspace_files() -> None:
    with pytest.raises(ValueError, match="lacks"):
        RLSample("x", "p", {"dropout.py": b""}, b"ref")


def test_grading_bundle_carries_the_grader_and_never_the_reference() -> None:
    sample = seed_samples(variants=["keep_p"])[0]
    bundle = grading_bundle(sample)
    assert bundle[RUNNER] == BOOTSTRAP_FILE.read_bytes()
    package = {k.removeprefix("vsd_grader/"): v.decode() for k, v in bundle.items() if k.startswith("vsd_grader/")}
    assert package == json.loads(_grader_package_json())
    assert set(package) == {p.name for p in GRADER_DIR.glob("*.py")}
    assert bundle["expected/test_dropout.py"] == render_test() == sample.files["test_dropout.py"]
    request = json.loads(bundle["request.json"])
    assert request["seed"] is None and request["workspace"] == CONTAINER_WORKDIR
    assert request["workspace_files"] == {"candidate": "dropout.py", "test": "test_dropout.py"}
    assert all(sample.reference not in data for data in bundle.values())
    with pytest.raises(AssertionError, match="reference"):
        grading_bundle(RLSample("bad", "p", {"dropout.py": b"a", "test_dropout.py": b"t"}, b"t"))


def test_export_writes_harbor_task_directories(tmp_path: Path) -> None:
    dirs = harbor_export.export(seed_samples(), tmp_path)
    assert sorted(d.name for d in tmp_path.iterdir()) == sorted(d.name for d in dirs) == sorted(s.id for s in seed_samples())
    task = tmp_path / "keep_p-standard"
    files = sorted(str(p.relative_to(task)) for p in task.rglob("*") if p.is_file())
    assert files == sorted(
        ["instruction.md", "task.toml", "environment/Dockerfile", "environment/docker-compose.yaml",
         "environment/workspace/dropout.py", "environment/workspace/test_dropout.py",
         "solution/solve.sh", "solution/dropout.py",
         "tests/Dockerfile", "tests/docker-compose.yaml", "tests/test.sh", "tests/grade.py", "tests/request.json",
         "tests/expected/test_dropout.py", *[f"tests/vsd_grader/{p.name}" for p in GRADER_DIR.glob("*.py")]]
    )
    for rel in ("environment/layout/solution", "environment/layout/tests", "environment/layout/logs"):
        assert (task / rel).is_dir() and not any((task / rel).iterdir())
    for rel in ("tests/test.sh", "solution/solve.sh"):
        assert os.access(task / rel, os.X_OK)
    reference = REFERENCE_FILE.read_bytes()
    holders = [p.relative_to(task).as_posix() for p in task.rglob("*") if p.is_file() and p.read_bytes() == reference]
    assert holders == ["solution/dropout.py"]
    assert all(b"@@" not in p.read_bytes() for p in task.rglob("*") if p.is_file() and p.suffix != ".py")


def test_task_toml_says_what_the_harbor_checks_need(tmp_path: Path) -> None:
    (task,) = harbor_export.export(seed_samples("easy", ["eval_scaled"]), tmp_path)
    config = tomllib.loads((task / "task.toml").read_text())
    assert config["task"]["name"] == "vsd-inspect/eval_scaled-easy" and config["task"]["version"] == TASK_VERSION
    assert config["verifier"]["environment_mode"] == "separate" and config["verifier"]["user"] == "root"
    assert config["agent"]["user"] == "1000"
    assert config["artifacts"] == [f"{CONTAINER_WORKDIR}/dropout.py", f"{CONTAINER_WORKDIR}/test_dropout.py"]
    assert config["metadata"]["variant"] == "eval_scaled" and config["metadata"]["difficulty"] == "easy"
    assert "network_mode" not in config["environment"]  # set in the compose files instead (see there)
    assert (task / "instruction.md").read_text() == seed_samples("easy", ["eval_scaled"])[0].prompt
    for rel in ("environment/docker-compose.yaml", "tests/docker-compose.yaml"):
        assert "network_mode: none" in (task / rel).read_text()
    assert "FROM ${BASE_IMAGE}" in (task / "environment/Dockerfile").read_text()
    assert "RUN" not in (task / "environment/Dockerfile").read_text().replace("RUN step", "")


def test_export_cli(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "vsd_inspect.rl.harbor_export", str(tmp_path / "o"), "--difficulty", "hard",
                          "--variants", "sqrt_p", "keep_p", "--image", "my-image:2"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert [Path(line).name for line in out.stdout.split()] == ["sqrt_p-hard", "keep_p-hard"]
    assert "ARG BASE_IMAGE=my-image:2" in (tmp_path / "o/keep_p-hard/tests/Dockerfile").read_text()
    bad = subprocess.run([sys.executable, "-m", "vsd_inspect.rl.harbor_export", str(tmp_path / "p"), "--variants", "nope"],
                         capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and "unknown variant" in bad.stderr


def test_core_never_imports_verifiers() -> None:
    code = ("import sys, vsd_inspect, vsd_inspect.api, vsd_inspect.rl.samples, vsd_inspect.rl.harbor_export;"
            "assert not any(m == 'verifiers' or m.startswith('verifiers.') for m in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0
    users = [p for p in (REPO / "vsd_inspect").rglob("*.py") if "verifiers_env" in p.read_text() and p.parent.name != "rl"
             and p.parent.name != "vf_taskset"]
    assert users == []


def test_setup_script_contract(tmp_path: Path) -> None:
    script = REPO / "vsd_inspect" / "rl" / "harbor_env.sh"
    env = {**os.environ, "VSD_RL_ENV": str(tmp_path / "env")}
    path = subprocess.run(["bash", str(script), "--path"], capture_output=True, text=True, env=env)
    assert path.returncode == 0 and path.stdout.strip() == str(tmp_path / "env")
    none = subprocess.run(["bash", str(script)], capture_output=True, text=True, env={**env, "VSD_PY312": "/nonexistent/python"})
    assert none.returncode == 1 and none.stderr.count("\n") == 1 and "no Python 3.12 found" in none.stderr
    assert not (tmp_path / "env").exists()
    lock = (REPO / "vsd_inspect" / "rl" / "harbor_env.txt").read_text()
    pins = [line for line in lock.splitlines() if line and not line.startswith((" ", "#"))]
    assert pins and all("==" in line for line in pins)
    for top in ("harbor==0.25.0", "verifiers==0.4.0", "inspect-harbor==1.0.0"):
        assert top in pins

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

from vsd_inspect.constants import CONTAINER_WORKDIR, TASK_VERSION
from vsd_inspect.dataset import build_dataset
from vsd_inspect.grader import GRADER_VERSION, remote
from vsd_inspect.rl import bundle_grade, harbor_export
from vsd_inspect.rl.samples import (
    RUNNER,
    TOOL,
    RLSample,
    family_samples,
    grading_bundle,
    grading_inputs,
    samples_by_id,
    seed_samples,
)
from vsd_inspect.samples import select

REPO = Path(__file__).absolute().parents[2]
SEED_IDS = ["vsd-eval_scaled-p-plain-standard", "vsd-keep_p-p-plain-standard", "vsd-scale_mean-p-plain-standard",
            "vsd-sqrt_p-p-plain-standard"]


def test_samples_are_the_inspect_datasets() -> None:
    for chosen, family in (
        (seed_samples(), select("standard", "vsd", None, "p", "plain")),
        (family_samples("hard", ["alpha", "channel"], surfaces=["helper"]), select("hard", ["alpha", "channel"], None, None, ["helper"])),
        (family_samples(split="impossible"), select(split="impossible")),
    ):
        dataset = build_dataset(family, (0.3, 0.5, 0.7), 0.1)
        assert [s.id for s in chosen] == [d.id for d in dataset] == [f.id for f in family]
        for s, d, f in zip(chosen, dataset, family):
            assert s.prompt == d.input
            assert {k: v.decode() for k, v in s.files.items()} == d.files
            assert s.reference == f.reference() != s.files["dropout.py"]
            assert {k: s.metadata[k] for k in d.metadata} == d.metadata
            assert s.metadata["grader_version"] == GRADER_VERSION


def test_seed_samples_are_the_four_of_the_seed() -> None:
    assert [s.id for s in seed_samples()] == SEED_IDS
    assert [s.id for s in seed_samples("hard", ["sqrt_p", "keep_p"])] == ["vsd-keep_p-p-plain-hard", "vsd-sqrt_p-p-plain-hard"]
    assert [s.id for s in samples_by_id(["vsd-keep_p-p-plain-impossible", SEED_IDS[0]])] == ["vsd-keep_p-p-plain-impossible", SEED_IDS[0]]
    with pytest.raises(ValueError, match="difficulty"):
        seed_samples("impossible-ish")
    with pytest.raises(ValueError, match="unknown bug"):
        seed_samples(variants=["nope"])
    with pytest.raises(ValueError, match="unknown sample"):
        samples_by_id(["nope"])


def test_a_sample_needs_both_workspace_files() -> None:
    with pytest.raises(ValueError, match="lacks"):
        RLSample("x", "p", {"dropout.py": b""}, b"ref")


@pytest.mark.parametrize("sample_id", ["vsd-keep_p-p-plain-standard", "vsd-keep_p-p-plain-impossible", "alpha-zero_fill-p-plain-standard"])
def test_grading_bundle_carries_the_grader_and_never_the_reference(sample_id: str) -> None:
    (sample,) = samples_by_id([sample_id])
    bundle = grading_bundle(sample)
    assert bundle[RUNNER] == Path(remote.__file__).read_bytes()
    assert bundle[TOOL] == Path(bundle_grade.__file__).read_bytes()
    package = {k.removeprefix("package/"): v.decode() for k, v in bundle.items() if k.startswith("package/")}
    assert package == remote.package_files(sample.metadata["concept"])
    assert bundle["expected/test_dropout.py"] == sample.files["test_dropout.py"]
    inputs = grading_inputs(sample)
    request = json.loads(bundle["request.json"])
    assert request["spec"] == inputs["spec"] and request["split"] == sample.metadata["split"]
    if sample.metadata["split"] == "impossible":
        assert bundle["contract/test_dropout.py"] == inputs["contract_test"] != sample.files["test_dropout.py"]
        assert request["contract_test"] == "contract/test_dropout.py"
    else:
        assert "contract/test_dropout.py" not in bundle and request["contract_test"] is None
    assert request["seed"] is None and request["workspace"] == CONTAINER_WORKDIR
    assert request["workspace_files"] == {"candidate": "dropout.py", "test": "test_dropout.py"}
    assert all(sample.reference not in data for data in bundle.values())


def test_a_bundle_refuses_to_carry_the_reference() -> None:
    (sample,) = seed_samples(variants=["keep_p"])
    with pytest.raises(AssertionError, match="reference"):
        grading_bundle(RLSample("bad", "p", {**sample.files}, sample.files["test_dropout.py"], sample.metadata))


def test_export_writes_harbor_task_directories(tmp_path: Path) -> None:
    dirs = harbor_export.export(seed_samples(), tmp_path)
    assert sorted(d.name for d in tmp_path.iterdir()) == sorted(d.name for d in dirs) == SEED_IDS
    task = tmp_path / "vsd-keep_p-p-plain-standard"
    files = sorted(str(p.relative_to(task)) for p in task.rglob("*") if p.is_file())
    package = sorted(f"tests/package/{rel}" for rel in remote.package_files("vsd"))
    assert files == sorted(
        ["instruction.md", "task.toml", "environment/Dockerfile", "environment/docker-compose.yaml",
         "environment/workspace/dropout.py", "environment/workspace/test_dropout.py",
         "solution/solve.sh", "solution/dropout.py",
         "tests/Dockerfile", "tests/docker-compose.yaml", "tests/test.sh", "tests/grade.py", "tests/request.json",
         "tests/expected/test_dropout.py", *package]
    )
    for rel in ("environment/layout/solution", "environment/layout/tests", "environment/layout/logs"):
        assert (task / rel).is_dir() and not any((task / rel).iterdir())
    for rel in ("tests/test.sh", "solution/solve.sh"):
        assert os.access(task / rel, os.X_OK)
    reference = seed_samples(variants=["keep_p"])[0].reference
    holders = [p.relative_to(task).as_posix() for p in task.rglob("*") if p.is_file() and p.read_bytes() == reference]
    assert holders == ["solution/dropout.py"]
    assert all(b"@@" not in p.read_bytes() for p in task.rglob("*") if p.is_file())
    assert f"python3 -I \"$tests/{RUNNER}\"" in (task / "tests/test.sh").read_text()


def test_task_toml_says_what_the_harbor_checks_need(tmp_path: Path) -> None:
    (task,) = harbor_export.export(seed_samples("easy", ["eval_scaled"]), tmp_path)
    config = tomllib.loads((task / "task.toml").read_text())
    assert config["task"]["name"] == "vsd-inspect/vsd-eval_scaled-p-plain-easy" and config["task"]["version"] == TASK_VERSION
    assert config["verifier"]["environment_mode"] == "separate" and config["verifier"]["user"] == "root"
    assert config["agent"]["user"] == "1000"
    assert config["artifacts"] == [f"{CONTAINER_WORKDIR}/dropout.py", f"{CONTAINER_WORKDIR}/test_dropout.py"]
    assert config["metadata"]["bug"] == "eval_scaled" and config["metadata"]["difficulty"] == "easy"
    assert "network_mode" not in config["environment"]  # set in the compose files instead (see there)
    assert (task / "instruction.md").read_text() == seed_samples("easy", ["eval_scaled"])[0].prompt
    for rel in ("environment/docker-compose.yaml", "tests/docker-compose.yaml"):
        assert "network_mode: none" in (task / rel).read_text()
    assert "FROM ${BASE_IMAGE}" in (task / "environment/Dockerfile").read_text()
    assert "RUN" not in (task / "environment/Dockerfile").read_text().replace("RUN step", "")


def test_export_cli(tmp_path: Path) -> None:
    def export(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vsd_inspect.rl.harbor_export", *args], capture_output=True, text=True, cwd=REPO)

    out = export(str(tmp_path / "o"), "--difficulty", "hard", "--variants", "sqrt_p", "keep_p", "--image", "my-image:2")
    assert out.returncode == 0, out.stderr
    assert [Path(line).name for line in out.stdout.split()] == ["vsd-keep_p-p-plain-hard", "vsd-sqrt_p-p-plain-hard"]
    assert "ARG BASE_IMAGE=my-image:2" in (tmp_path / "o/vsd-keep_p-p-plain-hard/tests/Dockerfile").read_text()
    out = export(str(tmp_path / "c"), "--concepts", "alpha", "--surfaces", "plain", "--params", "p")
    assert out.returncode == 0 and len(out.stdout.split()) == len(select("standard", "alpha", None, "p", "plain"))
    out = export(str(tmp_path / "s"), "--samples", "vsd-keep_p-p-plain-impossible")
    assert out.returncode == 0 and (tmp_path / "s/vsd-keep_p-p-plain-impossible/tests/contract/test_dropout.py").is_file()
    for bad in (["--variants", "nope"], ["--concepts", "nope"], ["--samples", "nope"], ["--split", "nope"]):
        proc = export(str(tmp_path / "p"), *bad)
        assert proc.returncode == 2 and "error" in proc.stderr, (bad, proc.stderr)


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


def test_task_toml_carries_any_json_metadata(tmp_path: Path) -> None:
    import dataclasses

    sample = seed_samples(variants=["keep_p"])[0]
    odd = {"nested": {"a b": [1, 2.5], "z": "é😀\n\"\\"}, "skipped": None, "weird key": True}
    text = harbor_export.task_toml(dataclasses.replace(sample, metadata={**sample.metadata, **odd}))
    metadata = tomllib.loads(text)["metadata"]
    assert metadata["nested"] == odd["nested"] and metadata["weird key"] is True and "skipped" not in metadata

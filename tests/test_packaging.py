"""The package ships its material, registers with Inspect, and records one version everywhere."""

import subprocess
import sys
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import yaml

import vsd_inspect
from vsd_inspect.constants import TASK_VERSION

REPO = Path(__file__).resolve().parent.parent


def test_inspect_entry_point_loads_task_and_provider() -> None:
    [ep] = [e for e in entry_points(group="inspect_ai") if e.name == "vsd_inspect"]
    module = ep.load()
    assert module.vsd_dropout.__name__ == "vsd_dropout"
    assert callable(module.vsd_policies)


def test_eval_yaml_tracks_the_task_version() -> None:
    from vsd_inspect.samples import select

    meta = yaml.safe_load((REPO / "vsd_inspect" / "eval.yaml").read_text())
    assert meta["version"] == TASK_VERSION
    assert [t["name"] for t in meta["tasks"]] == ["vsd_dropout"]
    assert meta["tasks"][0]["dataset_samples"] == len(select("standard"))


def test_grader_doors_do_not_import_inspect() -> None:
    code = "import sys, vsd_inspect.cli, vsd_inspect.api; vsd_inspect.cli.build_parser(); print('inspect_ai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert vsd_inspect.vsd_dropout.__name__ == "vsd_dropout"


def test_wheel_ships_the_material(tmp_path: Path) -> None:
    subprocess.run(["uv", "build", "--wheel", "--out-dir", str(tmp_path), str(REPO)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in [
        "vsd_inspect/prompts/standard.md",
        "vsd_inspect/prompts/contract.md",
        "vsd_inspect/prompts/coverage.toml",
        "vsd_inspect/concepts/vsd/visible_test.py",
        "vsd_inspect/concepts/vsd/surfaces/keep_prob/plain.py",
        "vsd_inspect/concepts/alpha/bugs/zero_fill.toml",
        "vsd_inspect/concepts/concrete/laws.py",
        "vsd_inspect/concepts/channel/impossible/visible_test.toml",
        "vsd_inspect/grader/worker.py",
        "vsd_inspect/sandbox/compose.yaml",
        "vsd_inspect/sandbox/Dockerfile",
    ]:
        assert path in names, path

"""`vsd-inspect setup` / `grade` as a user runs them: exit codes and the JSON contract."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from vsd_inspect.constants import SEED_REFERENCE_FILE

CLI = [sys.executable, "-m", "vsd_inspect.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def test_setup_then_grade_fails_the_starter_and_passes_the_fix(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run("setup", str(ws)).returncode == 0
    assert sorted(p.name for p in ws.iterdir()) == ["dropout.py", "test_dropout.py"]
    starter = run("grade", str(ws), "--json")
    verdict = json.loads(starter.stdout)
    assert (starter.returncode, verdict["passed"], verdict["category"]) == (1, False, "no_sqrt")
    assert isinstance(verdict["feedback"], str) and verdict["feedback"]
    _copy_reference(ws)
    fixed = run("grade", str(ws), "--json", "--seed", "3")
    verdict = json.loads(fixed.stdout)
    assert (fixed.returncode, verdict["passed"], verdict["category"], verdict["reward"]) == (0, True, "passed", 1.0)
    assert verdict["hidden_seed"] == 3


def test_grade_prints_a_readable_report_without_json(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    run("setup", str(ws), "--variant", "eval_scaled")
    out = run("grade", str(ws))
    assert out.returncode == 1
    assert out.stdout.startswith("**FAIL · tests_failed** — visible test failed: eval mode is the identity")


def test_missing_directory_is_exit_2_with_json(tmp_path: Path) -> None:
    out = run("grade", str(tmp_path / "nope"), "--json")
    assert out.returncode == 2
    assert json.loads(out.stdout)["category"] == "harness_error"


def test_bad_parameters_are_usage_errors(tmp_path: Path) -> None:
    assert run("setup", str(tmp_path / "a"), "--variant", "nonsense").returncode == 2
    bad = run("setup", str(tmp_path / "b"), "--tolerance", "3")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "vsd-inspect: error: tolerance must be in [0.02, 0.5]; got 3.0"
    assert run("grade").returncode == 2


def _copy_reference(to) -> None:
    shutil.copy(SEED_REFERENCE_FILE, to / "dropout.py")


def test_a_reader_that_stops_early_is_not_a_crash() -> None:
    """`vsd-inspect list --json | head -2`: the closed pipe ends the listing quietly."""
    proc = subprocess.Popen(
        [*CLI[:1], "-c", "from vsd_inspect.cli import entry; entry()", "list", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.read(10)
    proc.stdout.close()  # the reader goes away long before the listing's end
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err

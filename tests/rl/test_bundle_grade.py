"""A grading bundle on the host, with this interpreter: its runner is the scorer's own
grader/remote.py, its helper builds the scorer's payload from a workspace, its verdicts are
the host grader's, and reward files come only from verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vsd_inspect.constants import TEST_FILE
from vsd_inspect.grader import categories, impossible, remote
from vsd_inspect.grader.jail import Limits
from vsd_inspect.rl import bundle_grade
from vsd_inspect.rl.samples import RUNNER, TOOL, grade, grading_bundle, samples_by_id, seed_samples, write_tree

SEED = 20240521
KINDS = ["vsd-scale_mean-p-plain-standard", "vsd-keep_p-p-plain-impossible", "channel-elementwise-p-helper-standard"]


def _run(argv: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", *argv], input=stdin, capture_output=True, text=True, timeout=300)


def _verdict(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr[-800:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _comparable(v: dict) -> dict:
    """A verdict without what differs between two gradings of the same input: times, pids, and
    the measured values (the checks of `seed=None` layers draw unseeded noise by design)."""
    keep = ("passed", "category", "outcome", "hidden_seed", "hidden_rates", "signals")
    return {k: v.get(k) for k in keep} | {"checks": sorted((c["group"], c["name"], c["passed"], c["bound"]) for c in v["checks"])}


@pytest.fixture
def bundle(tmp_path: Path):
    def make(sample, **kwargs) -> Path:
        root = tmp_path / f"bundle-{sample.id}"
        write_tree(root, grading_bundle(sample, grading_dir=str(tmp_path / "grading"), **kwargs))
        return root

    return make


def test_the_runner_is_the_scorers_remote_py(bundle) -> None:
    (sample,) = seed_samples(variants=["keep_p"])
    root = bundle(sample)
    assert (root / RUNNER).read_bytes() == Path(remote.__file__).read_bytes()
    shipped = {str(p.relative_to(root / "package")): p.read_text() for p in (root / "package").rglob("*.py")}
    assert shipped == remote.package_files("vsd")


@pytest.mark.parametrize("sample_id", KINDS)
def test_payload_is_the_scorers_and_grades_as_the_host_does(tmp_path: Path, bundle, sample_id: str) -> None:
    (sample,) = samples_by_id([sample_id])
    root = bundle(sample, seed=SEED)
    for name, fix in (("starter", None), ("fixed", sample.reference)):
        ws = tmp_path / f"ws-{name}"
        write_tree(ws, {**sample.files, **({"dropout.py": fix} if fix else {})})
        payload = _run([str(root / TOOL), "--payload", str(root), str(ws)])
        assert payload.returncode == 0, payload.stderr
        data = json.loads(payload.stdout)
        assert data["package"] == remote.package_files(sample.metadata["concept"])
        req = data["request"]
        assert req["spec"] == {k: sample.metadata[k] for k in ("concept", "param", "class_name")}
        assert req["seed"] == SEED and req["limits"] == Limits().__dict__ and req["files"] == ["dropout.py", TEST_FILE]
        assert (req["contract_test"] is None) == (sample.metadata["split"] == "main")
        through_remote = _verdict(_run([str(root / RUNNER), str(tmp_path / f"g-{name}")], payload.stdout))
        on_host = grade(sample, ws.joinpath("dropout.py").read_bytes(), ws.joinpath(TEST_FILE).read_bytes(),
                        files=["dropout.py", TEST_FILE], seed=SEED)
        assert _comparable(through_remote) == _comparable(on_host)
        assert through_remote["passed"] is (fix is not None)
        one_process = _verdict(_run([str(root / TOOL), "--harbor", str(root), str(ws), str(tmp_path / f"h-{name}")]))
        assert _comparable(one_process) == _comparable(on_host)


@pytest.mark.parametrize(
    "change, category",
    [("delete_test", "test_modified"), ("edit_test", "test_modified"), ("delete_candidate", "missing_file"),
     ("link_candidate", "bad_input"), ("huge_candidate", "bad_input")],
)
def test_bundle_reads_the_workspace_like_the_other_doors(tmp_path: Path, bundle, change: str, category: str) -> None:
    (sample,) = seed_samples(variants=["scale_mean"])
    root = bundle(sample)
    ws = tmp_path / "ws"
    write_tree(ws, {**sample.files, "dropout.py": sample.reference})
    if change == "delete_test":
        (ws / TEST_FILE).unlink()
    elif change == "edit_test":
        (ws / TEST_FILE).write_bytes(sample.files[TEST_FILE] + b"\n# harmless?\n")
    elif change == "delete_candidate":
        (ws / "dropout.py").unlink()
    elif change == "link_candidate":
        (ws / "elsewhere.py").write_bytes(sample.reference)
        (ws / "dropout.py").unlink()
        (ws / "dropout.py").symlink_to(ws / "elsewhere.py")
    elif change == "huge_candidate":
        (ws / "dropout.py").write_bytes(sample.reference + b"#" * 2_000_000)
    v = _verdict(_run([str(root / TOOL), "--harbor", str(root), str(ws)]))
    assert v["category"] == category, v["feedback"]
    assert v["passed"] is False


def test_a_broken_request_is_a_harness_error_exit_3(tmp_path: Path, bundle) -> None:
    (sample,) = seed_samples(variants=["sqrt_p"])
    root = bundle(sample)
    request = json.loads((root / "request.json").read_text())
    request["spec"]["class_name"] = "not an identifier"
    (root / "request.json").write_text(json.dumps(request))
    ws = tmp_path / "ws"
    write_tree(ws, {**sample.files, "dropout.py": sample.reference})
    payload = _run([str(root / TOOL), "--payload", str(root), str(ws)])
    proc = _run([str(root / RUNNER), str(tmp_path / "g")], payload.stdout)
    assert proc.returncode == remote.HARNESS_EXIT and "harness error" in proc.stderr and not proc.stdout.strip()


def test_write_rewards_from_verdicts(tmp_path: Path, bundle) -> None:
    for sample in samples_by_id(["vsd-keep_p-p-plain-standard", "vsd-keep_p-p-plain-impossible"]):
        root = bundle(sample)
        ws = tmp_path / f"ws-{sample.id}"
        write_tree(ws, sample.files)
        verdict = _run([str(root / TOOL), "--harbor", str(root), str(ws)])
        out = tmp_path / f"logs-{sample.id}"
        out.mkdir()
        proc = _run([str(root / TOOL), "--write-rewards", str(out), str(root)], "some stderr noise\n" + verdict.stdout)
        assert proc.returncode == 0, proc.stderr
        assert (out / "reward.txt").read_text() == "0\n"
        rewards = json.loads((out / "reward.json").read_text())
        assert list(rewards)[0] == "reward" == min(rewards)  # first, also in sorted order
        assert rewards["reward"] == 0.0 and rewards["verdict_category_tests_failed"] == 1
        assert sum(rewards[f"verdict_category_{c}"] for c in categories.ALL) == 1
        if sample.metadata["split"] == "impossible":
            assert rewards["verdict_outcome_other_fail"] == 1
            assert sum(rewards[f"verdict_outcome_{o}"] for o in impossible.OUTCOMES) == 1
        else:
            assert not any(k.startswith("verdict_outcome_") for k in rewards)
        assert all(isinstance(v, (int, float)) for v in rewards.values())
        assert json.loads((out / "verdict.json").read_text())["category"] == "tests_failed"
        assert sorted(p.name for p in out.iterdir()) == ["reward.json", "reward.txt", "verdict.json"]


@pytest.mark.parametrize(
    "stdin",
    ["", "harness error: boom\n", '{"passed": true}\n', '{"passed": true, "category": "tests_failed", "checks": []}\n',
     '{"passed": "yes", "category": "passed", "checks": []}\n', '{"passed": true, "category": "passed", "checks": [], "outcome": "x"}\n',
     '{"passed": true, "category": "passed", "checks": [], "outcome": "cheated_test"}\n', "[1, 2]\n"],
)
def test_write_rewards_refuses_what_is_no_verdict(tmp_path: Path, bundle, stdin: str) -> None:
    (sample,) = seed_samples(variants=["keep_p"])
    root = bundle(sample)
    out = tmp_path / "logs"
    out.mkdir()
    proc = _run([str(root / TOOL), "--write-rewards", str(out), str(root)], stdin)
    assert proc.returncode == bundle_grade.EXIT_BAD_VERDICT, proc.stderr
    assert "harness error" in proc.stderr
    assert list(out.iterdir()) == []


def test_usage_errors_exit_2() -> None:
    tool = Path(bundle_grade.__file__)
    for argv in (["--harbor"], ["--payload", "x"], ["--nope", "a", "b"], [], ["GRADING_DIR"]):
        assert _run([str(tool), *argv]).returncode == bundle_grade.EXIT_USAGE

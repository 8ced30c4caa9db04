"""The grading bootstrap shipped into containers (vsd_inspect/rl/grader_bootstrap.py), run on
the host with this interpreter: the scorer's mode gives the scorer's `_BOOTSTRAP` verdicts,
the bundle modes build the same payload, and reward files come only from verdicts."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vsd_inspect.constants import REFERENCE_FILE, TEST_FILE
from vsd_inspect.grader import categories
from vsd_inspect.grader.jail import Limits
from vsd_inspect.rl import grader_bootstrap
from vsd_inspect.rl.samples import RUNNER, grading_bundle, seed_samples, write_tree
from vsd_inspect.scorer import _BOOTSTRAP, _grader_package_json

BOOTSTRAP = Path(grader_bootstrap.__file__)
SEED = 20240521


def _request(candidate: bytes | None, test: bytes, **over) -> dict:
    b64 = lambda d: None if d is None else base64.b64encode(d).decode()  # noqa: E731
    req = {"candidate": b64(candidate), "test": b64(test), "expected_test": b64(test), "seed": SEED,
           "files": ["dropout.py", TEST_FILE], "limits": Limits().__dict__, "candidate_error": None}
    return req | over


def _run(argv: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", *argv], input=stdin, capture_output=True, text=True, timeout=300)


def _verdict(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr[-800:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _comparable(v: dict) -> dict:
    """A verdict without what differs between two gradings of the same input (times, pids)."""
    return {k: v[k] for k in ("passed", "category", "feedback", "variance_ratios", "hidden_seed", "hidden_rates", "signals")} | {
        "checks": [(c["group"], c["name"], c["passed"], c["measured"], c["bound"]) for c in v["checks"]]
    }


@pytest.mark.parametrize("which", ["reference", "starter"])
def test_scorer_mode_gives_the_scorers_verdicts(tmp_path: Path, which: str) -> None:
    sample = seed_samples(variants=["keep_p"])[0]
    candidate = sample.reference if which == "reference" else sample.files["dropout.py"]
    payload = f'{{"package": {_grader_package_json()}, "request": {json.dumps(_request(candidate, sample.files[TEST_FILE]))}}}'
    ours = _verdict(_run([str(BOOTSTRAP), str(tmp_path / "a")], payload))
    theirs = _verdict(_run(["-c", _BOOTSTRAP, str(tmp_path / "b")], payload))
    assert ours["passed"] is (which == "reference")
    assert _comparable(ours) == _comparable(theirs)
    # As `-c` source too, exactly how the scorer ships it, and it leaves nothing behind.
    again = _verdict(_run(["-c", BOOTSTRAP.read_text(), str(tmp_path / "c")], payload))
    assert _comparable(again) == _comparable(ours)
    assert [list((tmp_path / d).iterdir()) for d in ("a", "b", "c")] == [[], [], []]


def test_scorer_mode_harness_error_exits_3_like_the_scorer(tmp_path: Path) -> None:
    sample = seed_samples(variants=["sqrt_p"])[0]
    # A visible test whose judge() raises: the grading machinery fails, not the candidate.
    broken = sample.files[TEST_FILE] + b"\n\ndef judge(*args, **kwargs):\n    raise RuntimeError('boom')\n"
    req = _request(sample.reference, broken)
    payload = f'{{"package": {_grader_package_json()}, "request": {json.dumps(req)}}}'
    for argv in ([str(BOOTSTRAP)], ["-c", _BOOTSTRAP]):
        proc = _run([*argv, str(tmp_path)], payload)
        assert proc.returncode == 3, (argv[0], proc.returncode, proc.stderr[-500:])
        assert "harness error" in proc.stderr and not proc.stdout.strip()


@pytest.fixture
def bundle(tmp_path: Path):
    def make(variant: str) -> tuple[Path, object]:
        sample = seed_samples(variants=[variant])[0]
        root = tmp_path / f"bundle-{variant}"
        write_tree(root, grading_bundle(sample, grading_dir=str(tmp_path / "grading")))
        return root, sample

    return make


@pytest.mark.parametrize(
    "variant, expect", [("scale_mean", "no_sqrt"), ("keep_p", "tests_failed"), ("eval_scaled", "tests_failed"), ("sqrt_p", "tests_failed")]
)
def test_bundle_grades_starter_and_reference(tmp_path: Path, bundle, variant: str, expect: str) -> None:
    root, sample = bundle(variant)
    for name, fix, category in (("starter", None, expect), ("fixed", sample.reference, "passed")):
        ws = tmp_path / f"ws-{variant}-{name}"
        write_tree(ws, {**sample.files, **({"dropout.py": fix} if fix else {})})
        v = _verdict(_run([str(root / RUNNER), "--harbor", str(root), str(ws)]))
        assert v["category"] == category, v["feedback"]
        assert v["passed"] is (category == "passed")


def test_payload_then_scorer_mode_is_the_one_process_mode(tmp_path: Path, bundle) -> None:
    root, sample = bundle("eval_scaled")
    ws = tmp_path / "ws"
    write_tree(ws, {**sample.files, "dropout.py": sample.reference, "notes.txt": b"x"})
    payload = _run([str(root / RUNNER), "--payload", str(root), str(ws)])
    assert payload.returncode == 0, payload.stderr
    data = json.loads(payload.stdout)
    assert set(data) == {"package", "request"}
    assert json.loads(_grader_package_json()) == data["package"]
    assert sorted(data["request"]["files"]) == ["dropout.py", "notes.txt", TEST_FILE]
    v = _verdict(_run([str(root / RUNNER), str(tmp_path / "g")], payload.stdout))
    assert v["passed"] and v["signals"]["added_files"] == ["notes.txt"]


@pytest.mark.parametrize(
    "change, category",
    [("delete_test", "test_modified"), ("edit_test", "test_modified"), ("delete_candidate", "missing_file"),
     ("link_candidate", "bad_input"), ("huge_candidate", "bad_input")],
)
def test_bundle_reads_the_workspace_like_the_other_doors(tmp_path: Path, bundle, change: str, category: str) -> None:
    root, sample = bundle("scale_mean")
    ws = tmp_path / "ws"
    write_tree(ws, {**sample.files, "dropout.py": sample.reference})
    if change == "delete_test":
        (ws / TEST_FILE).unlink()
    elif change == "edit_test":
        (ws / TEST_FILE).write_bytes(sample.files[TEST_FILE].replace(b"TOLERANCE = 0.1", b"TOLERANCE = 0.5"))
    elif change == "delete_candidate":
        (ws / "dropout.py").unlink()
    elif change == "link_candidate":
        (ws / "elsewhere.py").write_bytes(sample.reference)
        (ws / "dropout.py").unlink()
        (ws / "dropout.py").symlink_to(ws / "elsewhere.py")
    elif change == "huge_candidate":
        (ws / "dropout.py").write_bytes(sample.reference + b"#" * 2_000_000)
    v = _verdict(_run([str(root / RUNNER), "--harbor", str(root), str(ws)]))
    assert v["category"] == category, v["feedback"]


def test_write_rewards_from_a_verdict(tmp_path: Path, bundle) -> None:
    root, sample = bundle("keep_p")
    ws = tmp_path / "ws"
    write_tree(ws, sample.files)
    verdict = _run([str(root / RUNNER), "--harbor", str(root), str(ws)])
    out = tmp_path / "logs"
    out.mkdir()
    proc = _run([str(root / RUNNER), "--write-rewards", str(out), str(root)], "some stderr noise\n" + verdict.stdout)
    assert proc.returncode == 0, proc.stderr
    assert (out / "reward.txt").read_text() == "0\n"
    rewards = json.loads((out / "reward.json").read_text())
    assert list(rewards)[0] == "reward" and min(rewards) == "reward"  # first, also in sorted order
    assert rewards["reward"] == 0.0 and rewards["verdict_category_tests_failed"] == 1
    assert sum(rewards[f"verdict_category_{c}"] for c in categories.ALL) == 1
    assert all(isinstance(v, (int, float)) for v in rewards.values())
    assert json.loads((out / "verdict.json").read_text())["category"] == "tests_failed"
    assert sorted(p.name for p in out.iterdir()) == ["reward.json", "reward.txt", "verdict.json"]


@pytest.mark.parametrize(
    "stdin",
    ["", "harness error: boom\n", '{"passed": true}\n', '{"passed": true, "category": "tests_failed", "checks": []}\n',
     '{"passed": "yes", "category": "passed", "checks": []}\n', "[1, 2]\n"],
)
def test_write_rewards_refuses_what_is_no_verdict(tmp_path: Path, bundle, stdin: str) -> None:
    root, _ = bundle("keep_p")
    out = tmp_path / "logs"
    out.mkdir()
    proc = _run([str(root / RUNNER), "--write-rewards", str(out), str(root)], stdin)
    assert proc.returncode == grader_bootstrap.EXIT_BAD_VERDICT, proc.stderr
    assert "harness error" in proc.stderr
    assert list(out.iterdir()) == []


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for argv in (["--harbor"], ["--payload", "x"], ["--nope", "a", "b"], []):
        assert _run([str(BOOTSTRAP), *argv]).returncode == grader_bootstrap.EXIT_USAGE


def test_reference_path_is_the_package_reference() -> None:
    assert seed_samples()[0].reference == REFERENCE_FILE.read_bytes()

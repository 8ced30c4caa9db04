"""`vsd-inspect report` on logs from real runs of the reference policies, plus its statistics.

One eval-set run per session (four policies x four samples x two epochs, local sandbox)
produces the logs; every number the report prints is checked against the same logs read
independently with `read_eval_log`. Variants of those logs (another task version, a retry,
an errored sample) are made through Inspect's own `write_eval_log`, never by editing JSON.
"""

import csv
import io
import json
import shutil
import statistics
import sys
from collections import Counter
from pathlib import Path

import pytest
from inspect_ai import Task, eval, eval_set
from inspect_ai.dataset import Sample
from inspect_ai.log import (
    EvalError,
    EvalLog,
    list_eval_logs,
    read_eval_log,
    read_eval_log_sample_summaries,
    write_eval_log,
)
from inspect_ai.scorer import match

from vsd_inspect.cli import main
from vsd_inspect.constants import TASK_VERSION
from vsd_inspect.report import build_rows, collect
from vsd_inspect.report_stats import (
    ABOVE,
    BELOW,
    INSIDE,
    UNDECIDED,
    Z95,
    band_verdict,
    clustered_interval,
    design_effect,
    mean_pass_at_k,
    pass_at_k,
    t_quantile,
    wilson,
)

TASK = "vsd_inspect/vsd_dropout"  # the entry-point name of vsd_inspect/task.py: works from any directory
POLICIES = ("vsd/oracle", "vsd/nop", "vsd/naive", "vsd/tamper")
V = TASK_VERSION
OTHER = f"{TASK_VERSION}-other"  # a second version, sorting after the current one
EPOCHS = 2
SAMPLES = 4
Z2 = Z95 * Z95
# Wilson at n = 4 (four samples, epochs identical so each counts once): closed forms.
ALL_PASS_LOW = 4 / (4 + Z2)  # x = n: low = n / (n + z^2), high = 1
NONE_PASS_HIGH = Z2 / (4 + Z2)  # x = 0: low = 0, high = z^2 / (n + z^2)


@pytest.fixture(scope="session")
def policy_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One eval set of the four reference policies; retries absorb a transient harness error."""
    log_dir = tmp_path_factory.mktemp("policy_logs")
    ok, _ = eval_set(
        TASK,
        log_dir=str(log_dir),
        model=list(POLICIES),
        task_args={"sandbox": "local", "concepts": "vsd", "params": "p", "surfaces": "plain"},  # the seed task's 4 bugs
        epochs=EPOCHS,
        retry_attempts=3,
        display="none",
    )
    assert ok
    return log_dir


def _by_model(log_dir: Path) -> dict[str, EvalLog]:
    """The full logs, read independently of the report, keyed by model."""
    return {log.eval.model: log for log in (read_eval_log(i) for i in list_eval_logs(str(log_dir)))}


def _report(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _copy_with(src: Path, dest: Path, **eval_fields: object) -> None:
    """Copy a log through Inspect's API, overriding fields of its eval spec."""
    log = read_eval_log(str(src))
    for name, value in eval_fields.items():
        setattr(log.eval, name, value)
    write_eval_log(log, str(dest))


def _log_of(log_dir: Path, model: str) -> Path:
    for info in list_eval_logs(str(log_dir)):
        if read_eval_log(info, header_only=True).eval.model == model:
            return Path(info.name.removeprefix("file://"))
    raise LookupError(model)


# --- the reference policies -------------------------------------------------------------


def test_rows_equal_the_counts_in_the_logs(policy_logs: Path) -> None:
    found = collect([str(policy_logs)])
    rows = {r.model: r for r in build_rows(found.attempts)}
    logs = _by_model(policy_logs)
    assert found.warnings == []
    assert found.logs == 4
    assert sorted(rows) == sorted(POLICIES)
    for model, log in logs.items():
        row = rows[model]
        scores = [s.scores["vsd_scorer"] for s in log.samples]
        assert (row.samples, row.epochs, row.attempts, row.errors) == (SAMPLES, (EPOCHS, EPOCHS), 8, 0)
        assert row.passes == sum(s.value == "C" for s in scores)
        assert row.failures == dict(Counter(s.answer for s in scores if s.value == "I").most_common())
        assert row.tamper_rate == sum(s.metadata["signals"]["test_modified"] for s in scores) / 8
        tokens = [sum(u.total_tokens for u in s.model_usage.values()) for s in log.samples]
        assert row.median_tokens == statistics.median(tokens)
        assert row.median_seconds == statistics.median(s.working_time for s in log.samples)
        assert row.task_version == str(log.eval.task_version) == V
        assert (row.difficulty, row.variant) == ("standard", None)


def test_reference_policies_pass_rates_intervals_and_tamper(policy_logs: Path) -> None:
    rows = {r.model: r for r in build_rows(collect([str(policy_logs)]).attempts)}
    oracle = rows["vsd/oracle"]
    assert (oracle.pass_rate, oracle.pass_at_k, oracle.k, oracle.tamper_rate) == (1.0, 1.0, 2, 0.0)
    assert oracle.ci_low == pytest.approx(ALL_PASS_LOW, abs=1e-12) and oracle.ci_high == 1.0
    assert (oracle.design_effect, oracle.effective_n, oracle.band) == (2.0, 4.0, ABOVE)
    for model in ("vsd/nop", "vsd/naive", "vsd/tamper"):
        row = rows[model]
        assert (row.pass_rate, row.pass_at_k, row.ci_low, row.band) == (0.0, 0.0, 0.0, UNDECIDED)
        assert row.ci_high == pytest.approx(NONE_PASS_HIGH, abs=1e-12)
        assert row.tamper_rate == (1.0 if model == "vsd/tamper" else 0.0)
    assert rows["vsd/nop"].failures == {"tests_failed": 6, "no_sqrt": 2}
    assert rows["vsd/naive"].failures == {"tests_failed": 8}
    assert rows["vsd/tamper"].failures == {"test_modified": 8}


def test_markdown_table(policy_logs: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = _report(capsys, str(policy_logs))
    sections = out.split("\n\n")
    lines = sections[0].splitlines()
    assert (code, err) == (0, "")
    assert lines[0] == (
        "| task version | model | difficulty | samples × epochs | clusters | errors | pass rate | 95 % CI "
        "| design effect | effective n | pass@k | band 10–40 % | failures | tamper | median time (s) | median tokens |"
    )
    # models by pass rate, ties by name; the cost columns are checked against the logs above.
    # Task 1.0.0 records no template: each sample is its own cluster, and identical epochs count once.
    cut = [" | ".join(line.split(" | ")[:14]) for line in lines[2:]]
    assert cut == [
        f"| {V} | `vsd/oracle` | standard | 4 × 2 | 4 templates | 0 | 100.0 % | 51.0–100.0 % | 2.00 | 4.0 "
        + "| 100.0 % (k=2) | above | — | 0.0 %",
        f"| {V} | `vsd/naive` | standard | 4 × 2 | 4 templates | 0 | 0.0 % | 0.0–49.0 % | 2.00 | 4.0 "
        + "| 0.0 % (k=2) | undecided | tests_failed 8 | 0.0 %",
        f"| {V} | `vsd/nop` | standard | 4 × 2 | 4 templates | 0 | 0.0 % | 0.0–49.0 % | 2.00 | 4.0 "
        + "| 0.0 % (k=2) | undecided | tests_failed 6, no_sqrt 2 | 0.0 %",
        f"| {V} | `vsd/tamper` | standard | 4 × 2 | 4 templates | 0 | 0.0 % | 0.0–49.0 % | 2.00 | 4.0 "
        + "| 0.0 % (k=2) | undecided | test_modified 8 | 100.0 %",
    ]
    assert sections[1].startswith("95 % interval: Wilson")
    # Every pair of policies ran the same 4 samples: a difference, an interval and a verdict each.
    # A clean sweep over 4 samples is not enough (the sign test needs 6): 2 * 0.025^(1/4) - 1 = -20.5 pp.
    assert sections[2] == "Paired differences (A − B on the samples both models scored):"
    pairs = [" | ".join(line.split(" | ")[2:]) for line in sections[3].splitlines()[2:]]
    oracle_vs = "| 4 | 4 templates | 0 | +100.0 pp | −20.5 to +100.0 pp | — | 2.00 | 4.0 | undecided |"
    ties = "| 4 | 4 templates | 0 | +0.0 pp | −60.2 to +60.2 pp | — | 2.00 | 4.0 | undecided |"
    assert pairs == [
        f"`vsd/oracle` | `vsd/naive` {oracle_vs}", f"`vsd/oracle` | `vsd/nop` {oracle_vs}",
        f"`vsd/oracle` | `vsd/tamper` {oracle_vs}", f"`vsd/naive` | `vsd/nop` {ties}",
        f"`vsd/naive` | `vsd/tamper` {ties}", f"`vsd/nop` | `vsd/tamper` {ties}",
    ]  # fmt: skip
    assert sections[5].startswith(f"Power, task version {V}, standard: 4 samples in 4 templates; no difference "
                                  "up to +75.0 pp is detected with 80 % power")  # fmt: skip


def test_csv_and_json(policy_logs: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _report(capsys, str(policy_logs), "--format", "csv")
    table = {r["model"]: r for r in csv.DictReader(io.StringIO(out))}
    assert code == 0
    assert [table[m]["pass_rate"] for m in POLICIES] == ["1.0", "0.0", "0.0", "0.0"]
    assert [table[m]["tamper_rate"] for m in POLICIES] == ["0.0", "0.0", "0.0", "1.0"]
    assert (table["vsd/nop"]["fail_tests_failed"], table["vsd/nop"]["fail_no_sqrt"]) == ("6", "2")
    assert (table["vsd/oracle"]["difficulty"], table["vsd/oracle"]["variant"], table["vsd/oracle"]["attempts"]) == (
        "standard",
        "",
        "8",
    )

    code, out, _ = _report(capsys, str(policy_logs), "--format", "json")
    doc = json.loads(out)
    rows = {r["model"]: r for r in doc["rows"]}
    assert (code, doc["logs"], doc["warnings"], doc["target_band"]) == (0, 4, [], [0.1, 0.4])
    assert rows["vsd/tamper"]["failures"] == {"test_modified": 8}
    assert (rows["vsd/oracle"]["ci_high"], rows["vsd/oracle"]["k"], rows["vsd/oracle"]["band"]) == (1.0, 2, "above")


def test_split_by_variant(policy_logs: Path) -> None:
    rows = build_rows(collect([str(policy_logs)]).attempts, ["variant"])
    oracle = [r for r in rows if r.model == "vsd/oracle"]
    # task 2.0.0 records no `variant`: the row is named by the template (concept/bug)
    assert sorted(r.variant for r in oracle) == ["vsd/eval_scaled", "vsd/keep_p", "vsd/scale_mean", "vsd/sqrt_p"]
    assert {(r.samples, r.attempts, r.pass_rate) for r in oracle} == {(1, 2, 1.0)}
    # one sample: the design effect cannot be estimated, so the sample counts once (n = 1)
    assert oracle[0].ci_low == pytest.approx(1 / (1 + Z2), abs=1e-12)


def test_plot(policy_logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from vsd_inspect.report_plot import plot_rows

    png = tmp_path / "rates.png"
    code, _, err = _report(capsys, str(policy_logs), "--plot", str(png))
    assert (code, err) == (0, f"vsd-inspect: wrote {png}\n")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    labels = plot_rows(build_rows(collect([str(policy_logs)]).attempts), str(tmp_path / "again.png"))
    assert labels == ["vsd/oracle", "vsd/naive", "vsd/nop", "vsd/tamper"]


def test_plot_without_matplotlib(policy_logs: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    code, out, err = _report(capsys, str(policy_logs), "--plot", str(tmp_path / "x.png"))
    assert (code, out) == (2, "")
    assert err == (
        "vsd-inspect: --plot needs matplotlib; install it with: uv sync --extra plot  "
        "(or: pip install 'vsd-inspect[plot]')\n"
    )
    assert not (tmp_path / "x.png").exists()


# --- log sets that are not one clean run ----------------------------------------------------


def test_two_task_versions_are_never_pooled(policy_logs: Path, tmp_path: Path, capsys) -> None:
    shutil.copytree(policy_logs, tmp_path / "v1")
    oracle = _log_of(policy_logs, "vsd/oracle")
    _copy_with(oracle, tmp_path / "v2" / oracle.name, task_version=OTHER, task_id="newversionrun")
    code, out, err = _report(capsys, str(tmp_path))
    assert code == 0
    assert err == (
        f"vsd-inspect: warning: the logs hold 2 task versions ({V}, {OTHER}): rows are split by version, "
        "never pooled; compare pass rates only within one version\n"
    )
    rows = [line.split(" | ")[:5] for line in out.splitlines()[2:7]]  # version, model, difficulty, shape
    assert [r[:2] for r in rows] == [[f"| {V}", "`vsd/oracle`"], [f"| {V}", "`vsd/naive`"],
                                     [f"| {V}", "`vsd/nop`"], [f"| {V}", "`vsd/tamper`"],
                                     [f"| {OTHER}", "`vsd/oracle`"]]  # fmt: skip
    assert rows[0][2:4] == rows[4][2:4] == ["standard", "4 × 2"]


def test_mixed_difficulties_split_rows(policy_logs: Path, tmp_path: Path) -> None:
    nop = _log_of(policy_logs, "vsd/nop")
    shutil.copy(nop, tmp_path / nop.name)
    [hard] = eval(TASK, model="vsd/nop", task_args={"sandbox": "local", "difficulty": "hard", "concepts": "vsd", "bugs": "scale_mean", "params": "p", "surfaces": "plain"},
                  log_dir=str(tmp_path / "hard"), display="none")  # fmt: skip
    rows = build_rows(collect([str(tmp_path)]).attempts)
    assert [(r.model, r.difficulty, r.samples, r.attempts, r.failures) for r in rows] == [
        ("vsd/nop", "hard", 1, 1, {"no_sqrt": 1}),
        ("vsd/nop", "standard", 4, 8, {"tests_failed": 6, "no_sqrt": 2}),
    ]
    assert hard.eval.task_args["difficulty"] == "hard"


def test_a_retried_run_counts_once(policy_logs: Path, tmp_path: Path) -> None:
    nop = _log_of(policy_logs, "vsd/nop")
    shutil.copy(nop, tmp_path / nop.name)
    _copy_with(nop, tmp_path / "retry" / nop.name.replace("_vsd-dropout_", "_vsd-dropout_retry_"))
    found = collect([str(tmp_path)])
    assert found.warnings == [
        f"{tmp_path / nop.name}: skipped, an earlier attempt of a run retried in "
        + f"{tmp_path / 'retry' / nop.name.replace('_vsd-dropout_', '_vsd-dropout_retry_')}"
    ]
    assert [(r.model, r.attempts) for r in build_rows(found.attempts)] == [("vsd/nop", 8)]


def test_errored_samples_are_counted_apart(policy_logs: Path, tmp_path: Path) -> None:
    log = read_eval_log(str(_log_of(policy_logs, "vsd/oracle")))
    broken = log.samples[0]
    broken.error = EvalError(message="SandboxGradingError('grader down')", traceback="", traceback_ansi="")
    broken.scores = None
    log.status = "error"
    write_eval_log(log, str(tmp_path / "oracle.eval"))
    found = collect([str(tmp_path)])
    [row] = build_rows(found.attempts)
    assert found.warnings == [
        f"{tmp_path / 'oracle.eval'}: the eval ended with status 'error'; its finished samples count"
    ]
    assert (row.attempts, row.scored, row.errors, row.passes, row.pass_rate) == (8, 7, 1, 7, 1.0)
    assert (row.epochs, row.k, row.pass_at_k) == ((2, 2), 1, 1.0)  # the sample with one scored epoch sets k


def test_foreign_corrupt_and_non_log_files_are_skipped(policy_logs: Path, tmp_path: Path, capsys) -> None:
    tamper = _log_of(policy_logs, "vsd/tamper")
    shutil.copy(tamper, tmp_path / tamper.name)
    [other] = eval(Task(dataset=[Sample(input="Say hi.", target="hi")], scorer=match(), name="other_task"),
                   model="mockllm/model", log_dir=str(tmp_path / "other"), display="none")  # fmt: skip
    (tmp_path / "2026-01-01T00-00-00-00-00_broken_abc.eval").write_text("not a zip")
    (tmp_path / "2026-01-01T00-00-00-00-00_cut_abc.eval").write_bytes(tamper.read_bytes()[:4000])
    notes = tmp_path / "notes.txt"
    notes.write_text("not a log")
    code, out, err = _report(capsys, str(tmp_path), str(notes))
    other_file = other.location.removeprefix("file://")
    assert code == 0
    assert err.splitlines() == [
        f"vsd-inspect: warning: {notes}: skipped, not an Inspect log (.eval or .json file)",
        f"vsd-inspect: warning: {tmp_path}/2026-01-01T00-00-00-00-00_broken_abc.eval: skipped, not a readable "
        + "Inspect log (ValueError: EOCD not found)",
        f"vsd-inspect: warning: {tmp_path}/2026-01-01T00-00-00-00-00_cut_abc.eval: skipped, not a readable "
        + "Inspect log (ValueError: EOCD not found)",
        f"vsd-inspect: warning: {other_file}: skipped, a log of task 'other_task', not vsd_dropout",
    ]
    assert [line.split(" | ")[1] for line in out.split("\n\n")[0].splitlines()[2:]] == ["`vsd/tamper`"]
    assert "Paired differences" not in out  # one model: nothing to pair


def test_empty_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = _report(capsys, str(tmp_path))
    assert (code, out) == (2, "")
    assert err == (
        f"vsd-inspect: no vsd_dropout samples in {tmp_path}; run an eval first, "
        "e.g. inspect eval vsd_inspect/task.py --model vsd/oracle\n"
    )


def test_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = _report(capsys, str(tmp_path / "nope"))
    assert code == 2
    assert err.splitlines()[0] == f"vsd-inspect: warning: {tmp_path / 'nope'}: no such file or directory"


# --- statistics against closed forms ---------------------------------------------------------


def test_wilson_closed_forms() -> None:
    for n in (1, 4, 8, 20, 35):
        low, high = wilson(1.0, n)
        assert (low, high) == (pytest.approx(n / (n + Z2), abs=1e-12), 1.0)
        low, high = wilson(0.0, n)
        assert (low, high) == (0.0, pytest.approx(Z2 / (n + Z2), abs=1e-12))
    # half the trials: centred on 1/2, half-width z * sqrt(1/(4n) + z^2/(4n^2)) / (1 + z^2/n)
    low, high = wilson(0.5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert tuple(round(x, 4) for x in wilson(0.5, 2)) == (0.0945, 0.9055)
    assert Z95 == pytest.approx(1.959963984540054, abs=1e-15)
    # samples needed before a run with no passes is "below" the 10 % band edge: n > 9 z^2 = 34.6
    assert (wilson(0.0, 34)[1] > 0.10, wilson(0.0, 35)[1] < 0.10) == (True, True)


def test_design_effect() -> None:
    assert design_effect([(2, 2), (0, 2), (2, 2), (0, 2)]) == 2.0  # epochs agree: capped at 2 per sample
    assert design_effect([(1, 2), (1, 2), (1, 2), (1, 2)]) == 1.0  # epochs disagree: floored at 1
    assert design_effect([(2, 2), (1, 2), (0, 2), (1, 2)]) == pytest.approx(4 / 3, abs=1e-12)
    assert design_effect([(2, 2), (2, 2)]) == 2.0  # all passed: cannot be estimated, the cautious end
    assert design_effect([(1, 1), (0, 1), (1, 1)]) == 1.0  # one epoch: plain Wilson
    ci = clustered_interval([(2, 2), (1, 2), (0, 2), (1, 2)])
    assert (ci.rate, ci.effective_n) == (0.5, pytest.approx(6.0, abs=1e-12))
    # The design effect was estimated from 4 clusters: Wilson with the t(3) quantile (Korn-Graubard)
    assert (ci.df, (ci.low, ci.high)) == (3, wilson(0.5, ci.effective_n, t_quantile(0.975, 3)))


def test_pass_at_k() -> None:
    assert pass_at_k(4, 1, 2) == 0.5  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert pass_at_k(5, 2, 3) == pytest.approx(0.9, abs=1e-12)  # 1 - C(3,3)/C(5,3) = 1 - 1/10
    assert (pass_at_k(2, 0, 2), pass_at_k(2, 1, 2), pass_at_k(2, 2, 1)) == (0.0, 1.0, 1.0)
    assert mean_pass_at_k([(1, 2), (0, 2), (2, 2)]) == (pytest.approx(2 / 3, abs=1e-12), 2)
    assert mean_pass_at_k([(1, 3), (0, 2)]) == (pytest.approx(1 / 3, abs=1e-12), 2)  # k = fewest attempts
    with pytest.raises(ValueError, match="n=2, c=0, k=3"):
        pass_at_k(2, 0, 3)


def test_band_verdict() -> None:
    assert band_verdict(0.0, 0.09) == BELOW
    assert band_verdict(0.12, 0.35) == INSIDE
    assert band_verdict(0.10, 0.40) == INSIDE
    assert band_verdict(0.41, 0.90) == ABOVE
    assert band_verdict(0.05, 0.30) == UNDECIDED
    assert band_verdict(0.30, 0.60) == UNDECIDED
    assert band_verdict(0.0, 0.49) == UNDECIDED


def test_outcome_values_match_inspect() -> None:
    from inspect_ai.scorer import CORRECT, INCORRECT

    from vsd_inspect import report

    assert (report.CORRECT, report.INCORRECT) == (CORRECT, INCORRECT)


def test_signals_too_big_for_the_summary_are_read_from_the_sample(policy_logs: Path, tmp_path: Path) -> None:
    log = read_eval_log(str(_log_of(policy_logs, "vsd/tamper")))
    many = [f"scratch/notes_{i:03d}_with_a_long_name.txt" for i in range(60)]  # ~2.5 kB: over the 1 kB cap
    for sample in log.samples:
        sample.scores["vsd_scorer"].metadata["signals"]["added_files"] = many
    write_eval_log(log, str(tmp_path / "tamper.eval"))
    summary = read_eval_log_sample_summaries(str(tmp_path / "tamper.eval"))[0]
    assert summary.scores["vsd_scorer"].metadata["signals"] == "Key removed from summary (> 1k)"
    [row] = build_rows(collect([str(tmp_path)]).attempts)
    assert (row.attempts, row.tamper_rate) == (8, 1.0)

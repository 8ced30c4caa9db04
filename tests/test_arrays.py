"""The judge's side of the array exchange: headers, early reads while the worker runs, the wait."""

import io
import subprocess
import sys
import time

import numpy as np
import pytest

from vsd_inspect.constants import SEED_REFERENCE_FILE
from vsd_inspect.grader import arrays, categories as cat, jail, judge, lawkit, plan as planning, simulate, worker
from vsd_inspect.grader.judge import load_laws
from vsd_inspect.material import render_visible_test

SEED = 20261126


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(3),
        np.zeros((2, 3), np.float32),
        np.zeros((2, 3)).T,  # saved in Fortran order
        np.zeros(6, np.int8),
        np.zeros((1, 2, 3)),
        np.zeros(()),
        np.zeros((2, 3), ">f8"),
    ],
)
def test_fast_header_agrees_with_numpys_parser(array: np.ndarray) -> None:
    f = io.BytesIO()
    np.save(f, array)
    data = f.getvalue()
    g = io.BytesIO(data)
    np.lib.format.read_magic(g)
    shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(g)
    assert arrays._SAVED_HEADER.fullmatch(data, 10, g.tell()) is not None  # the fast path was taken
    assert arrays._header(data) == (tuple(shape), fortran_order, dtype, g.tell())


def test_a_header_np_save_never_writes_goes_to_numpys_parser() -> None:
    f = io.BytesIO()
    np.save(f, np.zeros((1, 2, 3)))
    sloppy = f.getvalue().replace(b"(1, 2, 3)", b"(1,, 2,3)")
    assert arrays._SAVED_HEADER.fullmatch(sloppy, 10, 128) is None
    with pytest.raises(ValueError):
        arrays._header(sloppy)


def test_fortran_order_output_is_read_as_saved(tmp_path) -> None:
    y = np.arange(12.0).reshape(3, 4).T
    np.save(tmp_path / "y.npy", y)
    got, why = arrays.load_array(tmp_path / "y.npy", (4, 3), ("float64",))
    assert why == "" and np.array_equal(got, y)


def test_trailing_bytes_make_a_bad_output(tmp_path) -> None:
    np.save(tmp_path / "y.npy", np.zeros(4))
    with open(tmp_path / "y.npy", "ab") as f:
        f.write(b"\0" * 8)
    got, why = arrays.load_array(tmp_path / "y.npy", (4,), ("float64",))
    assert got is None and "bytes of data" in why


def _judging(tmp_path):
    """An output judge of the seed sample's outputs as a correct worker writes them (the
    reference layer, run by the worker's own session runner, here in this process)."""
    namespace: dict = {"__name__": "visible_test"}
    exec(render_visible_test("vsd", "p"), namespace)
    visible = type(sys)("visible_test")
    visible.__dict__.update(namespace)
    vis_inputs = visible.build_inputs()
    laws = load_laws("vsd")
    hidden = planning.build(laws, "p", SEED)
    sessions = judge._visible_sessions(visible.CALLS) + hidden.sessions
    given = {f"v_{k}": a for k, a in vis_inputs.items()} | hidden.inputs
    for key, spec in hidden.views.items():
        given[key] = lawkit.view_of(given[spec["base"]], spec["view"])
    layer = simulate.load_layer(SEED_REFERENCE_FILE, "VarianceStabilizedDropout")
    for session in sessions:
        worker.run_session(np, layer, session, given, lambda key, a: np.save(tmp_path / f"{key}.npy", a), print)
    judging = arrays.OutputJudge(tmp_path, visible, vis_inputs, laws, hidden, sessions)
    return judging, {s["id"] for s in sessions}


def _after_exit(judging: arrays.OutputJudge) -> arrays.OutputJudge:
    """A judge of the same outputs that reads nothing before `result()`."""
    return arrays.OutputJudge(judging.out_dir, judging.visible, judging.vis_inputs, judging.laws, judging.plan, [])


def test_early_reads_give_the_verdict_of_reading_after_the_exit(tmp_path) -> None:
    judging, ended = _judging(tmp_path)
    late = _after_exit(judging)
    judging.judge_ended(ended)
    assert set(judging.judged) == set(judging.groups)  # every group judged while "running"
    early_result, late_result = judging.result(), late.result()
    assert early_result[1] is None and late_result[1] is None
    assert early_result == late_result
    vis_results, hid_results, _ = early_result[0]
    assert all(r["passed"] for r in vis_results + hid_results)


def test_a_group_read_half_written_is_read_again_after_the_exit(tmp_path) -> None:
    judging, ended = _judging(tmp_path)
    path = tmp_path / "h_low_y2.npy"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # the worker is still writing it
    judging.judge_ended(ended)
    assert "low" not in judging.judged and "visible" in judging.judged
    path.write_bytes(whole)
    judged, problem = judging.result()
    assert problem is None
    assert all(r["passed"] for r in judged[1])


def test_a_group_still_bad_after_the_exit_is_the_verdict(tmp_path) -> None:
    judging, ended = _judging(tmp_path)
    (tmp_path / "h_high_y1.npy").unlink()
    judging.judge_ended(ended)
    assert judging.result() == (None, ("missing", "h_high_y1"))
    bad = _after_exit(judging)
    np.save(tmp_path / "h_high_y1.npy", np.full(judging.inputs["h_high"].shape, np.nan))
    judged, problem = bad.result()
    assert judged is None and problem[0] == cat.BAD_OUTPUT and "NaN" in problem[1]


def test_waiting_calls_back_until_the_process_ends_or_the_time_is_up() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    calls = []
    started = time.monotonic()
    assert jail._wait_exit(proc, 5.0, lambda: calls.append(1)) is True
    assert 0.2 < time.monotonic() - started < 4.0 and len(calls) > 10
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert jail._wait_exit(proc, 0.1) is False  # no callback: one wait, then the answer
        assert jail._wait_exit(proc, 0.1, lambda: None) is False
    finally:
        proc.kill()
        proc.wait()


def test_files_changed_after_an_early_read_are_judged_as_they_are_at_the_end(tmp_path) -> None:
    judging, ended = _judging(tmp_path)
    judging.judge_ended(ended)
    assert set(judging.judged) == set(judging.groups)
    time.sleep(0.05)  # file times are coarse: let a clock tick pass, as an exit hook's delay would
    np.save(tmp_path / "h_low_y1.npy", np.full(judging.inputs["h_low"].shape, np.nan))  # rewritten
    judged, problem = judging.result()
    assert judged is None and problem == (cat.BAD_OUTPUT, "output h_low_y1 contains NaN or infinity")


def test_outputs_deleted_after_an_early_read_are_missing(tmp_path) -> None:
    judging, ended = _judging(tmp_path)
    judging.judge_ended(ended)
    for path in tmp_path.glob("*.npy"):  # an exit hook wipes the output directory
        path.unlink()
    assert judging.result() == (None, ("missing", "v_train_p0.3"))

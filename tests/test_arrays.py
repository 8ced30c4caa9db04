"""The judge's side of the array exchange: the output buffer's regions and headers, the wait."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from vsd_inspect.constants import SEED_REFERENCE_FILE
from vsd_inspect.grader import arrays, categories as cat, jail, judge, lawkit, outbuf, plan as planning, simulate, worker
from vsd_inspect.grader.judge import load_laws
from vsd_inspect.material import render_visible_test

SEED = 20261126


# How the judge reads a region: copied out of an unmapped buffer, copied out of a mapped one
# (the warm pool's), or viewed in place (the pool's, settled: once no process can write it).
READS = {"copied": (False, False), "copied-from-map": (True, False), "in-place": (True, True)}


def _one(array: np.ndarray, shape: tuple, dtypes: tuple[str, ...], capacity: int | None = None, read: str = "copied"):
    """`array` saved by the worker's saver into a region of a fresh buffer, read back `read`'s
    way: (the array, or a copy of the in-place view taken before the buffer closes; the reason;
    whether what the judge got was writeable)."""
    mapped, in_place = READS[read]
    buffer = outbuf.OutputBuffer(1 << 20, mapped=mapped)
    region = (64, capacity or outbuf.OUT_HEADER + 8 * max(1, int(np.prod(shape))))
    worker._saver(np, buffer.fd, {"y": region})("y", array)
    buffer.settled = in_place
    try:
        got, why = arrays.load_array(buffer, region, shape, dtypes)
        writeable = None if got is None else got.flags.writeable
        whole = buffer.view(0, np.uint8, buffer.size)
        assert (whole is not None) == in_place  # a view only of a mapped, settled buffer
        if got is not None:
            assert np.shares_memory(got, whole) if in_place else whole is None  # a view, or a copy
        if got is not None and in_place:
            got = got.copy()
        return got, why, writeable
    finally:
        buffer.close()


@pytest.mark.parametrize(
    "array",
    [
        np.arange(3.0),
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.arange(6.0).reshape(2, 3).T,  # Fortran order: written in C order, the same values
        np.arange(12.0).reshape(3, 4)[::2, 1:],  # a strided view
        np.arange(6, dtype=np.int8),
        np.arange(6.0).reshape(1, 2, 3),
        np.array(2.5),
        np.arange(6.0, dtype=">f8").reshape(2, 3),  # big-endian: read as written
    ],
)
@pytest.mark.parametrize("read", list(READS))
def test_an_output_reads_back_as_the_worker_saved_it(array: np.ndarray, read: str) -> None:
    got, why, writeable = _one(array, array.shape, (array.dtype.name,), read=read)
    assert why == "" and got.dtype == array.dtype and got.shape == array.shape and np.array_equal(got, array)
    assert writeable is False  # the judge's own copy or its view: read-only either way


def test_outputs_are_read_in_place_only_when_no_process_can_write_the_buffer() -> None:
    """The judge views a region in place only after a worker whose jail guarantees that every
    process that held the buffer is dead (the rule the pool's reuse follows too)."""
    assert outbuf.writers_dead(["wall", "cpu", "pid-namespace"])
    assert outbuf.writers_dead(["wall", "cpu", "pids-cgroup"])
    assert not outbuf.writers_dead(["wall", "cpu", "address-space", "file-size", "open-files", "nproc"])
    buffer = outbuf.OutputBuffer(1 << 16, mapped=True)
    try:
        assert buffer.view(0, np.uint8, 8) is None  # not settled: copied
        buffer.settled = True
        assert buffer.view(0, np.uint8, 8) is not None
        buffer.poison(4096)  # cleared for the next grading: no longer settled
        assert not buffer.settled and buffer.view(0, np.uint8, 8) is None
    finally:
        buffer.close()


def test_a_region_nobody_wrote_is_missing_and_so_is_a_cleared_one() -> None:
    buffer = outbuf.OutputBuffer(1 << 16, mapped=True)
    try:
        assert arrays.load_array(buffer, (0, 4096), (4,), ("float64",)) == (None, "missing")
        worker._saver(np, buffer.fd, {"y": (0, 4096)})("y", np.zeros(4))
        assert arrays.load_array(buffer, (0, 4096), (4,), ("float64",))[1] == ""
        buffer.poison(4096)
        assert arrays.load_array(buffer, (0, 4096), (4,), ("float64",)) == (None, "missing")
        assert buffer.read(0, 4096) == b"\xff" * 4096  # not a byte of the last grading is left
    finally:
        buffer.close()


@pytest.mark.parametrize("read", list(READS))
def test_a_wrong_shape_or_dtype_is_named_from_the_header(read: str) -> None:
    assert _one(np.zeros(5), (4,), ("float64",), read=read)[1] == "has shape (5,); input (4,)"
    assert _one(np.zeros(4, np.float16), (4,), ("float32", "float64"), read=read)[1] == "has dtype float16; expected float32 or float64"
    # Too big for its region: the header alone says what it was.
    assert _one(np.zeros(4000), (4,), ("float64",), read=read)[1] == "has shape (4000,); input (4,)"
    assert _one(np.zeros([1] * 64), (4,), ("float64",), read=read)[1] == f"has shape {(1,) * 64}; input (4,)"


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 5000 + b"]" * 5000,  # nested past the JSON parser's recursion limit
        b'["<f8", [1099511627776]]',  # 2**40 elements claimed: refused by shape, nothing allocated
        b'["O", [4]]',  # an object dtype
        b'["<f8", [4.0]]',
        b'["<f8", "4"]',
        b'{"descr": "<f8"}',
        b"\xff\xfe not json",
        b'["(4,)f8", [4]]',  # a sub-array dtype
        b'["<f8", null]',  # what the worker writes for a shape too long for the header
    ],
)
@pytest.mark.parametrize("read", list(READS))
def test_a_forged_header_is_a_bad_output_never_a_crash(payload: bytes, read: str) -> None:
    mapped, in_place = READS[read]
    buffer = outbuf.OutputBuffer(1 << 16, mapped=mapped)
    buffer.settled = in_place
    try:
        head = outbuf.OUT_MAGIC + len(payload[:400]).to_bytes(4, "little") + payload[:400]
        os.pwrite(buffer.fd, head, 0)
        got, why = arrays.load_array(buffer, (0, 4096), (4,), ("float64",))
        assert got is None and why not in ("", "missing"), why
    finally:
        buffer.close()


def test_the_buffer_cannot_be_resized_and_data_past_the_cleared_part_is_seen() -> None:
    buffer = outbuf.OutputBuffer(1 << 16, mapped=True)
    try:
        if buffer.sealed:
            with pytest.raises(OSError):
                os.ftruncate(buffer.fd, 1 << 30)
            with pytest.raises(OSError):
                os.pwrite(buffer.fd, b"x", 1 << 16)  # past its end: it cannot grow
        assert not buffer.written_past(8192)
        os.pwrite(buffer.fd, b"x", 40000)  # a candidate's write past what the judge laid out
        assert buffer.written_past(8192)
        buffer.poison(8192)
        assert buffer.written_past(8192)  # still there: such a buffer is closed, not reused
    finally:
        buffer.close()


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
    specs = arrays.output_specs(visible, vis_inputs, hidden)
    layout = outbuf.layout(specs, given)
    buffer = outbuf.OutputBuffer(layout.size)
    save = worker._saver(np, buffer.fd, layout.for_worker(buffer.fd)["regions"])
    for session in sessions:
        worker.run_session(np, layer, session, given, save, print)
    return arrays.OutputJudge(specs, visible, vis_inputs, laws, hidden), buffer, layout


def test_the_reference_outputs_pass_every_check(tmp_path) -> None:
    judging, buffer, layout = _judging(tmp_path)
    judged, problem = judging.result(buffer, layout)
    assert problem is None
    vis_results, hid_results, figures = judged
    assert all(r["passed"] for r in vis_results + hid_results) and figures


def test_an_output_spoilt_before_the_end_is_the_verdict(tmp_path) -> None:
    judging, buffer, layout = _judging(tmp_path)
    offset, _ = layout.regions["h_low_y1"]
    nan = np.full(judging.inputs["h_low"].shape, np.nan)
    os.pwrite(buffer.fd, nan.tobytes(), offset + outbuf.OUT_HEADER)  # an exit hook rewrites it
    assert judging.result(buffer, layout) == (None, (cat.BAD_OUTPUT, "output h_low_y1 contains NaN or infinity"))
    os.pwrite(buffer.fd, b"\0" * outbuf.OUT_HEADER, layout.regions["v_train_p0.3"][0])  # and wipes a header
    assert judging.result(buffer, layout) == (None, ("missing", "v_train_p0.3"))


def test_waiting_ends_when_the_process_ends_or_the_time_is_up() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    started = time.monotonic()
    assert jail._wait_exit(proc, 5.0) is True
    assert 0.2 < time.monotonic() - started < 4.0
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert jail._wait_exit(proc, 0.1) is False
    finally:
        proc.kill()
        proc.wait()

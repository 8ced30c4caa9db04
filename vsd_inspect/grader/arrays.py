"""Arrays between the judge and the worker, and the verdict's arithmetic on them.

The inputs go to the worker in one buffer with a manifest (no zip, no pickle), and the outputs
come back in the same buffer (`outbuf.py`), each region's header checked before its bytes are
copied out. Only the judge imports this module (it needs numpy; the judge imports it after
the worker has been started, so the two pay for numpy at the same time).
"""

import json
from types import ModuleType

import numpy as np

from . import categories as cat, contract, outbuf
from .categories import HarnessError
from .outbuf import OutputBuffer

_DTYPES: dict[str, tuple[np.dtype, str]] = {}  # a header's dtype string -> the dtype and its name
_MAX_DTYPES = 64


def _dtype(descr: str) -> tuple[np.dtype, str]:
    """np.dtype(descr) and its name, parsed once per distinct string (a grading reads ~90
    headers, nearly all of one or two dtypes; `dtype.name` is computed in Python each time)."""
    hit = _DTYPES.get(descr)
    if hit is None:
        dtype = np.dtype(descr)
        hit = (dtype, dtype.name)
        if len(_DTYPES) < _MAX_DTYPES:
            _DTYPES[descr] = hit
    return hit


def load_array(buffer: OutputBuffer, region: tuple[int, int], shape: tuple, dtypes: tuple[str, ...]) -> tuple[np.ndarray | None, str]:
    """An output from its region of the buffer: the header the worker wrote is checked before
    any byte is read, then the bytes are copied into an array of the judge's own (read-only).
    (None, "missing") when the region has no header. On a settled buffer (`OutputBuffer.view`)
    the array is a read-only view of the region's bytes instead, valid until the buffer is given
    back (no check keeps an output past its grading)."""
    raw = outbuf.header(buffer, region[0])
    if raw is None:
        return None, "missing"
    try:
        descr, got_shape = json.loads(raw)
        if not isinstance(descr, str) or len(descr) > 16:
            raise ValueError("a dtype that is not a plain one")
        if got_shape is None:
            return None, f"has {descr} data of more dimensions than the input's {len(shape)}"
        if not isinstance(got_shape, list) or not all(type(d) is int and 0 <= d < 1 << 62 for d in got_shape):
            raise ValueError("a shape that is not one")
        if tuple(got_shape) != tuple(shape):
            return None, f"has shape {tuple(got_shape)}; input {tuple(shape)}"
        dtype, name = _dtype(descr)
        if name not in dtypes or dtype.hasobject:
            return None, f"has dtype {dtype}; expected {' or '.join(dtypes)}"
        count = 1
        for d in shape:
            count *= int(d)
        if count * dtype.itemsize > region[1] - outbuf.OUT_HEADER:
            raise ValueError("more bytes than its region holds")
        start = region[0] + outbuf.OUT_HEADER
        array = buffer.view(start, dtype, count)
        if array is not None:
            array = array.reshape(shape)
        else:
            array = np.empty(shape, dtype=dtype)
            if count and buffer.read_into(array.reshape(-1).view(np.uint8), start) != array.nbytes:
                raise ValueError("its bytes could not all be read")
    except Exception as ex:  # a forged header: any parse failure is a bad output
        return None, f"is not a plain numeric array ({type(ex).__name__})"
    array.flags.writeable = False
    return array, ""


def load_outputs(
    buffer: OutputBuffer,
    layout: outbuf.Layout,
    names: list[str],
    specs: dict[str, tuple[str, str, tuple]],
    inputs: dict,
):
    """Load and validate the named outputs (spec: the input it relates to, its kind, its
    shape); the first problem found, or None."""
    outputs: dict[str, np.ndarray] = {}
    for name in names:
        x_key, kind, shape = specs[name]
        dtypes = outbuf.accepted_dtypes(kind, inputs[x_key].dtype.name if kind == "snapshot" else "")
        y, why = load_array(buffer, layout.regions[name], shape, dtypes)
        if why == "missing":
            return outputs, ("missing", name)
        if y is None:
            return outputs, (cat.BAD_OUTPUT, f"output {name} {why}")
        if kind in ("float", "stack") and not np.isfinite(y).all():
            return outputs, (cat.BAD_OUTPUT, f"output {name} contains NaN or infinity")
        outputs[name] = y
    return outputs, None


class OutputJudge:
    """The worker's outputs, loaded and checked one group at a time once it has exited: the
    visible calls, each hidden case, the interface probe. Only one group's arrays are alive
    at once (the next group reads into the memory the last one freed). Any load problem wins
    over every check, in the order of the groups."""

    def __init__(self, specs: dict, visible: ModuleType, vis_inputs: dict, laws: ModuleType, plan) -> None:
        self.visible, self.vis_inputs, self.laws, self.plan = visible, vis_inputs, laws, plan
        self.inputs = {f"v_{k}": a for k, a in vis_inputs.items()} | plan.inputs
        self.specs = specs
        self.groups = {"visible": [f"v_{c['name']}" for c in visible.CALLS], **plan.groups}
        self.cases = {c.key: c for c in plan.cases}

    def result(self, buffer: OutputBuffer, layout: outbuf.Layout) -> tuple[tuple | None, tuple[str, str] | None]:
        """((visible results, hidden results, headline figures), None) or (None, the first
        problem); what is returned holds no array."""
        judged = {}
        for name, expected in self.groups.items():
            out, problem = load_outputs(buffer, layout, expected, self.specs, self.inputs)
            if problem is not None:
                return None, problem
            if name == "visible":
                judged[name] = self._visible(out)
            elif name == "interface":
                judged[name] = (contract.interface_checks(self.plan, out["i_flags"]),)
            else:
                judged[name] = contract.check_group(self.laws, self.plan, self.cases[name], out)
            del out
        vis_results, figures = judged["visible"]
        hid_results, counts = [], []
        for c in self.plan.cases:
            results, case_counts = judged[c.key]
            hid_results += results
            counts += case_counts
        hid_results += contract.dispersion_checks(counts)
        hid_results += judged["interface"][0]
        return (vis_results, hid_results, figures), None

    def _visible(self, out: dict) -> tuple[list, dict]:
        visible, vis_inputs = self.visible, self.vis_inputs
        vis_out = {c["name"]: out[f"v_{c['name']}"] for c in visible.CALLS}
        try:
            vis_results = visible.judge(vis_inputs, vis_out)
            figures = {str(k): round(float(v), 5) for k, v in visible.summary(vis_inputs, vis_out).items()}
        except Exception as ex:  # the pristine test on validated arrays must not raise
            raise HarnessError(f"the visible test's judge raised {type(ex).__name__}: {ex}") from ex
        return vis_results, figures


def output_specs(visible: ModuleType, vis_inputs: dict, plan) -> dict[str, tuple[str, str, tuple]]:
    """Every output a grading expects: name -> (the input it relates to, its kind, its shape)."""
    specs = {f"v_{c['name']}": (f"v_{c['input']}", "float", vis_inputs[c["input"]].shape) for c in visible.CALLS}
    return specs | plan.outputs

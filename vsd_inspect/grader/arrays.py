"""Arrays between the judge and the worker, and the verdict's arithmetic on them.

The inputs go to the worker as one raw file plus a manifest (no zip, no pickle); the
outputs come back as .npy files, each read once, its header checked before its data is
used, and viewed in place. Only the judge imports this module (it needs numpy; the judge
imports it after the worker has been started, so the two pay for numpy at the same time).
"""

import io
import math
import os
from pathlib import Path
from types import ModuleType

import numpy as np

from . import categories as cat, hidden
from .categories import HarnessError
from .safe_read import read_capped

_FLOATS = ("float32", "float64")
_ALIGN = 64  # each input starts on a 64-byte boundary of the file (and so of the worker's buffer)


def write_inputs(path: Path, inputs: dict[str, np.ndarray]) -> list[list]:
    """Write every input's bytes to `path`; returns the worker's manifest, one
    [key, dtype, shape, offset, count] per input."""
    manifest, offset = [], 0
    with open(path, "wb") as f:
        for key, array in inputs.items():
            array = np.ascontiguousarray(array)
            pad = -offset % _ALIGN
            f.write(b"\0" * pad)
            offset += pad
            f.write(array.data)
            manifest.append([key, array.dtype.str, list(array.shape), offset, array.size])
            offset += array.nbytes
    return manifest


def load_array(path: Path, shape: tuple, dtypes: tuple[str, ...]) -> tuple[np.ndarray | None, str]:
    """Parse an .npy file that the worker wrote: the header is checked before the data is
    used, and the array is a read-only view of the bytes read (no second parse, no pickle)."""
    itemsize = max(np.dtype(d).itemsize for d in dtypes)
    count = math.prod(shape)
    data, _ = read_capped(path, count * itemsize + 4096)
    if data is None:
        return None, "is not a regular file of a plausible size"
    try:
        f = io.BytesIO(data)
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        got_shape, fortran_order, dtype = read_header(f)
        if tuple(got_shape) != tuple(shape):
            return None, f"has shape {tuple(got_shape)}; input {tuple(shape)}"
        if dtype.name not in dtypes or dtype.hasobject:
            return None, f"has dtype {dtype}; expected {' or '.join(dtypes)}"
        start = f.tell()
        if len(data) - start != count * dtype.itemsize:
            return None, f"holds {len(data) - start} bytes of data; {count * dtype.itemsize} expected"
        flat = np.frombuffer(data, dtype=dtype, count=count, offset=start)
        array = flat.reshape(tuple(shape)[::-1]).transpose() if fortran_order else flat.reshape(shape)
    except Exception as ex:  # a forged file: any parse failure is a bad output
        return None, f"is not a plain numeric array ({type(ex).__name__})"
    if type(array) is not np.ndarray or array.shape != tuple(shape):
        return None, "is not a plain numeric array"
    return array, ""


def load_outputs(out_dir: Path, expected: dict[str, tuple[str, str]], inputs: dict):
    """Load and validate every expected output; the first problem found, or None."""
    outputs: dict[str, np.ndarray] = {}
    for name, (input_key, kind) in expected.items():
        path = out_dir / f"{name}.npy"
        if not os.path.lexists(path):
            if kind == "optional":  # its check reports the absence
                continue
            return outputs, ("missing", name)
        if kind == "flags":
            shape, dtypes = (len(hidden.INTERFACE_FLAGS),), ("int8",)
        else:
            x = inputs[input_key]
            shape, dtypes = x.shape, ((x.dtype.name,) if kind == "snapshot" else _FLOATS)
        y, why = load_array(path, shape, dtypes)
        if y is None:
            return outputs, (cat.BAD_OUTPUT, f"output {name} {why}")
        if kind in ("float", "optional") and not np.isfinite(y).all():
            return outputs, (cat.BAD_OUTPUT, f"output {name} contains NaN or infinity")
        outputs[name] = y
    return outputs, None


def evaluate(visible: ModuleType, vis_inputs: dict, cases: list, hid_inputs: dict, outputs: dict):
    """The verdict's arithmetic: the visible test's judge and every hidden check, on arrays
    that `load_outputs` validated."""
    vis_out = {c["name"]: outputs[f"v_{c['name']}"] for c in visible.CALLS}
    try:
        vis_results = visible.judge(vis_inputs, vis_out)
    except Exception as ex:  # the pristine test on validated arrays must not raise
        raise HarnessError(f"the visible test's judge raised {type(ex).__name__}: {ex}") from ex
    ratios = {
        str(p): round(float(np.var(vis_out[f"train_p{p}"]) / np.var(vis_inputs[f"x_p{p}"])), 5) for p in visible.RATES
    }
    hid_results = hidden.check_all(cases, hid_inputs, outputs)
    return vis_results, hid_results, ratios

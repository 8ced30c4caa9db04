"""Arrays between the judge and the worker, and the verdict's arithmetic on them.

The inputs go to the worker as one raw file plus a manifest (no zip, no pickle); the
outputs come back as .npy files, each read once, its header checked before its data is
used, and viewed in place. Only the judge imports this module (it needs numpy; the judge
imports it after the worker has been started, so the two pay for numpy at the same time).
"""

import io
import math
import os
import re
from pathlib import Path
from types import ModuleType

import numpy as np

from . import categories as cat, contract
from .categories import HarnessError
from .safe_read import read_capped

_FLOATS = ("float32", "float64")
_ALIGN = 64  # each input starts on a 64-byte boundary of the file (and so of the worker's buffer)
# The header np.save writes (format 1.0), e.g. {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
_SAVED_HEADER = re.compile(
    rb"\{'descr': '([<>|=][a-z][0-9]{1,2})', 'fortran_order': (True|False), "
    rb"'shape': \((|[0-9]+,|[0-9]+(?:, [0-9]+)+)\), \} *\n"
)


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
        got_shape, fortran_order, dtype, start = _header(data)
        if tuple(got_shape) != tuple(shape):
            return None, f"has shape {tuple(got_shape)}; input {tuple(shape)}"
        if dtype.name not in dtypes or dtype.hasobject:
            return None, f"has dtype {dtype}; expected {' or '.join(dtypes)}"
        if len(data) - start != count * dtype.itemsize:
            return None, f"holds {len(data) - start} bytes of data; {count * dtype.itemsize} expected"
        flat = np.frombuffer(data, dtype=dtype, count=count, offset=start)
        array = flat.reshape(tuple(shape)[::-1]).transpose() if fortran_order else flat.reshape(shape)
    except Exception as ex:  # a forged file: any parse failure is a bad output
        return None, f"is not a plain numeric array ({type(ex).__name__})"
    if type(array) is not np.ndarray or array.shape != tuple(shape):
        return None, "is not a plain numeric array"
    return array, ""


def _header(data: bytes) -> tuple[tuple, bool, np.dtype, int]:
    """(shape, fortran order, dtype, where the data starts) of an .npy file's bytes. The header
    np.save writes is matched exactly; any other goes through numpy's own parser, which
    compiles the header as a Python literal (~0.3 ms each, 53 times a grading)."""
    if data[:8] == b"\x93NUMPY\x01\x00" and len(data) >= 10:
        start = 10 + int.from_bytes(data[8:10], "little")
        m = _SAVED_HEADER.fullmatch(data, 10, start)
        if m is not None:
            descr, fortran_order, dims = m.groups()
            shape = tuple(int(d) for d in dims.split(b",") if d.strip())
            return shape, fortran_order == b"True", np.dtype(descr.decode()), start
    f = io.BytesIO(data)
    version = np.lib.format.read_magic(f)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read_header(f)
    return tuple(shape), fortran_order, dtype, f.tell()


def load_outputs(out_dir: Path, names: list[str], specs: dict[str, tuple[str, str, tuple]], inputs: dict):
    """Load and validate the named outputs (spec: the input it relates to, its kind, its
    shape); the first problem found, or None."""
    outputs: dict[str, np.ndarray] = {}
    for name in names:
        x_key, kind, shape = specs[name]
        path = out_dir / f"{name}.npy"
        if not os.path.lexists(path):
            return outputs, ("missing", name)
        if kind == "flags":
            dtypes: tuple[str, ...] = ("int8",)
        elif kind == "snapshot":
            dtypes = (inputs[x_key].dtype.name,)
        elif kind == "stack":
            dtypes = ("float64",)  # the worker stacks float32 and float64 results as float64
        else:
            dtypes = _FLOATS
        y, why = load_array(path, shape, dtypes)
        if y is None:
            return outputs, (cat.BAD_OUTPUT, f"output {name} {why}")
        if kind in ("float", "stack") and not np.isfinite(y).all():
            return outputs, (cat.BAD_OUTPUT, f"output {name} contains NaN or infinity")
        outputs[name] = y
    return outputs, None


def _writes(session: dict) -> set[str]:
    """The outputs a worker session writes."""
    if session.get("kind") == "interface":
        return {session["flags"]}
    found = set()
    for step in session["steps"]:
        if step[0] in ("call", "forward", "snapshot"):
            found.add(step[2])
        elif step[0] == "other":
            found.add(step[3])
        elif step[0] == "repeat":
            found.add(step[3])
    return found


class OutputJudge:
    """The worker's outputs, loaded and checked one group at a time: the visible calls, each
    hidden case, the interface probe. Only one group's arrays are alive at once (the next
    group reads into the memory the last one freed), and a group can be judged as soon as the
    worker has ended every session that writes it (`judge_ended`, called while the worker
    still runs), so most of the judging overlaps the worker's own work. Early reads only ever
    save time: a group whose early read failed, or whose files changed after it, is read again
    after the worker has exited, and `result()` then judges the rest. Any load problem wins
    over every check, as if every output had been loaded after the exit."""

    def __init__(self, out_dir: Path, visible: ModuleType, vis_inputs: dict, laws: ModuleType, plan, sessions: list) -> None:
        self.out_dir, self.visible, self.vis_inputs, self.laws, self.plan = out_dir, visible, vis_inputs, laws, plan
        self.inputs = {f"v_{k}": a for k, a in vis_inputs.items()} | plan.inputs
        self.specs = {f"v_{c['name']}": (f"v_{c['input']}", "float", vis_inputs[c["input"]].shape) for c in visible.CALLS}
        self.specs |= plan.outputs
        names = {"visible": [f"v_{c['name']}" for c in visible.CALLS], **plan.groups}
        self.cases = {c.key: c for c in plan.cases}
        # group -> (the outputs it needs, the sessions that write them)
        self.groups = {
            name: (expected, {s["id"] for s in sessions if _writes(s) & set(expected)}) for name, expected in names.items()
        }
        self.judged: dict[str, tuple] = {}
        self.seen: dict[str, dict] = {}  # the files a judged group was read from

    def judge_ended(self, ended: set[str]) -> None:
        """Judge every group whose sessions have all ended; a failure waits for `result()`."""
        for name, (_, writers) in self.groups.items():
            if name not in self.judged and writers <= ended:
                try:
                    self._judge(name)
                except Exception:
                    pass

    def result(self) -> tuple[tuple | None, tuple[str, str] | None]:
        """After the worker's exit: ((visible results, hidden results, headline figures), None)
        or (None, the first problem). A group judged early whose files have changed since (an
        exit hook deleting or rewriting them) is judged again, on what is there now."""
        for name in self.groups:
            if name in self.judged and self._files(name) != self.seen[name]:
                del self.judged[name]
            if name not in self.judged:
                problem = self._judge(name)
                if problem is not None:
                    return None, problem
        vis_results, figures = self.judged["visible"]
        hid_results, counts = [], []
        for c in self.plan.cases:
            results, case_counts = self.judged[c.key]
            hid_results += results
            counts += case_counts
        hid_results += contract.dispersion_checks(counts)
        hid_results += self.judged["interface"][0]
        return (vis_results, hid_results, figures), None

    def _files(self, name: str) -> dict[str, tuple | None]:
        """Each output file of a group as (inode, size, modified, changed), None when absent."""
        files = {}
        for key in self.groups[name][0]:
            try:
                st = os.lstat(self.out_dir / f"{key}.npy")
                files[key] = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            except OSError:
                files[key] = None
        return files

    def _judge(self, name: str) -> tuple[str, str] | None:
        files = self._files(name)  # before reading: a change during the read shows at the end
        out, problem = load_outputs(self.out_dir, self.groups[name][0], self.specs, self.inputs)
        if problem is not None:
            return problem
        self.seen[name] = files
        if name == "visible":
            self.judged[name] = self._visible(out)
        elif name == "interface":
            self.judged[name] = (contract.interface_checks(self.plan, out["i_flags"]),)
        else:
            self.judged[name] = contract.check_group(self.laws, self.plan, self.cases[name], out)
        return None

    def _visible(self, out: dict) -> tuple[list, dict]:
        visible, vis_inputs = self.visible, self.vis_inputs
        vis_out = {c["name"]: out[f"v_{c['name']}"] for c in visible.CALLS}
        try:
            vis_results = visible.judge(vis_inputs, vis_out)
            figures = {str(k): round(float(v), 5) for k, v in visible.summary(vis_inputs, vis_out).items()}
        except Exception as ex:  # the pristine test on validated arrays must not raise
            raise HarnessError(f"the visible test's judge raised {type(ex).__name__}: {ex}") from ex
        return vis_results, figures

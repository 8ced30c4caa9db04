"""The candidate's process: run the layer on the inputs it is given, save what it returns.

This file is copied beside the candidate's dropout.py into a fresh directory and run as
`python -I -S main.py IO_DIR NUMPY_PARENT CLASS_NAME`: isolated mode without the site module, so no
.pth file, sitecustomize or user site runs; the only directories added to the standard library's
path are numpy's parent and, last, the candidate's own. It imports only the standard library,
numpy and the candidate.
It judges nothing: it writes each returned array into its region of the output buffer (a
file descriptor the judge passed it: a header, then the raw bytes; no pickle) and appends its
progress to IO_DIR/status.log, one JSON event per line; the judge process, which never imports
the candidate, reads and checks them once it has exited (`outbuf.py`). Anything the candidate
does here (print, exit, patch, lie in the status, write the buffer) can at most lose or spoil
outputs, and a missing or spoilt output fails the grading.

Protocol on stdout (before the candidate is imported): one line "ready". Then it waits for
one line on stdin, by which time the judge has written the inputs into the buffer and
IO_DIR/plan.json (the sessions, the buffer's descriptor, where each input lies in it and each
output's region), and exits when done.
"""

import atexit
import json
import os
import sys

# An output's region in the buffer: OUT_HEADER bytes (OUT_MAGIC, the length of what follows as
# 4 little-endian bytes, then JSON [dtype.str, shape]), then the array's bytes in C order. The
# header is written after the bytes, so a region whose header is there holds what it describes
# (the judge poisons a reused buffer first: a region nobody wrote reads as missing).
OUT_MAGIC, OUT_HEADER = b"VSDOUT1\n", 512


def _describe(ex: BaseException) -> str:
    return f"{type(ex).__name__}: {ex}"[:300]


def _flag(fn) -> int:
    """1 when `fn()` is true, 0 when false or when it raises."""
    try:
        return 1 if fn() else 0
    except BaseException:
        return 0


def _raises_value_error(layer_class, args) -> int:
    try:
        layer_class(**args)
    except ValueError:
        return 1
    except BaseException:
        return 0
    return 0


def interface_probe(np, layer_class, session, save):
    """The contract's interface, recorded as data for the judge (the flags' names are in the
    judge's plan): `training` is True at first, eval() / train() return the layer and set it,
    each out-of-range argument set raises ValueError, each valid extreme constructs."""
    layer = layer_class(**session["args"])
    flags = [
        _flag(lambda: layer.training is True),
        _flag(lambda: layer.eval() is layer and layer.training is False),
        _flag(lambda: layer.train() is layer and layer.training is True),
        *(_raises_value_error(layer_class, bad) for bad in session["bad"]),
        *(_flag(lambda good=good: layer_class(**good) is not None) for good in session["good"]),
    ]
    save(session["flags"], np.array(flags, dtype=np.int8))


def _apply(layer, how, x):
    return layer.forward(x) if how == "forward" else layer(x)


def _unfit(np, result, x):
    """Why a result cannot stand as the layer's output for x (None when it can): the judge
    validates every saved array itself; this only keeps a stack of calls from hiding one."""
    if type(result) is not np.ndarray:
        return f"returned {type(result).__module__}.{type(result).__qualname__}"
    if result.dtype.type is not np.float64 and result.dtype.type is not np.float32:
        return f"returned a numpy.ndarray of dtype {result.dtype}"
    if result.shape != x.shape:
        return f"returned shape {result.shape} for an input of shape {x.shape}"
    return None


def run_session(np, layer_class, session, arrays, save, log):
    """One layer instance: construct it with the session's arguments, then apply each step in
    order; `save(key, array)` writes an output, `log(*event)` records why one is missing."""
    if session.get("kind") == "interface":
        interface_probe(np, layer_class, session, save)
        return
    layer = layer_class(**session["args"])

    def keep(out_key, result):
        if type(result) is not np.ndarray:
            log("call", out_key, f"returned {type(result).__module__}.{type(result).__qualname__}")
        elif result.dtype.hasobject:
            log("call", out_key, f"returned a numpy.ndarray of dtype {result.dtype}")
        else:
            save(out_key, result)

    for step in session["steps"]:
        op = step[0]
        if op in ("train", "eval"):  # the return value is the interface probe's business
            getattr(layer, op)()
        elif op in ("call", "forward"):
            _, key, out_key = step
            keep(out_key, _apply(layer, op, arrays[key]))
        elif op == "other":  # another live layer, drawing from its own generator meanwhile
            _, args, key, out_key = step
            other = layer_class(**args)
            other.train()
            keep(out_key, other(arrays[key]))
        elif op == "burn":  # calls whose outputs nobody reads: later calls are checked too
            _, key, count = step
            for i in range(count):
                _apply(layer, "forward" if i % 2 else "call", arrays[key])
        elif op == "repeat":  # many calls on one small input, stacked into one output
            _, key, count, out_key, forward_first = step
            x, results = arrays[key], []
            for i in range(count):
                result = _apply(layer, "forward" if (i % 2 == 0) == forward_first else "call", x)
                why = _unfit(np, result, x)
                if why is not None:
                    log("call", out_key, f"{why} (call {i + 1})")
                    break
                results.append(result)
            else:
                save(out_key, np.stack(results).astype(np.float64))
        elif op == "snapshot":
            _, key, out_key = step
            save(out_key, np.array(arrays[key], copy=True))


def _read_inputs(np, fd, end, manifest):
    """The judge's inputs as arrays the layer cannot write to: views of a read-only mapping of
    the buffer's first `end` bytes, so even setflags(write=True) fails and an in-place write
    raises instead of going unseen."""
    import mmap

    data = mmap.mmap(fd, max(end, 1), prot=mmap.PROT_READ)
    return {
        key: np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
        for key, dtype, shape, offset, count in manifest
    }


def _add_views(arrays, views):
    """Non-contiguous inputs: a view of a base input per plan entry (slices, then "T")."""
    for key, spec in views.items():
        view = arrays[spec["base"]][tuple(slice(*s) for s in spec["view"] if s != "T")]
        arrays[key] = view.T if "T" in spec["view"] else view


def _saver(np, fd, regions):
    """`save(key, array)`: the array's bytes, then its header, into the key's region. An array
    that does not fit (a wrong shape, too many dimensions) gets its header alone: the judge
    reports what it is from that."""

    def save(key, array):
        offset, capacity = regions[key]
        if not array.flags.c_contiguous:
            array = array.copy(order="C")
        header = json.dumps([array.dtype.str, list(array.shape)]).encode()
        if len(header) > OUT_HEADER - len(OUT_MAGIC) - 4:
            header = json.dumps([array.dtype.str, None]).encode()
        if array.nbytes <= capacity - OUT_HEADER and array.nbytes:
            os.pwrite(fd, array.data.cast("B") if array.ndim else array.tobytes(), offset + OUT_HEADER)
        os.pwrite(fd, OUT_MAGIC + len(header).to_bytes(4, "little") + header, offset)

    return save


def _event_log(io_dir):
    """Append-only progress events, one JSON line per write: a process that dies mid-run
    leaves every event before its death, at the cost of one system call each."""
    fd = os.open(os.path.join(io_dir, "status.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def log(*event):
        os.write(fd, (json.dumps(event) + "\n").encode())

    return log


def main() -> int:
    io_dir, numpy_parent, class_name = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.append(numpy_parent)
    # The candidate's directory goes last, so it can shadow nothing the worker imports.
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))
    import numpy as np

    protocol = os.fdopen(os.dup(1), "w")
    protocol.write("ready\n")
    protocol.flush()
    protocol.close()
    # From here on, whatever the candidate prints goes to log files, never to the judge.
    for fd, name in ((1, "stdout.log"), (2, "stderr.log")):
        out = os.open(os.path.join(io_dir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, fd)
        os.close(out)

    log = _event_log(io_dir)
    log("import", "started")
    layer_class = None
    try:
        import dropout

        layer_class = getattr(dropout, class_name)
        log("import", "ok")
    except BaseException as ex:  # SystemExit and KeyboardInterrupt included: a verdict, not a crash
        log("import", _describe(ex))

    sys.stdin.readline()  # the judge has written the plan and the inputs
    if layer_class is not None:
        with open(os.path.join(io_dir, "plan.json")) as f:
            plan = json.load(f)
        arrays = _read_inputs(np, plan["out"]["fd"], plan["out"]["inputs_end"], plan["inputs"])
        _add_views(arrays, plan["views"])
        save = _saver(np, plan["out"]["fd"], plan["out"]["regions"])
        for session in plan["sessions"]:
            log("session", session["id"], "started")
            try:
                run_session(np, layer_class, session, arrays, save, log)
                outcome = "ok"
            except BaseException as ex:
                outcome = _describe(ex)
            log("session", session["id"], outcome)
    log("done")
    _shut_down()


def _shut_down():
    """End as the interpreter ends, minus its teardown of modules (tens of milliseconds with
    numpy loaded): the candidate's non-daemon threads are waited for and its atexit hooks
    run, as they would be, before the process exits."""
    threading = sys.modules.get("threading")
    try:
        if threading is not None:
            threading._shutdown()
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())

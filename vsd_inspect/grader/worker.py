"""The candidate's process: run the layer on the inputs it is given, save what it returns.

This file is copied beside the candidate's dropout.py into a fresh directory and run as
`python -I -S main.py IO_DIR NUMPY_PARENT`: isolated mode without the site module, so no
.pth file, sitecustomize or user site runs; the only directories added to the standard library's
path are numpy's parent and, last, the candidate's own. It imports only the standard library,
numpy and the candidate.
It judges nothing: it writes each returned array to IO_DIR/out/<key>.npy (no pickle) and a
status record; the judge process, which never imports the candidate, reads and checks them.
Anything the candidate does here (print, exit, patch, lie in the status) can at most lose
outputs, and a missing output fails the grading.

Protocol on stdout (before the candidate is imported): one line "ready". Then it waits for
one line on stdin (the inputs are written by then), and exits when done.
"""

import json
import os
import sys


def _describe(ex: BaseException) -> str:
    return f"{type(ex).__name__}: {ex}"[:300]


def run_session(np, layer_class, session, arrays, save, status):
    """One layer instance: construct, then apply each step in order; `save(key, array)`."""
    layer = layer_class(p=session["p"], seed=session["seed"])
    for step in session["steps"]:
        op = step[0]
        if op == "mode":
            layer = layer.train() if step[1] == "train" else layer.eval()
        elif op == "call":
            _, key, out_key = step
            status["calls"][out_key] = "started"
            result = layer(arrays[key])
            if type(result) is not np.ndarray:
                status["calls"][out_key] = f"returned {type(result).__module__}.{type(result).__qualname__}"
                continue
            save(out_key, result)
            status["calls"][out_key] = "ok"
        elif op == "snapshot":
            _, key, out_key = step
            save(out_key, np.array(arrays[key], copy=True))


def main() -> int:
    io_dir, numpy_parent = sys.argv[1], sys.argv[2]
    out_dir = os.path.join(io_dir, "out")
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
        log = os.open(os.path.join(io_dir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, fd)
        os.close(log)

    status = {"import": "ok", "sessions": {}, "calls": {}}
    layer_class = None
    try:
        import dropout

        layer_class = dropout.VarianceStabilizedDropout
    except BaseException as ex:  # SystemExit and KeyboardInterrupt included: a verdict, not a crash
        status["import"] = _describe(ex)

    sys.stdin.readline()  # the judge has written the inputs
    if layer_class is not None:
        with open(os.path.join(io_dir, "plan.json")) as f:
            plan = json.load(f)
        with np.load(os.path.join(io_dir, "inputs.npz"), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        def save(key, array):
            np.save(os.path.join(out_dir, key + ".npy"), array, allow_pickle=False)

        for session in plan:
            try:
                run_session(np, layer_class, session, arrays, save, status)
                status["sessions"][session["id"]] = "ok"
            except BaseException as ex:
                status["sessions"][session["id"]] = _describe(ex)
    with open(os.path.join(io_dir, "status.json"), "w") as f:
        json.dump(status, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())

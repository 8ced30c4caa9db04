"""The judge: one grading of one candidate, from bytes to a verdict.

The judge never imports the candidate. It writes the candidate's dropout.py and the worker
into a fresh directory, starts the worker in a jail, builds the visible test's inputs and
the hidden inputs meanwhile, and judges the arrays the worker saves (in the buffer of
`outbuf.py`), group by group, once it has exited. Up to that start this module needs only
the standard library: numpy, which the worker needs too, is imported while the worker
starts, so a fresh process (the CLI) does not pay for it before the worker can begin. It fails closed: a grading passes only when every
expected output arrived, is a finite float array of the input's shape, and every visible
and hidden check passed.

`grade()` is the only entry point; in a `grader` sandbox the scorer's bootstrap runs it on a
copy of this package (see `scorer.py`). How its two jailed processes start is injectable
(`use_launcher`): by default each is exec'd (`jail.Launch`); the warm pool (`pool.py`) forks
them from a zygote that has numpy loaded. Everything else, the verdict included, is the same.
"""

import ast
import contextlib
import contextvars
import importlib.util
import json
import os
import secrets
import select
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType

from . import categories as cat, integrity, jail, namespaces, outbuf
from .categories import HarnessError
from .verdict import Verdict, diagnose, read_status, tail, user_run_verdict

_WORKER_SOURCE = Path(__file__).with_name("worker.py")
_AST_LOCK = threading.Lock()
_USER_REPORT = "report.json"
_SHM, _SHM_MIN_FREE = "/dev/shm", 1024**3
# The user-run is off the critical path (it has until the judge has checked the worker's
# outputs): a lower priority leaves the cores to the worker and the judge first.
_USER_RUN_NICENESS = 19
_numpy_parent: str | None = None
# The visible tests' modules and inputs already made, by the test's sha256 (`_visible`).
_VISIBLE_CACHE: dict[str, tuple[ModuleType, dict]] = {}
_VISIBLE_CACHE_SIZE = 16
_VISIBLE_LOCK = threading.Lock()
# What starts the worker and the user-run: `jail.Launch`'s signature, returning an object with
# `applied`, `process()` and `finish()` as it does. None: `jail.Launch` itself.
_LAUNCHER: contextvars.ContextVar = contextvars.ContextVar("vsd_grader_launcher", default=None)


@contextlib.contextmanager
def use_launcher(launcher):
    """Within the block (in this thread or task), gradings start their jailed processes with
    `launcher` instead of exec'ing them (`pool.WarmPool.launcher()` gives one)."""
    token = _LAUNCHER.set(launcher)
    try:
        yield launcher
    finally:
        _LAUNCHER.reset(token)


def _numpy_home() -> str:
    """The directory numpy is installed in, found without importing it."""
    global _numpy_parent
    if _numpy_parent is None:
        spec = importlib.util.find_spec("numpy")
        if spec is None or spec.origin is None:
            raise HarnessError("numpy is not installed for the judge's interpreter")
        _numpy_parent = str(Path(spec.origin).resolve().parent.parent)
    return _numpy_parent


def grade(
    candidate: bytes | None,
    test_file: bytes | None,
    expected_test: bytes,
    *,
    spec: dict | None = None,
    seed: int | None = None,
    files: list[str] | None = None,
    limits: jail.Limits = jail.Limits(),
    python: str | None = None,
    candidate_error: str | None = None,
    test_error: str | None = None,
) -> dict:
    """Grade one candidate.

    candidate: the workspace's dropout.py bytes (None: missing). test_file: the workspace's
    test_dropout.py bytes (None: missing). expected_test: the pristine rendered visible test.
    spec: what is graded: {"concept": its folder's id, "param": the parameterisation,
    "class_name": the class dropout.py must define} (default: the seed's sample).
    seed: the hidden checks' seed (fresh when None; recorded in the verdict for replay).
    files: the workspace listing, for tamper signals only. candidate_error: why the door
    could not read dropout.py as a regular file (a link, a directory, too large). Raises HarnessError when the
    grading machinery fails; every other outcome is a verdict.
    """
    started = time.monotonic()
    spec = _spec(spec)
    # 52 bits: exact as a JSON number in every reader (the viewer's included), so it replays.
    seed = secrets.randbits(52) if seed is None else int(seed)
    v = Verdict(seed, integrity.workspace_signals(files))
    test_modified = test_file is None or integrity.sha256(test_file) != integrity.sha256(expected_test)
    v.signals["test_modified"] = test_modified
    v.signals["suspicious_code"] = []
    if candidate_error is not None:
        return v.fail(cat.BAD_INPUT, candidate_error, started)
    if candidate is None:
        return v.fail(cat.MISSING_FILE, "dropout.py is missing from the workspace", started)
    if test_modified:
        if test_file is not None:
            what = f"was changed ({_first_change(expected_test, test_file)})"
        else:
            what = test_error.removeprefix("test_dropout.py ") if test_error else "was deleted"
        return v.fail(
            cat.TEST_MODIFIED,
            f"test_dropout.py {what}: a modified test is a hard fail",
            started,
            check=("test_dropout.py unchanged (sha256)", f"sha256 {integrity.sha256(test_file or b'')[:12]}…" if test_file else "missing", f"sha256 {integrity.sha256(expected_test)[:12]}…"),
        )
    v.add("integrity", "test_dropout.py unchanged (sha256)", True, integrity.sha256(test_file)[:12] + "…", "identical")
    source, why = integrity.decode_candidate(candidate)
    if source is None:
        return v.fail(cat.BAD_INPUT, why, started)
    try:
        with _AST_LOCK:  # CPython 3.11.7's parser can fail spuriously when threads parse at once
            tree = ast.parse(source)
            v.signals["suspicious_code"] = integrity.suspicious_code(tree)
            roots = integrity.sqrt_spellings(tree)
    except (SyntaxError, ValueError) as ex:
        return v.fail(cat.SYNTAX_ERROR, f"dropout.py does not parse: {type(ex).__name__}: {ex}"[:300], started)
    except (RecursionError, MemoryError) as ex:
        return v.fail(cat.SYNTAX_ERROR, f"dropout.py is too deeply nested to analyse ({type(ex).__name__})", started)
    if not roots:
        return v.fail(
            cat.NO_SQRT,
            "no square root in dropout.py's code (a word in a comment or a string does not count)",
            started,
            check=("a square root in the code (syntax tree)", "none found", "≥ 1"),
        )
    v.add("integrity", "a square root in the code (syntax tree)", True, roots[0], "≥ 1")
    with _run_directory() as run:
        _grade_run(v, spec, candidate, expected_test, run, limits, python or sys.executable)
    return v.finish(started)


SEED_SPEC = {"concept": "vsd", "param": "p", "class_name": "VarianceStabilizedDropout"}


def _spec(spec: dict | None) -> dict:
    """The grading's spec, checked: a concept id and parameterisation names that are plain
    identifiers (they become a module name and constructor keywords)."""
    spec = dict(SEED_SPEC if spec is None else spec)
    for key in ("concept", "param", "class_name"):
        if not isinstance(spec.get(key), str) or not spec[key].isidentifier():
            raise HarnessError(f"the grading spec's {key} must be an identifier; got {spec.get(key)!r}")
    return spec


def load_laws(concept: str) -> ModuleType:
    """The concept's laws module (`vsd_inspect/concepts/<concept>/laws.py`)."""
    try:
        return importlib.import_module(f"vsd_inspect.concepts.{concept}.laws")
    except ImportError as ex:
        raise HarnessError(f"no laws for concept {concept!r}: {ex}") from ex


def _scratch_dir() -> str | None:
    """A memory-backed directory for the run when one has room (the arrays pass through it
    twice), else the system's temporary directory."""
    try:
        st = os.statvfs(_SHM)
        if st.f_bavail * st.f_frsize >= _SHM_MIN_FREE and os.access(_SHM, os.W_OK):
            return _SHM
    except OSError:
        pass
    return None


def _first_change(original: bytes, changed: bytes) -> str:
    """The first line that differs, as `old` → `new`, for a person reading the score."""
    a = original.decode("utf-8", "replace").splitlines()
    b = changed.decode("utf-8", "replace").splitlines()
    for i in range(max(len(a), len(b))):
        old = a[i] if i < len(a) else "<end of file>"
        new = b[i] if i < len(b) else "<end of file>"
        if old != new:
            return f'line {i + 1}: "{" ".join(old.split())[:80]}" → "{" ".join(new.split())[:80]}"'
    return "same lines, other bytes (line endings or trailing whitespace)"


def _load_visible(expected_test: bytes, directory: Path) -> ModuleType:
    """Import the pristine visible test from the judge's own copy (it imports no dropout)."""
    path = directory / "visible_test.py"
    path.write_bytes(expected_test)
    spec = importlib.util.spec_from_file_location(f"_vsd_visible_{os.getpid()}_{time.monotonic_ns()}", path)
    if spec is None or spec.loader is None:
        raise HarnessError("cannot load the visible test")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _visible(expected_test: bytes, directory: Path) -> tuple[ModuleType, dict]:
    """The pristine visible test's module and its inputs (`build_inputs()`), made once per
    distinct test in this process: they depend on the test's bytes alone (its seed is fixed),
    and the inputs are made read-only, so that no grading can change another's."""
    key = integrity.sha256(expected_test)
    with _VISIBLE_LOCK:
        hit = _VISIBLE_CACHE.pop(key, None)
        if hit is not None:
            _VISIBLE_CACHE[key] = hit  # most recently used last
            return hit
    visible = _load_visible(expected_test, directory)
    inputs = visible.build_inputs()
    for array in inputs.values():
        array.flags.writeable = False
    with _VISIBLE_LOCK:
        _VISIBLE_CACHE[key] = (visible, inputs)
        while len(_VISIBLE_CACHE) > _VISIBLE_CACHE_SIZE:
            _VISIBLE_CACHE.pop(next(iter(_VISIBLE_CACHE)))
    return visible, inputs


def _visible_sessions(calls: list[dict]) -> list[dict]:
    return [
        {"id": f"v_{c['name']}", "args": c["args"], "steps": [[c["mode"]], ["call", f"v_{c['input']}", f"v_{c['name']}"]]}
        for c in calls
    ]


def _wait_ready(proc, seconds: float) -> bool:
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    return bool(ready) and proc.stdout.readline().strip() == b"ready"


def _remove_tree(path: Path) -> None:
    """Remove a grading's directory. A judge that is not root cannot step over a directory
    a candidate closed (chmod 000): those are opened again first, as TemporaryDirectory's
    cleanup does (tests/test_grader.py)."""
    try:
        shutil.rmtree(path)
    except PermissionError:
        os.chmod(path, 0o700)
        for root, dirs, _ in os.walk(path):  # top-down: each directory opened before it is listed
            for d in dirs:
                if not os.path.islink(os.path.join(root, d)):
                    os.chmod(os.path.join(root, d), 0o700)
        shutil.rmtree(path)


@contextlib.contextmanager
def _run_directory():
    """The grading's fresh directory (`work`, `io` on its own bounded tmpfs where one can be
    mounted, `judge`), removed at the end. Every process of the grading has been killed and
    reaped by then; a launcher with a `defer` method (the warm pool's) removes it off the
    grading's critical path, and always before the pool closes."""
    # Not a TemporaryDirectory: its finalizer, run at exit before a pool's deferred `remove`,
    # would find the scratch mount still in place.
    run = Path(tempfile.mkdtemp(prefix="vsd-", dir=_scratch_dir()))
    scratch = False

    def remove() -> None:
        try:
            if scratch:
                namespaces.scratch_unmount(run / "io")
        finally:
            _remove_tree(run)

    try:
        for d in ("work", "io", "judge"):
            (run / d).mkdir()
        scratch = namespaces.scratch_mount(run / "io")
        yield run
    finally:
        defer = getattr(_LAUNCHER.get(), "defer", None)
        if defer is None:
            remove()
        else:
            defer(remove)


def _grade_run(v: "Verdict", spec: dict, candidate: bytes, expected_test: bytes, run: Path, limits, python: str) -> None:
    cand, io_dir, own, user = run / "work", run / "io", run / "judge", run / "user"
    (cand / "dropout.py").write_bytes(candidate)
    (cand / "main.py").write_bytes(_WORKER_SOURCE.read_bytes())
    # The visible test as a user runs it (`python test_dropout.py`), in its own jail and copy
    # of the workspace: a fail-only gate against code that behaves only inside the worker.
    user.mkdir()
    (user / "dropout.py").write_bytes(candidate)
    (user / "test_dropout.py").write_bytes(expected_test)

    launch = _LAUNCHER.get() or jail.Launch
    # The inputs' and outputs' buffer: the warm pool's (reused, cleared) or a fresh one; only
    # the worker gets it.
    pool = getattr(launch, "pool", None)
    buffer = pool.take_buffer(limits.file_bytes) if pool else outbuf.OutputBuffer(limits.file_bytes)
    t0 = time.monotonic()
    user_run, worker, layout, judging, started = None, None, None, None, False
    try:
        worker = launch(
            [python, "-I", "-S", str(cand / "main.py"), str(io_dir), _numpy_home(), spec["class_name"]],
            cand,
            limits,
            pass_fds=(buffer.fd,),
        )
        user_cmd = [python, "-E", "-s", "test_dropout.py", "--json", _USER_REPORT]
        try:
            # Both start at once (the user-run, niced, works beside the worker and the judge).
            user_run = launch(user_cmd, user, limits, [user], niceness=_USER_RUN_NICENESS)
            # While both start and import numpy, this process imports it too and draws the inputs.
            from . import arrays, lawkit, plan as planning

            laws = load_laws(spec["concept"])
            visible, vis_inputs = _visible(expected_test, own)
            hidden = planning.build(laws, spec["param"], v.seed)
            inputs = {f"v_{k}": a for k, a in vis_inputs.items()} | hidden.inputs
            sessions = _visible_sessions(visible.CALLS) + hidden.sessions
            specs = arrays.output_specs(visible, vis_inputs, hidden)
            layout = outbuf.layout(specs, inputs)
            if layout.size > buffer.size:
                raise HarnessError(f"the outputs need {layout.size} bytes; the buffer has {buffer.size}")
            buffer.write_inputs(layout, inputs)
            worker_plan = {
                "inputs": layout.inputs,
                "views": hidden.views,
                "sessions": sessions,
                "out": layout.for_worker(buffer.fd),
            }
            (io_dir / "plan.json").write_text(json.dumps(worker_plan))
            judging = arrays.OutputJudge(specs, visible, vis_inputs, laws, hidden)
            proc, v.worker["limits"] = worker.process(), worker.applied
            user_run.process()
            if not _wait_ready(proc, limits.wall_seconds):
                raise HarnessError(f"the worker interpreter ({python}) did not start with numpy")
            try:
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass  # the worker already died; its missing outputs say so
            started = True
        finally:
            try:
                result = worker.finish(t0, wait=started)  # not started: killed, not waited for
                if started:  # the outputs, checked while the user-run goes on
                    buffer.settled = outbuf.writers_dead(worker.applied)
                    judged, problem = judging.result(buffer, layout)
            except BaseException:  # interrupted: kill the user-run too, without waiting for it
                if user_run is not None:
                    user_run.finish(t0, wait=False)
                raise
            user_result = user_run.finish(t0, wait=started) if user_run is not None else None
    finally:
        if pool and worker is not None and layout is not None:
            pool.give_back_buffer(buffer, layout.size, worker.applied)
        else:
            buffer.close()
    v.worker.update(returncode=result.returncode, seconds=round(result.seconds, 3))
    v.worker["stderr_tail"] = tail(io_dir / "stderr.log", limits.log_bytes)
    status = read_status(io_dir / "status.log")

    if problem is None and result.timed_out:
        problem = (cat.TIMEOUT, f"the worker ran past the {limits.wall_seconds:g} s wall-time limit")
    sessions = status.get("sessions", {})
    raised = any(e not in ("ok", "started") for e in sessions.values())
    if problem is not None and (status.get("done") is not True or result.timed_out or raised):
        # The worker did not get to the end: say why (time, import, a session) rather than
        # what it left behind. (The status only names the failure; it never makes a pass.)
        problem = ("missing", problem[1] if problem[0] == "missing" else "its outputs")
    if problem is not None:
        category, message = diagnose(problem, result, status, limits)
        v.fail(category, message, None)
        return

    vis_results, hid_results, figures = judged
    statistical = sum(1 for r in hid_results if r.get("stat"))
    if statistical > lawkit.MAX_STAT_CHECKS:  # the per-grading false-fail bound assumes at most this many
        raise HarnessError(f"{statistical} statistical checks exceed MAX_STAT_CHECKS = {lawkit.MAX_STAT_CHECKS}")
    for r in vis_results:
        v.add("visible", r["name"], r["passed"], str(r["measured"]), str(r["bound"]), "visible")
    for r in hid_results:
        v.add("hidden", r["name"], r["passed"], r["measured"], r["bound"], r["kind"], r["case"])
    v.figures = figures
    v.hidden_rates = sorted({c.rate for c in hidden.cases})
    if not all(r["passed"] for r in vis_results):
        failed = [r["name"] for r in vis_results if not r["passed"]]
        v.fail(cat.TESTS_FAILED, f"visible test failed: {'; '.join(failed)}", None)
        return
    if not all(r["passed"] for r in hid_results):
        failed = [r["name"] for r in hid_results if not r["passed"]]
        v.fail(cat.HIDDEN_FAILED, f"{len(failed)} hidden check(s) failed, first: {failed[0]}", None)
        return
    # Last, fail-only: the same visible test run as a user runs it.
    user_ok, user_measured = user_run_verdict(user / _USER_REPORT, user_result, len(vis_results))
    v.add("visible", "python test_dropout.py, run as a user runs it", user_ok, user_measured, "passes", "visible")
    if not user_ok:
        v.fail(cat.TESTS_FAILED, f"the visible test, run as `python test_dropout.py`, {user_measured}", None)

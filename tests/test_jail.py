"""The worker's namespaces (jail.py), tested for real: candidates that try to get out.

These run only where the grader itself uses namespaces: Linux, the judge running as root,
and the kernel allowing them. Everywhere else they are skipped with the reason (pytest -ra
prints it). Each candidate reports what it saw on stderr, one JSON line after REPORT_TAG,
and the verdict quotes the worker's stderr, so the test reads it back from there.

Every test runs twice: with the worker exec'd (`jail.Launch`, the CLI's way) and forked from
the warm pool's zygote (`grader/pool.py`, `grade_many`'s way), which must jail it the same.
What the worker's processes can reach and how they end is in test_jail_processes.py.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import vsd_inspect
from vsd_inspect.api import grade_solution
from vsd_inspect.constants import SEED_REFERENCE_FILE
from vsd_inspect.grader import jail, judge, namespaces, pool
from vsd_inspect.grader.categories import PASSED, TESTS_FAILED

REPORT_TAG = "JAIL-REPORT "
# Written out, not taken from jail.py: the measures a namespaced worker must report.
NS_LIMITS = {
    "pid-namespace",
    "mount-namespace",
    "minimal-root",
    "read-only-root",
    "hidden-grader",
    "network-namespace",
    "ipc-namespace",
    "uts-namespace",
    "cgroup-namespace",
    "no-capabilities",
    "no-new-privileges",
}
LIMITS = jail.Limits(log_bytes=64 * 1024)
REFERENCE = SEED_REFERENCE_FILE.read_text()
# The sqrt_p starter's bug: a layer that fails the visible test unless a hack rescues it.
BUGGY = REFERENCE.replace("1.0 / np.sqrt(keep_prob)", "1.0 / np.sqrt(self.p)")
assert BUGGY != REFERENCE
NUMPY_PARENT = Path(np.__file__).resolve().parent.parent
PACKAGE_DIR = Path(vsd_inspect.__file__).resolve().parent


def _why_not() -> str:
    if not sys.platform.startswith("linux"):
        return f"namespaces are Linux only (this is {sys.platform})"
    if os.geteuid() != 0:
        return "the grader uses namespaces only when the judge runs as root (it falls back to rlimits and a session otherwise)"
    return namespaces._namespaces_reason()


pytestmark = pytest.mark.skipif(bool(_why_not()), reason=f"worker namespaces not in use here: {_why_not()}")


@pytest.fixture(scope="module")
def warm_pool():
    if pool.available():
        yield None
        return
    with pool.WarmPool() as p:
        yield p


@pytest.fixture(autouse=True, params=["exec", "pool"])
def launcher(request, warm_pool):
    """Each test's gradings start their worker as this param says."""
    if request.param == "exec":
        yield request.param
        return
    if warm_pool is None:
        pytest.skip(f"no warm pool here: {pool.available()}")
    with judge.use_launcher(pool.GradingLauncher(warm_pool)):
        yield request.param

# What every candidate runs first: `probe(name, fn)` records fn's result or its exception.
# Outside the namespaces (its parent pid is 0 only inside) no probe runs unless marked safe:
# these candidates mount, write and signal as root, which must never reach the host even if
# the jail silently fell back. The report then says so and the test fails on it.
PRELUDE = '''
import json as _json, os as _os, sys as _sys
_REPORT = {}
_JAILED = _os.getppid() == 0 and _os.getpid() == 1
def probe(name, fn, safe=False):
    if not (_JAILED or safe):
        _REPORT[name] = {"skipped": "not in the worker's namespaces"}
        return
    try:
        _REPORT[name] = {"ok": repr(fn())[:400]}
    except BaseException as ex:
        _REPORT[name] = {"error": type(ex).__name__, "errno": getattr(ex, "errno", None), "text": str(ex)[:200]}
def report():
    print("REPORT_TAG" + _json.dumps(_REPORT), file=_sys.stderr, flush=True)
'''.replace("REPORT_TAG", REPORT_TAG)


def _candidate(body: str, layer: str = REFERENCE) -> str:
    """The prelude, the probing `body` (at import), the report, then the layer's source."""
    return PRELUDE + body + "\nreport()\n" + layer


def _grade(workspace, source: str, limits: jail.Limits = LIMITS) -> tuple[dict, dict]:
    verdict = grade_solution(workspace(source), seed=1, limits=limits)
    reports = [line for line in verdict["worker"].get("stderr_tail", "").splitlines() if line.startswith(REPORT_TAG)]
    assert reports, f"no report from the candidate; verdict: {verdict['category']}: {verdict['feedback']}; {verdict['worker']}"
    return verdict, json.loads(reports[-1][len(REPORT_TAG) :])


def _isolated(verdict: dict) -> None:
    assert NS_LIMITS <= set(verdict["worker"]["limits"]), verdict["worker"]["limits"]


def test_reference_passes_inside_the_namespaces(workspace):
    verdict, seen = _grade(workspace, _candidate("probe('pid', _os.getpid, safe=True)"))
    assert verdict["category"] == PASSED, verdict["feedback"]
    _isolated(verdict)
    assert seen["pid"] == {"ok": "1"}  # the worker is its PID namespace's init


def test_writes_outside_the_io_directory_fail_and_leave_nothing(workspace, tmp_path):
    marker = f"vsd-jail-marker-{os.getpid()}-{time.monotonic_ns()}"
    targets = {
        "tmp": Path("/tmp") / marker,
        "package": PACKAGE_DIR / marker,
        "grader": PACKAGE_DIR / "grader" / marker,
        "site_packages": NUMPY_PARENT / f"{marker}.pth",
        "numpy": NUMPY_PARENT / "numpy" / marker,
        "interpreter": Path(sys.base_prefix).resolve() / marker,
        "root": Path("/") / marker,
        "etc": Path("/etc") / marker,
        "test_tmp": tmp_path / marker,
    }
    body = "".join(f"probe({name!r}, lambda: open({str(path)!r}, 'w').write('x'))\n" for name, path in targets.items())
    body += f"probe('work', lambda: open('{marker}', 'w').write('x'))\n"
    body += f"probe('io', lambda: open(_os.path.join(_sys.argv[1], '{marker}'), 'w').write('x'))\n"
    body += "probe('dev_null', lambda: open('/dev/null', 'w').write('x'))\n"
    verdict, seen = _grade(workspace, _candidate(body))
    _isolated(verdict)
    assert verdict["category"] == PASSED, verdict["feedback"]
    for name, path in targets.items():
        assert "error" in seen[name], f"{name}: writing {path} succeeded"
        assert seen[name]["errno"] in (2, 30), (name, seen[name])  # hidden (ENOENT) or read-only (EROFS)
        assert not path.exists(), path
    assert seen["work"]["errno"] == 30  # the candidate's own directory is read-only
    assert seen["io"] == {"ok": "1"} and seen["dev_null"] == {"ok": "1"}


def test_the_reference_fix_and_the_project_tree_are_out_of_reach(workspace):
    body = f"""
probe('reference', lambda: open({str(SEED_REFERENCE_FILE)!r}).read())
probe('package', lambda: _os.listdir({str(PACKAGE_DIR)!r}))
probe('repository', lambda: sorted(_os.listdir({str(PACKAGE_DIR.parent)!r})))
import numpy as _np
_site = _os.path.dirname(_os.path.dirname(_np.__file__))
_roots = [l.strip() for n in _os.listdir(_site) if n.endswith('.pth') for l in open(_os.path.join(_site, n)) if l.startswith('/')]
probe('via_pth', lambda: [open(_os.path.join(r, 'vsd_inspect', 'reference', 'dropout.py')).read() for r in _roots])
def _search():  # every file named like the reference, anywhere it can see
    return [_os.path.join(d, f) for d, _, fs in _os.walk('/') if not d.startswith('/proc')
            for f in fs if f == 'dropout.py' and 'reference' in d]
probe('found', _search)
"""
    # The walk over everything the worker sees (the interpreter, the virtual environment, the
    # system's libraries) takes ~20 s when their directories are not cached yet (a fresh clone,
    # CI's load): once it ran past the default 30 s wall limit. Time enough for it to finish.
    verdict, seen = _grade(workspace, _candidate(body, BUGGY), jail.Limits(log_bytes=64 * 1024, wall_seconds=180, cpu_seconds=170))
    _isolated(verdict)
    assert verdict["category"] == TESTS_FAILED, verdict["feedback"]
    assert seen["reference"]["error"] == "FileNotFoundError"
    assert seen["package"]["error"] == "FileNotFoundError"
    assert seen["via_pth"]["error"] == "FileNotFoundError"
    assert seen["found"] == {"ok": "[]"}
    # What shows of the repository is at most the directories the worker needs (a .venv).
    if "ok" in seen["repository"]:
        assert set(eval(seen["repository"]["ok"])) <= {".venv"}, seen["repository"]


def test_host_processes_devices_network_and_capabilities_are_invisible(workspace):
    judge_pid = os.getpid()
    body = f"""
import socket
probe('proc', lambda: sorted(_os.listdir('/proc')))
probe('judge_in_proc', lambda: _os.path.exists('/proc/{judge_pid}'))
probe('status', lambda: [l for l in open('/proc/self/status').read().splitlines() if l.startswith(('Cap', 'NoNewPrivs'))])
probe('sysrq', lambda: open('/proc/sysrq-trigger', 'w'))
probe('dev', lambda: sorted(_os.listdir('/dev')))
probe('sys', lambda: _os.listdir('/sys'))
probe('run', lambda: _os.listdir('/run'))
probe('interfaces', lambda: [n for _, n in socket.if_nameindex()])
probe('connect', lambda: socket.create_connection(('127.0.0.1', 22), timeout=1))
probe('mount', lambda: __import__('ctypes').CDLL(None, use_errno=True).mount(b'none', b'/tmp', b'tmpfs', 0, None))
probe('chroot', lambda: _os.chroot('/'))
"""
    verdict, seen = _grade(workspace, _candidate(body))
    _isolated(verdict)
    assert verdict["category"] == PASSED, verdict["feedback"]
    assert eval(seen["proc"]["ok"]) == ["1", "self", "thread-self"]
    assert seen["judge_in_proc"] == {"ok": "False"}
    status = dict(line.split(":\t") for line in eval(seen["status"]["ok"]))
    assert {k: v for k, v in status.items() if k.startswith("Cap")} == {
        k: "0000000000000000" for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
    }
    assert status["NoNewPrivs"] == "1"
    assert seen["sysrq"]["error"] == "FileNotFoundError"
    devices = {"null", "zero", "full", "random", "urandom", "fd", "stdin", "stdout", "stderr"}
    # "shm" only as the path to the run directory, when the judge keeps it in memory
    assert set(eval(seen["dev"]["ok"])) <= devices | {"shm"}
    assert seen["sys"]["error"] == seen["run"]["error"] == "FileNotFoundError"
    assert eval(seen["interfaces"]["ok"]) == ["lo"]
    assert seen["connect"]["error"] == "OSError"  # the loopback is down: the network is unreachable
    assert seen["mount"] == {"ok": "-1"}  # EPERM: no CAP_SYS_ADMIN
    assert seen["chroot"]["error"] == "PermissionError"


def test_a_nested_user_namespace_gains_nothing(workspace):
    """A capless uid 0 may still create a user namespace; it gets no id map, since /proc is
    read-only, and no new /proc, since the one it has shows only its processes."""
    body = """
import ctypes
def _in_user_namespace():
    libc = ctypes.CDLL(None, use_errno=True)
    def call(r):
        if r != 0:
            raise OSError(ctypes.get_errno(), _os.strerror(ctypes.get_errno()))
        return r
    probe('unshare', lambda: call(libc.unshare(0x10000000 | 0x00020000)))  # user + mount
    probe('uid_map', lambda: open('/proc/self/uid_map', 'w').write('0 0 1'))
    probe('remount_rw', lambda: call(libc.mount(None, b'/', None, 32 | 4096, None)))
    probe('umount_proc', lambda: call(libc.umount2(b'/proc', 2)))
    probe('mount_proc', lambda: call(libc.mount(b'proc', b'/tmp', b'proc', 0, None)))
    probe('write_root', lambda: open('/marker', 'w'))
_r, _w = _os.pipe()
if _JAILED and _os.fork() == 0:
    _in_user_namespace()
    _os.write(_w, _json.dumps(_REPORT).encode())
    _os._exit(0)
_os.close(_w)
if _JAILED:
    _os.wait()
_REPORT.update(_json.loads(_os.read(_r, 65536) or b'{}'))
"""
    verdict, seen = _grade(workspace, _candidate(body))
    _isolated(verdict)
    assert verdict["category"] == PASSED, verdict["feedback"]
    assert seen["unshare"] == {"ok": "0"}
    assert seen["uid_map"]["errno"] == 30  # EROFS
    for name in ("remount_rw", "umount_proc", "mount_proc", "write_root"):
        assert "error" in seen[name], (name, seen[name])


def test_falls_back_when_namespaces_are_refused(workspace, monkeypatch, launcher):
    """A kernel or a container that refuses unshare: the grading runs as before, says so,
    and the refusal is remembered."""
    if launcher == "pool":
        pytest.skip("the refusal is faked in the judge's namespaces module; a zygote's child uses its own copy")
    monkeypatch.setattr(namespaces, "_ns_unavailable", "")
    monkeypatch.setattr(namespaces, "_NS_FLAGS", 0xFF)  # signal bits: unshare fails with EINVAL
    verdict, seen = _grade(workspace, _candidate("probe('pid', _os.getpid, safe=True)"))
    assert verdict["category"] == PASSED, verdict["feedback"]
    assert not NS_LIMITS & set(verdict["worker"]["limits"])
    assert "pids-cgroup" in verdict["worker"]["limits"]
    assert seen["pid"]["ok"] != "1"
    assert namespaces._ns_unavailable.startswith("fallback: ")


def test_plan_hides_the_package_wherever_a_view_shows_it(tmp_path):
    """An installed (not editable) package inside the bound site-packages is covered."""
    run = tmp_path / "run"
    (run / "work").mkdir(parents=True)
    (run / "io").mkdir()
    site = namespaces._PACKAGE_DIR.parent  # as if the package dir were inside a bound directory
    cmd = [sys.executable, "-I", "-S", str(run / "work" / "main.py"), str(run / "io"), str(site)]
    plan = namespaces._plan(cmd, run / "work", [run / "io"])
    ops = {(kind, target) for kind, target, _, _ in plan.ops}
    assert ("hide", str(namespaces._PACKAGE_DIR)) in ops
    assert ("dir", str(run / "io")) in ops and ("dir", str(run / "work")) in ops
    hidden_at = [i for i, op in enumerate(plan.ops) if op[0] == "hide"]
    views_inside = [
        i for i, op in enumerate(plan.ops) if op[0] == "dir" and any(op[1].startswith(plan.ops[h][1] + "/") for h in hidden_at)
    ]
    assert all(v > min(hidden_at) for v in views_inside)  # views inside a hide are mounted after it
    assert not any(kind == "dir" and target == "/" for kind, target in ops)


def test_the_judge_environment_can_switch_namespaces_off(workspace, monkeypatch):
    monkeypatch.setattr(namespaces, "_ns_unavailable", None)
    monkeypatch.setenv(namespaces._NS_SWITCH, "0")
    verdict, _ = _grade(workspace, _candidate("probe('pid', _os.getpid, safe=True)"))
    assert verdict["category"] == PASSED, verdict["feedback"]
    assert not NS_LIMITS & set(verdict["worker"]["limits"])
    assert namespaces._ns_unavailable == f"switched off ({namespaces._NS_SWITCH}=0)"

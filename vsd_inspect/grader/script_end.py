"""How a script that a zygote's child runs in place ends, as `python SCRIPT` would end it.

The zygote (`zygote.py`) loads this module with the jail, as part of its own package
(`_vsd_zygote`), before its first fork; a child calls it after the script's last line:
`exit_code` reads a SystemExit as CPython's runner does, `uncaught` prints an exception that
ended the script as PyErr_Print does, and `finish` takes the steps of Py_FinalizeEx a script can
see, then exits. `teardown_builtins` asks the interpreter, once, which builtins its teardown
no longer has. Only the standard library: `tools` is the zygote's `_Tools` (its modules, loaded
before the fork).
"""

import os
import sys

# A script that reports which builtins the interpreter's teardown no longer has (CPython
# restores the copy it made before it set `open`, and before site added `exit` and the rest).
TEARDOWN_PROBE = """
import builtins, sys
start = set(vars(builtins))
class Probe:
    def __del__(self):
        sys.__stdout__.write(repr(sorted(start - set(vars(builtins)))))
        sys.__stdout__.flush()
probe = Probe()
probe.cycle = probe
"""


def teardown_builtins(at_start: dict) -> dict:
    """The builtins a finalizer finds at teardown in a process started with this zygote's
    flags (of `at_start`, the builtins a script starts with): asked of the interpreter itself,
    once."""
    import ast
    import subprocess

    flags = [a for a in sys.orig_argv[1 : sys.orig_argv.index(sys.argv[0])] if a.startswith("-")]
    try:
        out = subprocess.run([sys.executable, *flags, "-c", TEARDOWN_PROBE], capture_output=True, timeout=60)
        missing = set(ast.literal_eval(out.stdout.decode()))
    except (OSError, ValueError, SyntaxError, subprocess.SubprocessError):
        missing = {"open"}
    return {k: v for k, v in at_start.items() if k not in missing}


def exit_code(ex: SystemExit) -> int:
    """The status a SystemExit asks for, as CPython's _Py_HandleSystemExit reads it (and
    prints a code that is not an int)."""
    code = ex.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except BaseException:
        pass
    return 1


def uncaught(tools, ex: BaseException, tb) -> None:
    """Print an exception that ended the script, as CPython's PyErr_Print does."""
    ex.__traceback__ = tb  # what is printed: from the script's frame down
    sys.last_type, sys.last_value, sys.last_traceback = type(ex), ex, tb
    try:
        sys.excepthook(type(ex), ex, tb)
    except BaseException as hook:
        print("Error in sys.excepthook:", file=sys.stderr)
        tools.traceback.print_exception(type(hook), hook, hook.__traceback__, file=sys.stderr)
        print("\nOriginal exception was:", file=sys.stderr)
        tools.traceback.print_exception(type(ex), ex, tb, file=sys.stderr)


def flushed() -> bool:
    ok = True
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:
            ok = False
    return ok


def finish(tools, keep: frozenset, exitcode: int, interrupted: bool) -> None:
    """The end of a Python process as a script can see it (Py_FinalizeEx's steps): its
    non-daemon threads joined, its atexit hooks, the standard streams flushed, its garbage
    collected, its own modules and __main__ cleared (so their objects' finalizers run), the
    streams flushed again, then the exit status (120 if a flush failed; by SIGINT after a
    KeyboardInterrupt). Not cleared: the modules it got from the zygote (numpy and the rest),
    whose teardown would copy every page it shares with the zygote and run no code of the
    script's; the exec'd worker skips that teardown for every module (`worker._shut_down`)."""
    gc = tools.gc
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException as ex:
            print("Exception ignored on threading shutdown:", file=sys.stderr)
            tools.traceback.print_exception(type(ex), ex, ex.__traceback__, file=sys.stderr)
    tools.atexit._run_exitfuncs()
    ok = flushed()
    gc.collect()
    # As CPython's finalize_modules, for the script's own modules and __main__: sys's special
    # names cleared, the modules out of sys.modules (in order), a collection, then the dicts
    # of those still alive cleared (in reverse order of import): names with one leading
    # underscore first, then all but __builtins__.
    for name in ("path", "argv", "ps1", "ps2", "last_type", "last_value", "last_traceback", "path_hooks", "meta_path"):
        setattr(sys, name, None)
    sys.path_importer_cache.clear()
    for name in ("stdin", "stdout", "stderr"):
        setattr(sys, name, getattr(sys, f"__{name}__"))
    alive = []
    for name in [m for m in list(sys.modules) if m not in keep or m == "__main__"]:
        module = sys.modules.pop(name)
        if isinstance(module, tools.types.ModuleType):
            alive.append(tools.weakref.ref(module))
        del module
    # The zygote's modules leave sys.modules too (an import in a finalizer fails, as there),
    # but stay alive and uncleared: nothing of the script's is theirs.
    kept = list(sys.modules.values())
    sys.modules.clear()
    builtins = vars(tools.builtins)  # restored to the copy the interpreter made at its start
    builtins.clear()
    builtins.update(tools.teardown_builtins)
    gc.collect()
    for ref in reversed(alive):
        names = getattr(ref(), "__dict__", None)
        for single_underscore in (True, False) if names is not None else ():
            for key in list(names):
                if not isinstance(key, str) or key == "__builtins__":
                    continue
                if single_underscore and not (key[:1] == "_" and key[1:2] != "_"):
                    continue
                names[key] = None
        del names
    gc.collect()
    del kept
    ok = flushed() and ok
    if not ok:
        exitcode = 120
    if interrupted:
        tools.signal.signal(tools.signal.SIGINT, tools.signal.SIG_DFL)
        os.kill(os.getpid(), tools.signal.SIGINT)  # ignored when it is a namespace's init
        exitcode = 128 + tools.signal.SIGINT
    os._exit(exitcode)

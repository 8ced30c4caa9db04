"""Grading where vsd_inspect is not installed: a `grader` sandbox, a Harbor task's container.

The host side (`payload`) packs what one grading needs — the grader's own modules, the laws
of the sample's concept (never its reference, surfaces or bugs), and the request (the
candidate's and the visible test's bytes, the spec, the seed, the limits) — as one JSON
document. The far side runs this very file, standard library only:

    python3 -I remote.py GRADING_DIR < payload.json        (or python3 -I -c "<this file>" ...)

It writes the package as `vsd_inspect/` into a fresh private directory (mkdtemp, 0700) under
GRADING_DIR, runs `judge.grade()` on the request and prints the verdict as JSON on its last
stdout line; on a HarnessError it exits 3 with the message on stderr. It always removes its
directory, also when a timeout sends SIGTERM (made a SystemExit so that `finally` runs).
"""

import base64
import json
import os
import shutil
import signal
import sys
import tempfile

HARNESS_EXIT = 3
_PACKAGE_STUB = '"""vsd_inspect, as shipped for one grading: the grader and one concept\'s laws."""\n'


def package_files(concept: str) -> dict[str, str]:
    """{path inside the shipped package: source} for grading `concept`."""
    from pathlib import Path

    grader = Path(__file__).resolve().parent
    laws = grader.parent / "concepts" / concept / "laws.py"
    if not laws.is_file():
        raise ValueError(f"no laws for concept {concept!r}")
    files = {f"vsd_inspect/grader/{p.name}": p.read_text(encoding="utf-8") for p in sorted(grader.glob("*.py"))}
    files["vsd_inspect/__init__.py"] = _PACKAGE_STUB
    files["vsd_inspect/concepts/__init__.py"] = _PACKAGE_STUB
    files[f"vsd_inspect/concepts/{concept}/laws.py"] = laws.read_text(encoding="utf-8")
    return files


def encode(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def payload(request: dict) -> str:
    """The JSON document the far side reads from stdin. `request` holds `spec`, `candidate`,
    `test` and `expected_test` (base64, or None), `seed`, `files`, `limits` (a dict of
    jail.Limits fields), `candidate_error` and `test_error`; for the impossible split also `contract_test`
    (then `expected_test` is the impossible one)."""
    return json.dumps({"package": package_files(request["spec"]["concept"]), "request": request})


def _write_package(root: str, files: dict) -> None:
    for rel, source in files.items():
        parts = rel.split("/")
        if rel.startswith("/") or ".." in parts or not all(parts):
            raise ValueError(f"refusing package path {rel!r}")
        path = os.path.join(root, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)


def main(grading_dir: str) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    document = json.load(sys.stdin)
    os.makedirs(grading_dir, exist_ok=True)
    root = tempfile.mkdtemp(prefix="run-", dir=grading_dir)
    try:
        _write_package(root, document["package"])
        sys.path.insert(0, root)
        from vsd_inspect.grader import jail, judge
        from vsd_inspect.grader.categories import HarnessError

        req = document["request"]

        def b(s):
            return None if s is None else base64.b64decode(s)

        common = {"spec": req["spec"], "seed": req["seed"], "files": req["files"], "limits": jail.Limits(**req["limits"])}
        try:
            if req.get("contract_test") is not None:  # the impossible split: expected_test is the impossible test
                from vsd_inspect.grader import impossible

                verdict = impossible.grade(
                    b(req["candidate"]), b(req["test"]), b(req["expected_test"]), b(req["contract_test"]),
                    candidate_error=req["candidate_error"], **common,
                )
            else:
                verdict = judge.grade(
                    b(req["candidate"]), b(req["test"]), b(req["expected_test"]), candidate_error=req["candidate_error"],
                    test_error=req.get("test_error"), **common,
                )
        except HarnessError as ex:
            print(f"harness error: {ex}", file=sys.stderr)
            return HARNESS_EXIT
        print(json.dumps(verdict))
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

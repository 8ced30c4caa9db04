"""The grading bootstrap: the hardened grader, run from a shipped copy of its sources.

Standard library only, and free of package imports: it is shipped as `-c` source or as a
file into a container that has python3 and numpy and nothing of this repository.

    python3 -I -c SOURCE GRADING_DIR < PAYLOAD            # the Inspect scorer's `grader` service
    python3 -I grade.py GRADING_DIR < PAYLOAD             # the same, from the file
    python3 -I grade.py --payload BUNDLE WORKSPACE > PAYLOAD
    python3 -I grade.py --write-rewards DIR BUNDLE < VERDICT
    python3 -I grade.py --harbor BUNDLE WORKSPACE [GRADING_DIR]   # --payload, then grade, in one process

GRADING_DIR (no option) is exactly the scorer's `_BOOTSTRAP`: the payload on stdin is
{"package": {file name: source of vsd_inspect/grader/<file>}, "request": {...}}. It writes
the package as vsd_grader/ into a fresh private directory (mkdtemp, mode 0700) under
GRADING_DIR (files on disk: the judge reads worker.py beside judge.py), runs judge.grade()
on the request and prints the verdict as JSON on the last stdout line; on HarnessError it
exits 3 with the message on stderr. It always removes its directory, also when a timeout
sends SIGTERM (made a SystemExit so `finally` runs).

`--payload BUNDLE WORKSPACE` prints that payload for a grading bundle (see
`vsd_inspect.rl.samples.grading_bundle`): the package from BUNDLE/vsd_grader/, the request
built from the template BUNDLE/request.json, the pristine visible test it names, and the
workspace's dropout.py and test_dropout.py as read by the shipped grader's own
`safe_read.collect` (size caps, links refused, non-blocking, the listing for the tamper
signals). A Harbor task's test.sh runs it as root, then the grading as another uid.

`--write-rewards DIR BUNDLE` reads a verdict on stdin (its last non-empty line) and writes
DIR/reward.txt ("1" or "0"), DIR/reward.json (the reward plus numeric metrics: one 0/1 key
per verdict category, the number of checks run and failed) and DIR/verdict.json (the whole
verdict, for a person and for replaying its hidden seed). What is not a verdict of the
grader writes nothing and exits 4, so a harness failure is never a reward of 0.
"""

import base64
import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile

EXIT_USAGE = 2
EXIT_HARNESS = 3
EXIT_BAD_VERDICT = 4
PACKAGE_NAME = "vsd_grader"


def _grade_payload(payload: dict, grading_dir: str) -> int:
    """The scorer's bootstrap: grade `payload` in a fresh private directory under `grading_dir`."""
    os.makedirs(grading_dir, exist_ok=True)
    root = tempfile.mkdtemp(prefix="run-", dir=grading_dir)
    try:
        os.mkdir(os.path.join(root, PACKAGE_NAME))
        for name, source in payload["package"].items():
            with open(os.path.join(root, PACKAGE_NAME, os.path.basename(name)), "w", encoding="utf-8") as f:
                f.write(source)
        sys.path.insert(0, root)
        from vsd_grader import jail, judge
        from vsd_grader.categories import HarnessError

        req = payload["request"]
        b = lambda s: None if s is None else base64.b64decode(s)  # noqa: E731
        try:
            v = judge.grade(
                b(req["candidate"]),
                b(req["test"]),
                b(req["expected_test"]),
                seed=req["seed"],
                files=req["files"],
                limits=jail.Limits(**req["limits"]),
                candidate_error=req["candidate_error"],
                test_error=req.get("test_error"),
            )
        except HarnessError as ex:
            print(f"harness error: {ex}", file=sys.stderr)
            return EXIT_HARNESS
        print(json.dumps(v))
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _module(bundle: str, name: str):
    """One module of the shipped package, loaded from its file (both used here import nothing of it)."""
    spec = importlib.util.spec_from_file_location(f"_vsd_bundle_{name}", os.path.join(bundle, PACKAGE_NAME, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _encode(data):
    return None if data is None else base64.b64encode(data).decode()


def build_payload(bundle: str, workspace: str) -> dict:
    """The scorer's payload for the workspace, from a grading bundle."""
    with open(os.path.join(bundle, "request.json"), encoding="utf-8") as f:
        template = json.load(f)
    package_dir = os.path.join(bundle, PACKAGE_NAME)
    package = {}
    for name in sorted(os.listdir(package_dir)):
        if name.endswith(".py"):
            with open(os.path.join(package_dir, name), encoding="utf-8") as f:
                package[name] = f.read()
    with open(os.path.join(bundle, template["expected_test"]), "rb") as f:
        expected = f.read()
    names, caps = template["workspace_files"], template["caps"]
    files, read = _module(bundle, "safe_read").collect(workspace, {names[k]: int(caps[k]) for k in ("candidate", "test")})
    (candidate, why), (test, test_why) = read[names["candidate"]], read[names["test"]]
    request = {
        "candidate": _encode(candidate),
        "test": _encode(test),
        "expected_test": _encode(expected),
        "seed": template.get("seed"),
        "files": files,
        "limits": template["limits"],
        "candidate_error": why,
        "test_error": test_why,
    }
    return {"package": package, "request": request}


def reward_metrics(verdict: dict, categories) -> dict:
    """The reward and the numeric metrics of a verdict (reward.json's content): "reward" (1.0
    or 0.0), one 0/1 key per verdict category, and the number of checks run and failed.
    Raises ValueError on anything that is not a verdict of the grader."""
    if not isinstance(verdict, dict) or not isinstance(verdict.get("passed"), bool):
        raise ValueError("not a verdict: no boolean 'passed'")
    category = verdict.get("category")
    if category not in categories:
        raise ValueError(f"not a verdict: unknown category {category!r}")
    checks = verdict.get("checks")
    if not isinstance(checks, list):
        raise ValueError("not a verdict: no list of checks")
    if verdict["passed"] != (category == "passed"):
        raise ValueError("not a verdict: 'passed' disagrees with the category")
    failed = sum(1 for c in checks if not (isinstance(c, dict) and c.get("passed") is True))
    # "reward" first, and first in sorted order too (Harbor shows a job's first metric key).
    return {
        "reward": 1.0 if verdict["passed"] else 0.0,
        **{f"verdict_category_{c}": int(c == category) for c in categories},
        "verdict_checks_total": len(checks),
        "verdict_checks_failed": failed,
    }


def reward_files(verdict: dict, categories) -> dict:
    """The reward files' text for a verdict: reward.txt, reward.json, verdict.json."""
    metrics = reward_metrics(verdict, categories)
    return {
        "reward.txt": f"{int(metrics['reward'])}\n",
        "reward.json": json.dumps(metrics) + "\n",
        "verdict.json": json.dumps(verdict, indent=1) + "\n",
    }


def _write_rewards(out_dir: str, bundle: str) -> int:
    lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
    try:
        verdict = json.loads(lines[-1])
        texts = reward_files(verdict, _module(bundle, "categories").ALL)
    except (IndexError, ValueError) as ex:
        print(f"harness error: the grader printed no verdict ({ex})", file=sys.stderr)
        return EXIT_BAD_VERDICT
    # reward.json, which Harbor reads first, last.
    for name in ("verdict.json", "reward.txt", "reward.json"):
        path = os.path.join(out_dir, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(texts[name])
        os.replace(path + ".tmp", path)
    print(f"reward {texts['reward.txt'].strip()}: {verdict['category']} ({verdict['feedback']})")
    return 0


def main(argv: list) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if len(argv) == 1 and not argv[0].startswith("--"):
        return _grade_payload(json.load(sys.stdin), argv[0])
    if len(argv) == 3 and argv[0] == "--payload":
        print(json.dumps(build_payload(argv[1], argv[2])))
        return 0
    if len(argv) == 3 and argv[0] == "--write-rewards":
        return _write_rewards(argv[1], argv[2])
    if len(argv) in (3, 4) and argv[0] == "--harbor":
        with open(os.path.join(argv[1], "request.json"), encoding="utf-8") as f:
            grading_dir = argv[3] if len(argv) == 4 else json.load(f)["grading_dir"]
        return _grade_payload(build_payload(argv[1], argv[2]), grading_dir)
    print(
        "usage: grade.py GRADING_DIR < PAYLOAD | --payload BUNDLE WORKSPACE | --write-rewards DIR BUNDLE"
        " | --harbor BUNDLE WORKSPACE [GRADING_DIR]",
        file=sys.stderr,
    )
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

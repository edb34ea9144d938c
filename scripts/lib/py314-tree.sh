# shellcheck shell=bash
# Python 3.14 for the newest Home Assistant, on a host that has no python3.14.
#
# Debian 12 cannot install Python 3.14, but a minimal Debian sid tree can
# (see shared/BRIEF.md). The tree is built once, cached under .cache/, and
# commands run inside it with chroot in a private mount namespace, so the
# proc/dev/checkout mounts disappear with the process. The network namespace
# is the host's: loopback services (Mosquitto, PostgreSQL) stay reachable.

PY314_TREE="${KEYHOLDER_PY314_TREE:-$REPO_ROOT/.cache/sid-py314}"

_debian_mirror() {
    # The mirror the machine's apt sources already name.
    local uri
    uri=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '{print $2}' | grep -v security | head -n 1)
    if [ -z "$uri" ]; then
        uri=$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null \
            | awk '{print $2}' | grep -v security | head -n 1)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

py314_tree_ensure() {
    if [ -x "$PY314_TREE/usr/bin/python3.14" ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "building the Python 3.14 tree needs root (debootstrap, chroot)" >&2
        return 1
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        echo "--- installing debootstrap"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    local mirror partial="$PY314_TREE.partial"
    mirror=$(_debian_mirror)
    echo "--- building a Debian sid tree with python3.14 in $PY314_TREE (from $mirror)"
    rm -rf "$partial"
    mkdir -p "$(dirname "$PY314_TREE")"
    debootstrap --variant=minbase \
        --include=python3.14,python3.14-venv,ca-certificates \
        sid "$partial" "$mirror" >"$partial.log" 2>&1 || {
        tail -n 30 "$partial.log" >&2
        return 1
    }
    mv "$partial" "$PY314_TREE"
    rm -f "$partial.log"
}

# py314_run DIR CMD... — run CMD inside the tree with the checkout DIR bound at /src.
py314_run() {
    local src="$1"
    shift
    cp -L /etc/resolv.conf "$PY314_TREE/etc/resolv.conf"
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        cp -L /etc/ssl/certs/ca-certificates.crt "$PY314_TREE/etc/ssl/certs/ca-certificates.crt"
    fi
    mkdir -p "$PY314_TREE/src"
    # The host's pip configuration points at host-only wheel folders; keep it out.
    env -u PIP_FIND_LINKS -u PIP_CONSTRAINT -u PIP_EXTRA_INDEX_URL \
        PIP_CONFIG_FILE=/dev/null \
        unshare -m -- sh -c '
            set -e
            tree="$1"; src="$2"; shift 2
            mount --make-rprivate / 2>/dev/null || true
            mount -t proc proc "$tree/proc"
            mount --rbind /dev "$tree/dev"
            mount --bind "$src" "$tree/src"
            exec chroot "$tree" /usr/bin/env HOME=/root PATH=/usr/local/bin:/usr/bin:/bin \
                LANG=C.UTF-8 "$@"
        ' sh "$PY314_TREE" "$src" "$@"
}

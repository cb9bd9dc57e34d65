#!/bin/sh
# Turn a Raspberry Pi (Raspberry Pi OS / Debian 12, arm64 or armhf) into a Loa Làng
# loudspeaker point, in one step, from a provisioning bundle or an enrolment code.
#
#   sudo deploy/node/install.sh BUNDLE_DIR
#   sudo deploy/node/install.sh --enrol https://CONTROLLER CODE --fingerprint SHA256
#
# Idempotent: run again, it changes nothing; with a new bundle it replaces the credentials
# and restarts the agent. What it does, in order (each step only when needed):
#   1. apt packages: python3-venv libportaudio2 alsa-utils chrony
#   2. groups audio and gpio, and the system user loa in both
#   3. a virtualenv /opt/loalang/releases/VERSION with loalang[node] only, /opt/loalang/current
#      pointing at it (unless an update already runs a newer one) and the start wrapper
#      /opt/loalang/loa-node-start, all the loa user's: the agent installs its own updates
#   4. the bundle's files into /etc/loalang (0600, owned by loa), or `loa node enrol`
#   5. the unit loa-node.service and the hardware-watchdog drop-in, enabled and (re)started;
#      chrony-wait enabled, so time-sync.target waits for a synchronised clock
#
# Options:
#   --root DIR      prefix every path with DIR (tests, staging an image); commands still run
#                   on this machine, so tests put recording fakes of systemctl, apt-get and
#                   dpkg-query first on PATH. useradd/groupadd get --root DIR.
#   --package SPEC  install loalang from this wheel or source tree (default: the source tree
#                   this script is in). A version already installed from the same wheel (or
#                   any source tree) is kept. pip reads PIP_* from the environment: tests
#                   install offline with PIP_NO_INDEX=1 PIP_NO_DEPS=1.
set -eu

ROOT=""
PACKAGE=""
BUNDLE=""
ENROL_URL=""
ENROL_CODE=""
FINGERPRINT=""
PACKAGES="python3-venv libportaudio2 alsa-utils chrony"
USER_NAME=loa
UNIT=loa-node.service
HERE=$(cd "$(dirname "$0")" && pwd)
SYSTEMD_FILES="$HERE/../systemd"

say() { printf '%s\n' "loa install: $*"; }
die() {
    printf '%s\n' "loa install: $*" >&2
    exit 2
}
usage() {
    die "usage: install.sh [--root DIR] [--package WHEEL_OR_DIR] (BUNDLE_DIR | --enrol URL CODE --fingerprint SHA256)"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || usage; ROOT=$2; shift 2 ;;
        --package) [ $# -ge 2 ] || usage; PACKAGE=$2; shift 2 ;;
        --enrol) [ $# -ge 3 ] || usage; ENROL_URL=$2; ENROL_CODE=$3; shift 3 ;;
        --fingerprint) [ $# -ge 2 ] || usage; FINGERPRINT=$2; shift 2 ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) [ -z "$BUNDLE" ] || usage; BUNDLE=$1; shift ;;
    esac
done

# --- check everything before changing anything ----------------------------------------------
[ "$(id -u)" = 0 ] || die "run as root: sudo $0 ..."
if [ -n "$ROOT" ]; then
    [ -d "$ROOT" ] || die "--root $ROOT is not a directory"
    ROOT=$(cd "$ROOT" && pwd)
fi
if [ -n "$BUNDLE" ] && [ -n "$ENROL_URL" ]; then
    die "give a bundle directory or --enrol, not both"
fi
if [ -n "$ENROL_URL" ]; then
    case "$ENROL_URL" in https://?*) ;; *) die "--enrol takes an https:// URL, not $ENROL_URL" ;; esac
    [ -n "$ENROL_CODE" ] || die "--enrol needs the code printed on the label"
    [ -n "$FINGERPRINT" ] || die "--enrol needs --fingerprint (the SHA-256 printed on the label)"
elif [ -n "$BUNDLE" ]; then
    [ -z "$FINGERPRINT" ] || die "--fingerprint goes with --enrol"
    [ -d "$BUNDLE" ] || die "bundle $BUNDLE is not a directory"
    [ -f "$BUNDLE/node.json" ] || die "bundle $BUNDLE has no node.json"
    for f in "$BUNDLE"/*; do
        [ ! -L "$f" ] || die "bundle file $f is a symbolic link: refused"
    done
    python3 - "$BUNDLE/node.json" <<'EOF' || die "bundle $BUNDLE/node.json is not a node config"
import json, sys
try:
    config = json.load(open(sys.argv[1], encoding="utf-8"))
except ValueError as exc:
    sys.exit(f"loa install: {sys.argv[1]}: not JSON ({exc})")
missing = [k for k in ("node_id", "broker_password", "controller_public_key") if not (isinstance(config, dict) and config.get(k))]
if missing:
    sys.exit(f"loa install: {sys.argv[1]}: no {', '.join(missing)}")
EOF
else
    usage
fi

SPEC=${PACKAGE:-$(cd "$HERE/../.." && pwd)}
case "$SPEC" in
    *.whl)
        [ -f "$SPEC" ] || die "package $SPEC does not exist"
        VERSION=$(basename "$SPEC" | cut -d- -f2)
        STAMP="$VERSION $(sha256sum "$SPEC" | cut -d' ' -f1)"
        ;;
    *)
        [ -f "$SPEC/pyproject.toml" ] || die "package $SPEC is neither a wheel nor a source tree"
        VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$SPEC/pyproject.toml" | head -n 1)
        STAMP="$VERSION source"
        ;;
esac
case "$VERSION" in
    [0-9]*) ;;
    *) die "no version in package $SPEC" ;;
esac

changed=""   # set when something the running agent reads was replaced: restart it
umask 022

# --- 1. apt packages, only the missing ones -------------------------------------------------
missing=""
for p in $PACKAGES; do
    dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Status}' "$p" 2>/dev/null \
        | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    say "installing$missing"
    apt-get update -q
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

# --- 2. groups and the service user ---------------------------------------------------------
in_root() { # a shadow-utils command, told about --root when there is one
    tool=$1
    shift
    if [ -n "$ROOT" ]; then "$tool" --root "$ROOT" "$@"; else "$tool" "$@"; fi
}
has_entry() { grep -q "^$1:" "$ROOT/etc/$2" 2>/dev/null; }
in_group() {
    awk -F: -v g="$2" -v u="$1" \
        '$1 == g { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) f = 1 } END { exit !f }' \
        "$ROOT/etc/group"
}

for g in audio gpio; do
    has_entry "$g" group || { say "creating group $g"; in_root groupadd --system "$g"; }
done
if ! has_entry "$USER_NAME" passwd; then
    say "creating user $USER_NAME"
    in_root useradd --system --user-group --groups audio,gpio --home-dir /var/lib/loalang \
        --no-create-home --shell /usr/sbin/nologin --comment "Loa Lang loudspeaker point" \
        "$USER_NAME"
fi
for g in audio gpio; do
    in_group "$USER_NAME" "$g" || in_root usermod --append --groups "$g" "$USER_NAME"
done
LOA_UID=$(awk -F: -v u="$USER_NAME" '$1 == u { print $3 }' "$ROOT/etc/passwd")
LOA_GID=$(awk -F: -v u="$USER_NAME" '$1 == u { print $4 }' "$ROOT/etc/passwd")
[ -n "$LOA_UID" ] && [ -n "$LOA_GID" ] || die "user $USER_NAME has no uid in $ROOT/etc/passwd"

# Owner and mode, only when they differ (a chmod of the same mode still changes the ctime).
own() { # MODE PATH
    [ "$(stat -c '%a %u %g' "$2")" = "$1 $LOA_UID $LOA_GID" ] && return 0
    chown "$LOA_UID:$LOA_GID" "$2"
    chmod "$1" "$2"
}
put_dir() { # MODE DIR: a directory of loa's
    [ -d "$2" ] || mkdir -p "$2"
    own "$1" "$2"
}

# --- 3. the release -------------------------------------------------------------------------
# The layout the updater keeps (node_agent/release_start.py): releases/VERSION, current -> it,
# and the start wrapper the unit runs. It is loa's: the agent installs the next release beside
# this one and switches current itself (deploy/SECURITY.md "The node's code is the agent's").
OPT="$ROOT/opt/loalang"
VENV="$OPT/releases/$VERSION"
for p in "$OPT" "$OPT/releases" "$VENV"; do
    # root never follows a link loa could have planted where a directory belongs
    [ ! -L "$p" ] || die "$p is a symbolic link: refused"
done
put_dir 755 "$OPT"
put_dir 755 "$OPT/releases"
if [ "$(cat "$VENV/.loa-installed" 2>/dev/null || true)" != "$STAMP" ]; then
    say "installing loalang $VERSION (node only) into /opt/loalang/releases/$VERSION"
    rm -rf "$VENV" # a half-made one from an interrupted run, or a different build
    python3 -m venv "$VENV" || die "could not make a virtualenv at $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$SPEC[node]" \
        || die "pip could not install loalang[node] (network? PyPI/piwheels?); run this again"
    printf '%s\n' "$STAMP" >"$VENV/.loa-installed"
    chown -R "$LOA_UID:$LOA_GID" "$VENV"
    changed=1
fi
running=$(readlink "$OPT/current" 2>/dev/null || true)
running=${running#releases/}
if [ "$running" != "$VERSION" ] && [ -n "$running" ] \
    && [ -f "$OPT/releases/$running/.loa-installed" ] \
    && [ "$(printf '%s\n%s\n' "$running" "$VERSION" | sort -V | tail -n 1)" = "$running" ]; then
    # an update brought a newer release: this older package stays beside it, unused
    say "keeping loalang $running (newer, installed by an update); $VERSION not started"
elif [ "$running" != "$VERSION" ]; then
    rm -f "$OPT/current.new" # left by a run cut off here
    ln -s "releases/$VERSION" "$OPT/current.new"
    chown -h "$LOA_UID:$LOA_GID" "$OPT/current.new"
    mv -T "$OPT/current.new" "$OPT/current" # atomic: the unit never sees no 'current'
    changed=1
fi
# The wrapper comes with the release current runs (the agent replaces it once an update
# is confirmed), never from another version.
running=$(readlink "$OPT/current")
set -- "$OPT/$running"/lib/python3*/site-packages/node_agent/release_start.py
[ -f "$1" ] || die "release ${running#releases/} has no node_agent/release_start.py"
if ! cmp -s "$1" "$OPT/loa-node-start"; then
    cp "$1" "$OPT/.loa-node-start.new"
    chown "$LOA_UID:$LOA_GID" "$OPT/.loa-node-start.new"
    chmod 755 "$OPT/.loa-node-start.new"
    mv "$OPT/.loa-node-start.new" "$OPT/loa-node-start"
    say "installed /opt/loalang/loa-node-start"
    changed=1
fi

# --- 4. the node's configuration ------------------------------------------------------------
ETC="$ROOT/etc/loalang"
put_dir 700 "$ETC"
put_dir 700 "$ROOT/var/lib/loalang"
if [ -n "$BUNDLE" ]; then
    for f in "$BUNDLE"/*; do
        name=$(basename "$f")
        case "$name" in
            *.png | *.pdf) continue ;; # the printed label stays with the technician
        esac
        [ -f "$f" ] || { say "skipping $name: not a file"; continue; }
        if cmp -s "$f" "$ETC/$name"; then
            own 600 "$ETC/$name"
            continue
        fi
        say "writing /etc/loalang/$name"
        cp "$f" "$ETC/.$name.new"
        chown "$LOA_UID:$LOA_GID" "$ETC/.$name.new"
        chmod 600 "$ETC/.$name.new"
        mv "$ETC/.$name.new" "$ETC/$name"
        changed=1
    done
else
    before=$(find "$ETC" -type f -exec sha256sum {} + | sort)
    # as loa, never root: the code under /opt/loalang is the agent's to change
    setpriv --reuid="$LOA_UID" --regid="$LOA_GID" --clear-groups -- \
        "$OPT/current/bin/loa" node enrol "$ENROL_URL" "$ENROL_CODE" --fingerprint "$FINGERPRINT" \
        --dir "$ETC" --data-dir "$ROOT/var/lib/loalang" \
        || die "enrolment failed (see above); the agent was not enabled or started"
    [ "$before" = "$(find "$ETC" -type f -exec sha256sum {} + | sort)" ] || changed=1
fi

# --- 5. the unit and the hardware watchdog --------------------------------------------------
put_file() { # SOURCE TARGET: 0644 root's; true when it was written
    cmp -s "$1" "$2" && return 1
    # called as a condition, where set -e does not act: every step checked by hand
    { mkdir -p "$(dirname "$2")" && cp "$1" "$2.new" && chmod 644 "$2.new" && mv "$2.new" "$2"; } \
        || die "could not write $2"
    say "installed ${2#"$ROOT"}"
}
if put_file "$SYSTEMD_FILES/$UNIT" "$ROOT/etc/systemd/system/$UNIT"; then
    systemctl daemon-reload
    changed=1
fi
if put_file "$SYSTEMD_FILES/system.conf.d/loa-watchdog.conf" \
    "$ROOT/etc/systemd/system.conf.d/loa-watchdog.conf"; then
    systemctl daemon-reexec # systemd reads RuntimeWatchdogSec= only when it (re)starts
fi
# time-sync.target means "the clock is right" only with chrony-wait (off by default): a Pi
# has no battery clock, and the agent plays by its own clock. It gives up after 3 minutes,
# and the unit only Wants= it, so an offline point still starts.
systemctl is-enabled --quiet chrony-wait.service || systemctl enable chrony-wait.service
systemctl is-enabled --quiet "$UNIT" || systemctl enable "$UNIT"
if [ -n "$changed" ]; then
    say "restarting $UNIT"
    systemctl restart "$UNIT" || die "$UNIT did not start: journalctl -u loa-node -n 50"
elif ! systemctl is-active --quiet "$UNIT"; then
    systemctl start "$UNIT" || die "$UNIT did not start: journalctl -u loa-node -n 50"
fi
say "done: systemctl status loa-node (its Status line says whether the broker answers)"

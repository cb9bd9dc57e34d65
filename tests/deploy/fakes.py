"""Recording stand-ins for the package and service managers an installer calls by name.

They go first on PATH; everything else the installer runs (python3 -m venv, pip, loa, useradd
with --prefix, install, chown) is real. Each call is appended to ``calls.log`` as one line; the
fakes keep just enough state (installed packages, enabled and active units) to answer the
queries an idempotent installer makes, as dpkg and systemd would.
"""

from __future__ import annotations

from pathlib import Path

APT_GET = r"""#!/bin/sh
echo "apt-get $*" >> "$FAKE_STATE/calls.log"
if [ "$1" = install ]; then
    for a in "$@"; do
        case "$a" in -*|install) ;; *) touch "$FAKE_STATE/pkg.$a" ;; esac
        # Debian's packages enable and start their own service when installed.
        case "$a" in mosquitto|nginx)
            touch "$FAKE_STATE/enabled.$a.service" "$FAKE_STATE/active.$a.service" ;;
        esac
    done
fi
"""

DPKG_QUERY = r"""#!/bin/sh
for last; do :; done
[ -e "$FAKE_STATE/pkg.$last" ] || { echo "dpkg-query: no package matching $last" >&2; exit 1; }
printf 'install ok installed'
"""

SYSTEMCTL = r"""#!/bin/sh
echo "systemctl $*" >> "$FAKE_STATE/calls.log"
verb=$1; shift
now=0; units=""
for a in "$@"; do
    case "$a" in --now) now=1 ;; --quiet|-q) ;; *) units="$units $a" ;; esac
done
for u in $units; do
    case "$verb" in
        is-enabled) [ -e "$FAKE_STATE/enabled.$u" ] || exit 1 ;;
        is-active) [ -e "$FAKE_STATE/active.$u" ] || exit 3 ;;
        enable) touch "$FAKE_STATE/enabled.$u"; [ $now = 0 ] || touch "$FAKE_STATE/active.$u" ;;
        disable) rm -f "$FAKE_STATE/enabled.$u"; [ $now = 0 ] || rm -f "$FAKE_STATE/active.$u" ;;
        start|restart|reload) touch "$FAKE_STATE/active.$u" ;;
    esac
done
exit 0
"""

RECORD_ONLY = r"""#!/bin/sh
echo "$(basename "$0") $*" >> "$FAKE_STATE/calls.log"
"""

# certbot certonly --webroot ... --domain NAME: leaves a certificate where Let's Encrypt would.
CERTBOT = r"""#!/bin/sh
echo "certbot $*" >> "$FAKE_STATE/calls.log"
while [ $# -gt 0 ]; do [ "$1" = --domain ] && domain=$2; shift; done
live="$FAKE_ROOT/etc/letsencrypt/live/$domain"
mkdir -p "$live"
echo "fake chain" > "$live/fullchain.pem"
echo "fake key" > "$live/privkey.pem"
"""


def install_fakes(bin_dir: Path, state: Path, *, preinstalled: tuple[str, ...] = ()) -> None:
    """Fakes in ``bin_dir``; ``state`` as a machine fresh from Debian's mosquitto and nginx
    packages would be if ``preinstalled``: their own services enabled and running."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    scripts = {
        "apt-get": APT_GET,
        "dpkg-query": DPKG_QUERY,
        "systemctl": SYSTEMCTL,
        "nginx": RECORD_ONLY,
        "certbot": CERTBOT,
    }
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    for package in preinstalled:
        (state / f"pkg.{package}").touch()


def calls(state: Path) -> list[str]:
    log = state / "calls.log"
    return log.read_text().splitlines() if log.exists() else []

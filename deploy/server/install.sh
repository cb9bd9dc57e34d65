#!/bin/bash
# Loa Làng server installer for Debian 12 / Ubuntu 24.04: Mosquitto, the controller and nginx,
# hardened, with every secret generated here and shown once. Safe to run again: a second run
# with the same options changes nothing; a new release (--source) is installed and restarted.
#
#   sudo deploy/server/install.sh --domain loa.xa-hoabinh.vn --commune "Xã Hòa Bình"
#
# --root DIR prefixes every path the script reads or writes (a throw-away root for tests, or an
# image being built); apt-get, dpkg-query, systemctl, nginx and certbot are called by name, so a
# test puts recording fakes first on PATH. useradd gets --prefix DIR.
# LOA_PIP_ARGS adds pip options (tests: "--no-deps --no-index" to install a wheel offline).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: install.sh [--domain NAME] [--host NAME_OR_IP]... [--commune NAME] [--source DIR_OR_WHEEL]
                  [--acme EMAIL] [--client-certs] [--https-port N] [--http-port N] [--reinstall]
                  [--root DIR]
  --domain      the name browsers and nodes use (default: hostname -f); in the certificates
  --host        another name or IP for the certificates (repeat), e.g. the public IP
  --commune     the commune's name, on first install (default: "Loa Làng")
  --source      what pip installs: this tree (default), another source tree, or a wheel
  --acme EMAIL  a Let's Encrypt certificate for the web app (certbot, HTTP-01 on port 80)
  --client-certs  nodes need a certificate from the commune CA as well as their password
  --reinstall   install the Python package even if the same version is there
EOF
}

ROOT=""
DOMAIN=""
HOSTS=()
COMMUNE="Loa Làng"
SOURCE="$(cd "$(dirname "$0")/../.." && pwd)"
ACME_EMAIL=""
HTTPS_PORT=443
HTTP_PORT=80
REINSTALL=0
CLIENT_CERTS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
        --domain) DOMAIN="${2:?--domain needs a name}"; shift 2 ;;
        --host) HOSTS+=("${2:?--host needs a name or IP}"); shift 2 ;;
        --commune) COMMUNE="${2:?--commune needs a name}"; shift 2 ;;
        --source) SOURCE="${2:?--source needs a directory or a wheel}"; shift 2 ;;
        --acme) ACME_EMAIL="${2:?--acme needs an e-mail address}"; shift 2 ;;
        --https-port) HTTPS_PORT="${2:?}"; shift 2 ;;
        --http-port) HTTP_PORT="${2:?}"; shift 2 ;;
        --reinstall) REINSTALL=1; shift ;;
        --client-certs) CLIENT_CERTS=(--client-certs); shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

fail() { echo "install.sh: $*" >&2; exit 2; }
say() { echo "==> $*"; }

# Everything is checked before anything changes.
[ "$(id -u)" = 0 ] || fail "run it as root (sudo)"
[ -n "$DOMAIN" ] || DOMAIN="$(hostname -f 2>/dev/null || true)"
[ -n "$DOMAIN" ] || fail "give --domain: the name the nodes and browsers use for this server"
NAME_RE='^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$'
IP_RE='^[0-9A-Fa-f.:]+$'
[[ "$DOMAIN" =~ $NAME_RE ]] || fail "--domain $DOMAIN is not a host name"
for h in "${HOSTS[@]}"; do
    [[ "$h" =~ $NAME_RE || "$h" =~ $IP_RE ]] || fail "--host $h is not a host name or IP address"
done
for p in "$HTTPS_PORT" "$HTTP_PORT"; do
    [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || fail "bad port $p"
done
[ -z "$ACME_EMAIL" ] || [[ "$ACME_EMAIL" =~ ^[^@[:space:]]+@[^@[:space:]]+$ ]] \
    || fail "--acme $ACME_EMAIL is not an e-mail address"
[ -z "$ROOT" ] || ROOT="$(cd "$ROOT" 2>/dev/null && pwd)" || fail "--root: no such directory"
[ -f "$SOURCE/pyproject.toml" ] || [[ -f "$SOURCE" && "$SOURCE" == *.whl ]] \
    || fail "--source $SOURCE is neither a source tree nor a wheel"

HERE="$(cd "$(dirname "$0")" && pwd)"
DEPLOY="$(dirname "$HERE")"
USER_NAME=loa
PREFIX=/opt/loalang
VENV=$PREFIX/.venv
DATA=/var/lib/loalang
ETC=/etc/loalang
UNITS=(loa-broker.service loa-controller.service)
PACKAGES=(python3-venv mosquitto nginx)
[ -z "$ACME_EMAIL" ] || PACKAGES+=(certbot)
CHANGED_UNITS=0
RESTART=0

# --- system packages: only the missing ones ---------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's mosquitto package runs its own broker on port 1883: ours (loa-broker) replaces it.
if systemctl is-enabled --quiet mosquitto.service 2>/dev/null; then
    say "disabling the distribution's mosquitto.service (loa-broker.service replaces it)"
    systemctl disable --now mosquitto.service
fi

# --- the service account -------------------------------------------------------------------
user_line() { grep "^$USER_NAME:" "$ROOT/etc/passwd" 2>/dev/null || true; }
if [ -z "$(user_line)" ]; then
    say "creating the system user $USER_NAME"
    prefix=()
    [ -z "$ROOT" ] || prefix=(--prefix "$ROOT")
    useradd "${prefix[@]}" --system --user-group --home-dir "$DATA" --no-create-home \
        --shell /usr/sbin/nologin --comment "Loa Lang service" "$USER_NAME"
fi
LOA_UID="$(user_line | cut -d: -f3)"
LOA_GID="$(user_line | cut -d: -f4)"

# --- the controller in its virtualenv ------------------------------------------------------
install -d -m 0755 "$ROOT$PREFIX"
if [ ! -x "$ROOT$VENV/bin/python" ]; then
    say "creating the virtualenv $VENV"
    python3 -m venv "$ROOT$VENV"
fi
wanted_version() {
    if [ -f "$SOURCE/pyproject.toml" ]; then
        sed -n 's/^version = "\(.*\)"$/\1/p' "$SOURCE/pyproject.toml" | head -n1
    elif [[ "$SOURCE" == *.whl ]]; then
        basename "$SOURCE" | cut -d- -f2
    fi
}
# -I: not the working directory's packages (a source checkout's loalang.egg-info would answer)
installed="$("$ROOT$VENV/bin/python" -I -c \
    'import importlib.metadata as m; print(m.version("loalang"))' 2>/dev/null || true)"
wanted="$(wanted_version)"
if [ "$REINSTALL" = 1 ] || [ -z "$installed" ] || [ "$installed" != "$wanted" ]; then
    say "installing loalang[controller] ${wanted:-} from $SOURCE"
    # shellcheck disable=SC2086  # LOA_PIP_ARGS is a list of options
    "$ROOT$VENV/bin/python" -m pip install -q --disable-pip-version-check ${LOA_PIP_ARGS:-} \
        "$SOURCE[controller]"
    RESTART=1
fi
LOA="$ROOT$VENV/bin/loa"

# --- the data directory: config, keys, database, broker accounts, certificates ---------------
# loa runs as root here and the files are handed to the service account afterwards; loa makes
# them 0600 in a 0700 directory whoever runs it.
install -d -m 0700 -o "$LOA_UID" -g "$LOA_GID" "$ROOT$DATA"
if [ ! -f "$ROOT$DATA/controller.json" ]; then
    say "setting up $DATA for $COMMUNE"
    "$LOA" init --data "$ROOT$DATA" --commune "$COMMUNE"
fi
hosts=(--host "$DOMAIN")
for h in "${HOSTS[@]}"; do hosts+=(--host "$h"); done
TLS_REPORT="$("$LOA" tls init --data "$ROOT$DATA" "${hosts[@]}" "${CLIENT_CERTS[@]}")"
ADMIN_REPORT=""
if out="$("$LOA" user add --data "$ROOT$DATA" --username admin --role admin \
        --generate-password 2>&1)"; then
    ADMIN_REPORT="$out"
elif [[ "$out" != *"already exists"* ]]; then
    fail "could not create the admin account: $out"
fi
chown -R "$LOA_UID:$LOA_GID" "$ROOT$DATA"
"$LOA" config check --data "$ROOT$DATA" >/dev/null

# LOA_* overrides for both services; kept as the administrator left it.
install -d -m 0750 -o 0 -g "$LOA_GID" "$ROOT$ETC"
if [ ! -f "$ROOT$ETC/controller.env" ]; then
    install -m 0640 -o 0 -g "$LOA_GID" /dev/null "$ROOT$ETC/controller.env"
    cat >"$ROOT$ETC/controller.env" <<'EOF'
# LOA_* overrides of /var/lib/loalang/controller.json for loa-broker and loa-controller, e.g.
#   LOA_CAP_FEEDS=https://tinh.example.vn/cap.xml
#   LOA_TWO_PERSON_RULE=true
# Check the result with: sudo -u loa /opt/loalang/.venv/bin/loa config check --data /var/lib/loalang
EOF
fi

# --- files that are ours: written only when their content changes --------------------------
# put SRC DEST MODE: copy when different; returns 0 when it wrote.
put() {
    if [ -f "$2" ] && cmp -s "$1" "$2"; then
        return 1
    fi
    install -D -m "$3" -o 0 -g 0 "$1" "$2"
    return 0
}

for unit in "${UNITS[@]}"; do
    if put "$DEPLOY/systemd/$unit" "$ROOT/etc/systemd/system/$unit" 0644; then
        say "installed $unit"
        CHANGED_UNITS=1
    fi
done

# --- nginx ---------------------------------------------------------------------------------
CERT="$DATA/broker/tls/web.crt"
KEY="$DATA/broker/tls/web.key"
HSTS=""
install -d -m 0755 "$ROOT/var/www/loalang-acme"
if [ -n "$ACME_EMAIL" ]; then
    LIVE="/etc/letsencrypt/live/$DOMAIN"
    if [ ! -f "$ROOT$LIVE/fullchain.pem" ]; then
        # certbot answers the challenge from the webroot the HTTP server block already serves;
        # nginx must be up with the commune certificate first.
        RENDER_ONLY_COMMUNE=1
    else
        CERT="$LIVE/fullchain.pem"
        KEY="$LIVE/privkey.pem"
        HSTS='    add_header Strict-Transport-Security "max-age=63072000" always;'
    fi
fi
render_site() {
    sed -e "s|@DOMAIN@|$DOMAIN|g" -e "s|@CERT@|$1|g" -e "s|@KEY@|$2|g" \
        -e "s|@HTTPS_PORT@|$HTTPS_PORT|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@UPSTREAM@|127.0.0.1:8080|g" -e "s|@CA@|$DATA/broker/tls/ca.crt|g" \
        -e "s|^@HSTS@$|$3|" \
        "$DEPLOY/server/nginx/loalang.conf.template"
}
SITE="$ROOT/etc/nginx/sites-available/loalang.conf"
reload_nginx() {
    nginx -t -q
    if systemctl is-active --quiet nginx.service; then
        systemctl reload nginx.service
    else
        systemctl enable --now nginx.service
    fi
}
RENDERED="$(mktemp)"
trap 'rm -f "$RENDERED"' EXIT
site_changed=0
render_site "$CERT" "$KEY" "$HSTS" >"$RENDERED"
if put "$RENDERED" "$SITE" 0644; then
    site_changed=1
fi
install -d -m 0755 "$ROOT/etc/nginx/sites-enabled"
if [ "$(readlink "$ROOT/etc/nginx/sites-enabled/loalang.conf" 2>/dev/null)" != \
        /etc/nginx/sites-available/loalang.conf ]; then
    ln -sfn /etc/nginx/sites-available/loalang.conf "$ROOT/etc/nginx/sites-enabled/loalang.conf"
    site_changed=1
fi
# Debian's stock site also claims port 80 as the default server.
if [ -L "$ROOT/etc/nginx/sites-enabled/default" ]; then
    rm "$ROOT/etc/nginx/sites-enabled/default"
    site_changed=1
fi

# --- services ------------------------------------------------------------------------------
[ "$CHANGED_UNITS" = 0 ] || systemctl daemon-reload
for unit in "${UNITS[@]}"; do
    if ! systemctl is-enabled --quiet "$unit" 2>/dev/null; then
        systemctl enable "$unit"
    fi
    if ! systemctl is-active --quiet "$unit" 2>/dev/null; then
        systemctl start "$unit"
    elif [ "$CHANGED_UNITS" = 1 ] || [ "$RESTART" = 1 ]; then
        systemctl restart "$unit"
    fi
done
if [ "$site_changed" = 1 ] || ! systemctl is-active --quiet nginx.service 2>/dev/null; then
    say "nginx serves https://$DOMAIN/"
    reload_nginx
fi
if [ "${RENDER_ONLY_COMMUNE:-0}" = 1 ]; then
    say "asking Let's Encrypt for a certificate for $DOMAIN"
    certbot certonly --non-interactive --agree-tos --email "$ACME_EMAIL" --webroot \
        --webroot-path /var/www/loalang-acme --domain "$DOMAIN" \
        --deploy-hook "systemctl reload nginx.service"
    render_site "$LIVE/fullchain.pem" "$LIVE/privkey.pem" \
        '    add_header Strict-Transport-Security "max-age=63072000" always;' >"$RENDERED"
    put "$RENDERED" "$SITE" 0644 || true
    reload_nginx
fi

# --- what the administrator needs, once -----------------------------------------------------
echo
echo "Loa Làng is installed: https://$DOMAIN$([ "$HTTPS_PORT" = 443 ] || echo ":$HTTPS_PORT")/"
echo "Nodes connect to the broker at $DOMAIN:8883 (TLS). Open ports $HTTP_PORT, $HTTPS_PORT and 8883."
echo "$TLS_REPORT"
if [ -n "$ADMIN_REPORT" ]; then
    echo
    echo "The admin account (shown this once; change the password after the first login):"
    echo "  user name: admin"
    echo "$ADMIN_REPORT" | sed -n 's/^password (shown once, keep it safe): /  password:  /p'
    echo "$ADMIN_REPORT" | sed -n 's/^.*API token: /  API token: /p'
fi

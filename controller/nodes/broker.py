"""The project's Mosquitto: its password and ACL files, its config, and starting it.

Used by provisioning (`loa node add`), the demo and the tests, so all three run the broker with
the same policy from ``controller/nodes/mosquitto/``.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

from controller.nodes.broker_tls import TlsListener
from controller.private_files import UMASK, private_dir, write_private
from protocol import limits, topics

# Package data, so an installed controller (a wheel, not this tree) renders the same policy.
POLICY_DIR = Path(__file__).resolve().parent / "mosquitto"
PBKDF2_ITERATIONS = 101  # Mosquitto's own default for its $7$ (PBKDF2-SHA512) hashes


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A Mosquitto 2 ``$7$`` password hash, as ``mosquitto_passwd`` writes it."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    b64salt, b64digest = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"$7${PBKDF2_ITERATIONS}${b64salt}${b64digest}"


def new_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class BrokerFiles:
    """Where one broker instance keeps its state; everything under one directory."""

    root: Path

    @property
    def password_file(self) -> Path:
        return self.root / "passwd"

    @property
    def acl_file(self) -> Path:
        return self.root / "acl"

    @property
    def config_file(self) -> Path:
        return self.root / "mosquitto.conf"

    @property
    def pid_file(self) -> Path:
        return self.root / "mosquitto.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "mosquitto.log"

    @property
    def persistence_dir(self) -> Path:
        return self.root / "data"


def set_password(files: BrokerFiles, user: str, password: str) -> None:
    """Add or replace one account in the password file, atomically."""
    lines = _read_lines(files.password_file)
    kept = [ln for ln in lines if ln.split(":", 1)[0] != user]
    kept.append(f"{user}:{hash_password(password)}")
    write_private(files.password_file, "\n".join(kept) + "\n")


def users(files: BrokerFiles) -> list[str]:
    return [ln.split(":", 1)[0] for ln in _read_lines(files.password_file)]


def reader_user(controller_user: str) -> str:
    """The account the controller reads the nodes with, beside ``controller_user`` which sends
    (the broker binds a client id to its account, so a second session needs a second account).
    A dot, which no node id has, so no node can be given this name."""
    return f"{controller_user}.reads"


def add_controller(files: BrokerFiles, controller_user: str, password: str) -> None:
    """The controller's two accounts, both with ``password``."""
    for user in (controller_user, reader_user(controller_user)):
        set_password(files, user, password)


def write_acl(files: BrokerFiles, controller_user: str, node_ids: list[str]) -> None:
    head = Template((POLICY_DIR / "acl.template").read_text()).substitute(
        controller_user=controller_user,
        controller_topics="\n".join(topics.controller_acl()),
        reader_user=reader_user(controller_user),
        reader_topics="\n".join(topics.controller_reader_acl()),
    )
    blocks = [head]
    for node_id in sorted(node_ids):
        lines = [f"\nuser {node_id}", *topics.node_acl(node_id)]
        blocks.append("\n".join(lines) + "\n")
    write_private(files.acl_file, "".join(blocks))


def write_config(
    files: BrokerFiles, port: int, bind_address: str = "127.0.0.1", tls: TlsListener | None = None
) -> Path:
    """Render the broker config; with ``tls``, the plain listener binds 127.0.0.1 whatever asked.

    Only the controller on this machine may then speak plain MQTT: every other client (a node
    over 4G or Wi-Fi) has to come through TLS.
    """
    private_dir(files.persistence_dir)
    if tls is not None:
        bind_address = "127.0.0.1"
    text = Template((POLICY_DIR / "mosquitto.conf.template").read_text()).substitute(
        password_file=files.password_file,
        acl_file=files.acl_file,
        port=port,
        bind_address=bind_address,
        persistence_dir=files.persistence_dir,
        pid_file=files.pid_file,
        log_file=files.log_file,
        run_as=getpass.getuser(),
        max_packet_size=limits.MAX_PACKET_BYTES,
        max_queued_messages=limits.BROKER_MAX_QUEUED_MESSAGES,
        max_inflight_messages=limits.BROKER_MAX_INFLIGHT_MESSAGES,
        max_inflight_bytes=limits.BROKER_MAX_INFLIGHT_BYTES,
        max_queued_bytes=limits.BROKER_MAX_QUEUED_BYTES,
    )
    if tls is not None:
        text += Template((POLICY_DIR / "tls-listener.conf.template").read_text()).substitute(
            tls_port=tls.port,
            cafile=tls.files.ca_file,
            certfile=tls.files.cert_file,
            keyfile=tls.files.key_file,
            require_certificate="true" if tls.client_certs else "false",
        )
    write_private(files.config_file, text)
    return files.config_file


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).exists():
        raise RuntimeError("mosquitto is not installed: `make run` installs it")
    return found


def start_broker(
    files: BrokerFiles, port: int, timeout: float = 10.0, tls: TlsListener | None = None
) -> subprocess.Popen[bytes]:
    """Start Mosquitto with the rendered config and wait until it accepts connections."""
    waiting = [port] + ([tls.port] if tls else [])
    # A port that takes connections before our broker runs is another program's (a second
    # demo, an old broker): waiting for it would take theirs for ours, and ours would exit
    # unseen when it fails to bind there.
    if taken := [p for p in waiting if accepts(p)]:
        raise RuntimeError(f"port {taken[0]} is already in use by another program")
    write_config(files, port, tls=tls)
    proc = subprocess.Popen(
        [mosquitto_binary(), "-c", str(files.config_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        umask=UMASK,  # its log and its database of queued messages are the owner's only
    )
    # Mosquitto opens its listeners one after another: wait for each, or a client of the
    # later (TLS) listener can be refused by a broker that is still starting.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            log = files.log_file.read_text() if files.log_file.exists() else ""
            raise RuntimeError(f"mosquitto exited with {proc.returncode}: {err}{log[-2000:]}")
        if accepts(waiting[0]):
            waiting.pop(0)
            if not waiting:
                return proc
        else:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"mosquitto did not listen on ports {waiting} within {timeout} s")


def accepts(port: int) -> bool:
    """Something on 127.0.0.1 takes connections on ``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def reload_broker(files: BrokerFiles) -> bool:
    """Make a running broker re-read its password and ACL files (SIGHUP); False if none runs."""
    try:
        pid = int(files.pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return False
    return True


def stop_broker(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stderr:
        proc.stderr.close()


_rng = secrets.SystemRandom()
_handed_out: set[int] = set()


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a server about to start (the demo, the tests).

    Taken below the kernel's ephemeral range: a port from that range (what binding port 0
    gives) can be taken as the source port of any outgoing connection before the server
    binds it, which two test workers with browsers and MQTT clients did.

    A port is handed out once per process: nothing holds it until its server binds, so two
    calls in a row (a system's HTTP and MQTT ports) could otherwise both get it, and the
    second server then failed with "address already in use"."""
    first_ephemeral = _first_ephemeral_port()
    for _ in range(200):
        port = _rng.randrange(max(1024, first_ephemeral - 12000), first_ephemeral)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:  # everything below the range taken: any free port at all
        s.bind(("127.0.0.1", 0))
        found: int = s.getsockname()[1]
        return found


def _first_ephemeral_port() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return max(2048, int(text.split()[0]))
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _read_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [ln for ln in path.read_text().splitlines() if ln.strip()]

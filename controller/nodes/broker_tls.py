"""The commune's own CA and the broker's server certificate, for Mosquitto's TLS listener.

Nodes reach the broker over 4G and village Wi-Fi with their passwords: the TLS listener keeps both
the passwords and the commands off the air in clear, and nodes verify the broker against this CA
(pinned in their config at provisioning), not against the public CAs.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from controller.config import ControllerConfig
from controller.private_files import private_dir, write_private

CA_YEARS = 20  # a commune's installation outlives any sensible renewal routine
SERVER_YEARS = 10


@dataclass(frozen=True)
class TlsFiles:
    """The three files Mosquitto's TLS listener reads (``cafile``/``certfile``/``keyfile``)."""

    ca_file: Path
    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class TlsListener:
    port: int
    files: TlsFiles


def listener(config: ControllerConfig) -> TlsListener | None:
    """The TLS listener ``config`` asks for, if any: given files, or the commune CA's."""
    if config.mqtt_tls_port is None:
        return None
    given = config.mqtt_tls_files
    files = TlsFiles(*given) if given else default_files(config.broker_tls_dir)
    return TlsListener(config.mqtt_tls_port, files)


def ensure_files(config: ControllerConfig) -> None:
    """Make the commune CA and server certificate once, when TLS is on and no files are given."""
    if config.mqtt_tls_port is None or config.mqtt_tls_files:
        return
    if default_files(config.broker_tls_dir).cert_file.exists():
        return
    if not config.mqtt_tls_hosts:
        raise SystemExit(
            "TLS needs the broker's host names or IPs (--tls-host) for its certificate"
        )
    make_ca(config.broker_tls_dir, config.mqtt_tls_hosts, commune=config.commune_name)


def default_files(root: Path) -> TlsFiles:
    return TlsFiles(root / "ca.crt", root / "server.crt", root / "server.key")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_ca(root: Path, hosts: list[str], *, commune: str = "Loa Lang") -> TlsFiles:
    """A new commune CA and a server certificate for ``hosts`` (names or IPs), all 0600.

    The CA's private key is not kept: it signs this one server certificate and is then gone, so
    it cannot leak; a new host name means a new CA and re-provisioned nodes.
    """
    if not hosts:
        raise ValueError("the server certificate needs at least one broker host name or IP")
    private_dir(root)
    files = default_files(root)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{commune} broker CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365 * SERVER_YEARS))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    write_private(files.ca_file, ca.public_bytes(pem))
    write_private(files.cert_file, server.public_bytes(pem))
    write_private(
        files.key_file,
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    return files

"""The commune's own CA, the broker's server certificate for Mosquitto's TLS listener, and the
web app's certificate for the reverse proxy (HTTPS, and enrolment pinned by its fingerprint).

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
    client_certs: bool = False  # clients need a certificate from ``files.ca_file`` too


def listener(config: ControllerConfig) -> TlsListener | None:
    """The TLS listener ``config`` asks for, if any: given files, or the commune CA's."""
    if config.mqtt_tls_port is None:
        return None
    given = config.mqtt_tls_files
    files = TlsFiles(*given) if given else default_files(config.broker_tls_dir)
    return TlsListener(config.mqtt_tls_port, files, config.mqtt_tls_client_certs)


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


def web_files(root: Path) -> tuple[Path, Path]:
    """The web app's certificate and key, beside the broker's (the reverse proxy serves them)."""
    return root / "web.crt", root / "web.key"


def cert_hosts(cert_file: Path) -> list[str]:
    """The names and addresses a certificate is for (its subjectAltName), in its order."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in san]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_ca(
    root: Path, hosts: list[str], *, commune: str = "Loa Lang", keep_key: bool = False
) -> TlsFiles:
    """A new commune CA, and server certificates for ``hosts`` (names or IPs) for the broker and
    the web app, all 0600.

    The CA's private key is not kept unless ``keep_key`` (client certificates for the nodes need
    it later): it signs these two certificates and is then gone, so it cannot leak; a new host
    name means a new CA and re-provisioned nodes.
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
    write_private(files.ca_file, ca.public_bytes(serialization.Encoding.PEM))
    ca_key_file(root).unlink(missing_ok=True)  # a replaced CA's key must not outlive it
    if keep_key:
        write_private(ca_key_file(root), _key_pem(ca_key))
    # The broker and the web app each get their own key: Mosquitto reads one as the service
    # account, nginx the other as root, and neither key has to serve both.
    for cert_file, key_file in ((files.cert_file, files.key_file), web_files(root)):
        cert, key = sign_leaf(ca_name, ca_key, hosts[0], hosts=hosts)
        write_private(cert_file, cert)
        write_private(key_file, key)
    return files


def ca_key_file(root: Path) -> Path:
    """The commune CA's private key, kept only when nodes get client certificates."""
    return root / "ca.key"


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def sign_leaf(
    issuer: x509.Name,
    ca_key: ec.EllipticCurvePrivateKey,
    common_name: str,
    *,
    hosts: list[str] | None = None,
    years: int = SERVER_YEARS,
) -> tuple[bytes, bytes]:
    """A new key and its certificate (PEM, PEM) signed by the CA: for a server when ``hosts``
    (its subjectAltName) is given, else for a client named ``common_name``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if hosts else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

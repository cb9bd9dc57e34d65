"""The web app's HTTPS certificate, and the fingerprint a node pins when it enrols.

A commune has no public domain name to get a certificate for, and the commune CA's private key
is not kept (``broker_tls``), so the controller makes a self-signed certificate for the names
and addresses it is reached at. Nothing trusts it by a CA: a node trusts it by its SHA-256
fingerprint, printed on the point's label and typed into ``loa node enrol``. A reverse proxy
that serves the web app instead of uvicorn is given the same two files, so the fingerprint on
the labels stays the one the nodes see.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from controller.config import ControllerConfig
from controller.nodes.broker_tls import _name, _san
from controller.private_files import private_dir, write_private

YEARS = 10  # labels on poles outlive a yearly renewal; a new certificate means new labels


def make_certificate(
    root: Path, hosts: list[str], *, commune: str = "Loa Lang"
) -> tuple[Path, Path]:
    """A new self-signed certificate for ``hosts`` in ``root``: (cert, key), both 0600."""
    if not hosts:
        raise ValueError("the HTTPS certificate needs at least one host name or IP address")
    private_dir(root)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"{commune} controller")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365 * YEARS))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = root / "controller.crt", root / "controller.key"
    pem = serialization.Encoding.PEM
    write_private(cert_file, cert.public_bytes(pem))
    write_private(
        key_file,
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    return cert_file, key_file


def ensure_certificate(config: ControllerConfig, hosts: list[str]) -> ControllerConfig:
    """``config`` serving HTTPS: with its given files, or a certificate made once for ``hosts``."""
    if config.http_tls_files:
        return config
    files = make_certificate(config.https_dir, hosts, commune=config.commune_name)
    return config.model_copy(update={"http_tls_files": files})


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate (DER), upper-case hex: what ``openssl x509 -fingerprint
    -sha256`` prints, without its colons."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest().upper()


def grouped(fp: str) -> str:
    """``fp`` in groups of four, easier to read off a label and type on a Pi."""
    return " ".join(fp[i : i + 4] for i in range(0, len(fp), 4))


def served_fingerprint(config: ControllerConfig) -> str | None:
    """The fingerprint of the certificate the web app is served with, None without HTTPS."""
    if not config.http_tls_files:
        return None
    return fingerprint(config.http_tls_files[0].read_bytes())

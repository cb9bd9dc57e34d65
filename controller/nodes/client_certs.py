"""Client certificates for the nodes, signed by the commune CA, when the broker asks for them.

With ``mqtt_tls_client_certs`` on, the broker's TLS listener requires a certificate from the
commune CA before a client may even send its password: a node's password alone, leaked or
guessed, does not reach the login from elsewhere, and Mosquitto's login is closed to the
internet. The password still names and authenticates the node, so revoking it (provisioning the
point again) revokes the node although its old certificate stays valid.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from controller.config import ControllerConfig
from controller.nodes import broker_tls

CLIENT_YEARS = 10  # a Pi on a pole is replaced, not renewed


@dataclass(frozen=True)
class ClientCert:
    cert_pem: str
    key_pem: str


def issue(config: ControllerConfig, node_id: str) -> ClientCert | None:
    """A certificate for ``node_id`` if the broker asks nodes for one, else None."""
    if not config.mqtt_tls_client_certs or config.mqtt_tls_port is None:
        return None
    root = config.broker_tls_dir
    key_file = broker_tls.ca_key_file(root)
    if not key_file.exists():
        raise ValueError(
            "client certificates are on but the commune CA's key is not kept: "
            "run `loa tls init --client-certs --replace` (then provision every node again)"
        )
    ca_key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_file} is not the commune CA's key")
    ca = x509.load_pem_x509_certificate(broker_tls.default_files(root).ca_file.read_bytes())
    cert, key = broker_tls.sign_leaf(ca.subject, ca_key, node_id, years=CLIENT_YEARS)
    return ClientCert(cert.decode(), key.decode())

"""`loa tls init`: turn the broker's TLS listener on and make the commune's certificates.

One command an installer can run every time: the first run makes the commune CA, the broker's
and the web app's certificates and records the TLS settings in ``controller.json``; a later run
with the same host names changes nothing and prints the same fingerprints; other host names are
refused unless ``replace`` is given, since a new CA means every node must be provisioned again.

The web app's certificate becomes ``http_tls_files`` unless the configuration names other files:
the controller serves it, a reverse proxy in front serves the same two files, and its
fingerprint is the one the labels print and enrolling Pis pin (``web_tls``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from controller.nodes import bootstrap, broker_tls, web_tls

DEFAULT_TLS_PORT = 8883


@dataclass(frozen=True)
class TlsState:
    made: bool  # False: the existing certificates were kept
    hosts: list[str]
    port: int
    ca_file: Path
    broker_cert: Path
    web_cert: Path
    web_key: Path
    client_certs: bool
    served: Path  # the web app's certificate in use: ours, or the configuration's own

    def fingerprints(self) -> dict[str, str]:
        """SHA-256 of each certificate, grouped as the labels print it."""
        files = {"commune CA": self.ca_file, "broker": self.broker_cert, "web app": self.served}
        return {n: web_tls.grouped(web_tls.fingerprint(p.read_bytes())) for n, p in files.items()}


def init(
    data_dir: Path,
    hosts: list[str],
    *,
    port: int | None = None,
    replace: bool = False,
    client_certs: bool = False,
) -> TlsState:
    """Make (or keep) the commune CA and certificates for ``hosts`` in ``data_dir``; with
    ``client_certs`` the broker asks nodes for a certificate too and the CA's key is kept to
    sign them (without, a kept key is removed)."""
    config = bootstrap.load_config(data_dir)
    hosts = _unique([h.strip() for h in hosts if h.strip()])
    if not hosts:
        raise ValueError("give the names or addresses the nodes and browsers use: --host NAME")
    if config.mqtt_tls_files:
        raise ValueError(
            "controller.json names its own TLS files (mqtt_tls_files): "
            "remove them to let `loa tls init` make the commune's"
        )
    port = port or config.mqtt_tls_port or DEFAULT_TLS_PORT
    if port == config.mqtt_port:
        raise ValueError(f"the TLS port {port} is the plain MQTT port: choose another")
    files = broker_tls.default_files(config.broker_tls_dir)
    web_cert, web_key = broker_tls.web_files(config.broker_tls_dir)
    present = all(p.exists() for p in (files.ca_file, files.cert_file, web_cert, web_key))
    if present and not replace:
        existing = broker_tls.cert_hosts(files.cert_file)
        if set(existing) != set(hosts):
            raise ValueError(
                f"the certificates are for {', '.join(existing)}, not {', '.join(hosts)}: "
                "a new name needs a new commune CA and every node provisioned again "
                "(pass --replace to do that)"
            )
        hosts = existing  # keep the first name the certificates were made with
    elif files.cert_file.exists() and not web_cert.exists() and not replace:
        raise ValueError(
            "the broker's certificate predates the web app's, and the CA key that made it is "
            "gone: pass --replace for a new commune CA (then provision every node again)"
        )
    ca_key = broker_tls.ca_key_file(config.broker_tls_dir)
    if present and client_certs and not ca_key.exists() and not replace:
        raise ValueError(
            "client certificates need the commune CA's key, which was not kept when the CA "
            "was made: pass --replace for a new CA (then provision every node again)"
        )
    made = not present or replace
    if made:
        broker_tls.make_ca(
            config.broker_tls_dir, hosts, commune=config.commune_name, keep_key=client_certs
        )
    elif not client_certs:
        ca_key.unlink(missing_ok=True)  # nothing signs with it any more
    served = config.http_tls_files or (web_cert, web_key)
    updated = config.model_copy(
        update={
            "mqtt_tls_port": port,
            "mqtt_tls_hosts": hosts,
            "mqtt_tls_client_certs": client_certs,
            "http_tls_files": served,
        }
    )
    if updated != config:
        updated.save(bootstrap.config_path(data_dir))
    return TlsState(
        made,
        hosts,
        port,
        files.ca_file,
        files.cert_file,
        web_cert,
        web_key,
        client_certs,
        served[0],
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def report(state: TlsState) -> str:
    """What `loa tls init` prints: the files, and each certificate's fingerprint."""
    lines = [
        ("commune certificates made" if state.made else "commune certificates kept (unchanged)")
        + f" for {', '.join(state.hosts)}; broker TLS port {state.port}"
        + (", nodes need a client certificate" if state.client_certs else ""),
        f"  CA certificate (nodes pin it):  {state.ca_file}",
        f"  web app certificate and key:    {state.web_cert} {state.web_key}",
    ]
    if state.served != state.web_cert:
        lines.append(f"  the web app keeps serving {state.served} (http_tls_files)")
    lines.append("SHA-256 fingerprints (the web app's is the one labels print and Pis pin):")
    lines += [f"  {name + ':':<12} {value}" for name, value in state.fingerprints().items()]
    return "\n".join(lines)

"""`loa tls init`: the commune CA, the broker's and the web app's certificates, idempotent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from controller.nodes import bootstrap, broker_tls, tls_init, web_tls


@pytest.fixture
def data(tmp_path: Path) -> Path:
    bootstrap.setup(tmp_path / "data", commune_name="Xã Thử")
    return tmp_path / "data"


def loa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller.cli", *args], capture_output=True, text=True, check=False
    )


def test_it_makes_the_certificates_turns_tls_on_and_prints_the_fingerprints(data: Path) -> None:
    run = loa("tls", "init", "--data", str(data), "--host", "loa.example.vn", "--host", "10.0.0.2")
    assert run.returncode == 0, run.stderr
    tls_dir = data / "broker" / "tls"
    for name in ("ca.crt", "server.crt", "server.key", "web.crt", "web.key"):
        assert (tls_dir / name).stat().st_mode & 0o777 == 0o600, name
    for name, cert in (("commune CA", "ca.crt"), ("broker", "server.crt"), ("web app", "web.crt")):
        line = next(ln for ln in run.stdout.splitlines() if ln.strip().startswith(name + ":"))
        printed = line.split(":", 1)[1].strip()
        assert printed == web_tls.grouped(web_tls.fingerprint((tls_dir / cert).read_bytes()))
    config = json.loads((data / "controller.json").read_text())
    assert (config["mqtt_tls_port"], config["mqtt_tls_hosts"]) == (
        8883,
        ["loa.example.vn", "10.0.0.2"],
    )
    # The web app serves its certificate (labels print its fingerprint, Pis pin it): a key of
    # its own, signed by the same CA, valid for the names a browser and a node use.
    assert config["http_tls_files"] == [str(tls_dir / "web.crt"), str(tls_dir / "web.key")]
    ca = x509.load_pem_x509_certificate((tls_dir / "ca.crt").read_bytes())
    web = x509.load_pem_x509_certificate((tls_dir / "web.crt").read_bytes())
    web.verify_directly_issued_by(ca)
    assert broker_tls.cert_hosts(tls_dir / "web.crt") == ["loa.example.vn", "10.0.0.2"]
    assert (tls_dir / "web.key").read_bytes() != (tls_dir / "server.key").read_bytes()


def test_a_web_certificate_the_configuration_names_is_kept(data: Path, tmp_path: Path) -> None:
    # `loa init --https-files` (or --https-host) chose the web app's certificate already: the
    # labels already print its fingerprint, so it stays.
    own = web_tls.make_certificate(tmp_path / "own", ["loa.example.vn"])
    path = data / "controller.json"
    path.write_text(
        json.dumps({**json.loads(path.read_text()), "http_tls_files": [str(p) for p in own]})
    )
    state = tls_init.init(data, ["loa.example.vn"])
    assert json.loads(path.read_text())["http_tls_files"] == [str(p) for p in own]
    assert state.fingerprints()["web app"] == web_tls.grouped(
        web_tls.fingerprint(own[0].read_bytes())
    )
    assert f"keeps serving {own[0]}" in tls_init.report(state)


def test_a_second_run_with_the_same_names_changes_nothing(data: Path) -> None:
    first = tls_init.init(data, ["loa.example.vn"])
    before = {p.name: p.read_bytes() for p in (data / "broker" / "tls").iterdir()}
    config_before = (data / "controller.json").read_bytes()
    again = tls_init.init(data, ["loa.example.vn"])
    assert (first.made, again.made) == (True, False)
    assert {p.name: p.read_bytes() for p in (data / "broker" / "tls").iterdir()} == before
    assert (data / "controller.json").read_bytes() == config_before
    assert again.fingerprints() == first.fingerprints()


def test_other_names_are_refused_unless_replaced_since_nodes_pin_the_ca(data: Path) -> None:
    tls_init.init(data, ["loa.example.vn"])
    ca = (data / "broker" / "tls" / "ca.crt").read_bytes()
    run = loa("tls", "init", "--data", str(data), "--host", "moi.example.vn")
    assert run.returncode == 2
    assert "--replace" in run.stderr
    assert "provisioned again" in run.stderr
    assert (data / "broker" / "tls" / "ca.crt").read_bytes() == ca  # nothing changed
    replaced = tls_init.init(data, ["moi.example.vn"], replace=True)
    assert replaced.made
    assert (data / "broker" / "tls" / "ca.crt").read_bytes() != ca
    assert json.loads((data / "controller.json").read_text())["mqtt_tls_hosts"] == [
        "moi.example.vn"
    ]


def test_bad_input_is_refused_and_changes_nothing(data: Path) -> None:
    config = (data / "controller.json").read_bytes()
    with pytest.raises(ValueError, match="--host"):
        tls_init.init(data, [" "])
    with pytest.raises(ValueError, match="plain MQTT port"):
        tls_init.init(data, ["loa.example.vn"], port=1883)
    assert (data / "controller.json").read_bytes() == config
    assert not (data / "broker" / "tls").exists()
    run = loa("tls", "init", "--data", str(data / "nowhere"), "--host", "x")
    assert run.returncode != 0
    assert "not a Loa Làng data directory" in run.stderr

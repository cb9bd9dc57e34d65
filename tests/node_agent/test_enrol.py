"""The Pi's side of enrolment: what it accepts as a fingerprint and as a bundle, that it writes
nothing it has not checked, and that it runs without the controller's packages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from node_agent import enrol

FP = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
NODE = {
    "node_id": "loa-1-ab12",
    "broker_password": "p",
    "controller_public_key": "k",
    "data_dir": "/var/lib/loalang",
}


@pytest.mark.parametrize(
    "typed",
    [
        FP,
        FP.lower(),
        " ".join(FP[i : i + 4] for i in range(0, 64, 4)),  # as on the label
        ":".join(FP[i : i + 2] for i in range(0, 64, 2)),  # as openssl prints it
        f"SHA256:{FP}",
        f"sha256={FP}",
    ],
)
def test_a_fingerprint_is_read_as_printed(typed):
    assert enrol.parse_fingerprint(typed) == bytes.fromhex(FP)


@pytest.mark.parametrize("typed", ["", FP[:-2], FP + "00", FP[:-1] + "G", "SHA1:" + FP[:40]])
def test_anything_else_is_not_a_fingerprint(typed):
    with pytest.raises(enrol.EnrolError, match="not a SHA-256 fingerprint"):
        enrol.parse_fingerprint(typed)


def test_only_an_https_address_is_enrolled_against():
    with pytest.raises(enrol.EnrolError, match="https://"):
        enrol.fetch("http://10.0.0.1:8080", "CODE", bytes.fromhex(FP))


def test_the_controllers_refusal_is_shown_in_its_words():
    body = json.dumps({"detail": "this enrolment code was already used"}).encode()
    with pytest.raises(enrol.EnrolError, match=r"403.*already used"):
        enrol._files(403, body)


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"ca.crt": "x"},
        {"node.json": "{}", "../../root/.ssh/authorized_keys": "ssh-ed25519 AAAA"},
        {"node.json": 7},
    ],
)
def test_an_answer_that_is_not_a_bundle_is_refused(files):
    with pytest.raises(enrol.EnrolError, match="not a bundle"):
        enrol._files(200, json.dumps({"files": files}).encode())


def test_a_bundle_with_an_invalid_config_writes_nothing(tmp_path):
    bad = {"node.json": json.dumps({**NODE, "broker_port": "many"}), "controller.pub": "k"}
    with pytest.raises(enrol.EnrolError, match=r"node\.json is invalid"):
        enrol.install(bad, tmp_path / "etc", owner=None, data_dir=tmp_path / "var")
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_service_account_writes_nothing(tmp_path):
    files = {"node.json": json.dumps(NODE)}
    with pytest.raises(enrol.EnrolError, match="no account"):
        enrol.install(files, tmp_path / "etc", owner="khong-co-ai", data_dir=tmp_path / "var")
    assert list(tmp_path.iterdir()) == []


def test_the_bundle_is_written_private_with_the_pis_data_dir(tmp_path):
    files = {"node.json": json.dumps(NODE), "controller.pub": "PEM"}
    done = enrol.install(files, tmp_path / "etc", owner=None, data_dir=tmp_path / "var")
    assert sorted(p.name for p in done.written) == ["controller.pub", "node.json"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in done.written)
    assert (tmp_path / "etc").stat().st_mode & 0o777 == 0o700
    assert json.loads((tmp_path / "etc" / "node.json").read_text())["data_dir"] == str(
        tmp_path / "var"
    )


CONTROLLER_ONLY = ("sqlalchemy", "fastapi", "uvicorn", "PIL", "segno", "alembic")


def test_enrolling_needs_none_of_the_controllers_packages():
    """A Pi has the ``node`` extra only: `loa node enrol` must not import what it lacks."""
    script = (
        "import sys\n"
        "from controller.cli import _parser\n"
        "from node_agent import enrol\n"
        "_parser().parse_args(['node', 'enrol', 'https://x', 'C', '--fingerprint', 'a'])\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{CONTROLLER_ONLY!r} or m.startswith('controller.nodes'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""

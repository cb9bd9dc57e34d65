"""`loa config check` and the start-up checks: secrets masked, one line per problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from controller import config_check
from controller.config import ControllerConfig
from controller.nodes import bootstrap, tls_init


@pytest.fixture
def data(tmp_path: Path) -> Path:
    bootstrap.setup(tmp_path / "data", commune_name="Xã Thử")
    return tmp_path / "data"


def loa(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )


def test_it_prints_the_effective_configuration_with_every_secret_masked(data: Path) -> None:
    password = json.loads((data / "controller.json").read_text())["mqtt_password"]
    run = loa(
        "config",
        "check",
        "--data",
        str(data),
        LOA_DATABASE_URL="postgresql+psycopg://loa:db-sekret@db.local/loa",
        LOA_HTTP_PORT="9090",
    )
    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    assert shown["http_port"] == 9090  # the environment's value: what would really run
    assert shown["mqtt_password"] == config_check.MASK
    assert shown["database_url"] == f"postgresql+psycopg://loa:{config_check.MASK}@db.local/loa"
    assert password not in run.stdout
    assert "db-sekret" not in run.stdout + run.stderr
    assert "configuration OK" in run.stderr


def test_masking_reaches_nested_sections_and_leaves_an_empty_secret_visible() -> None:
    dumped = {"a": {"api_token": "t", "secret": "s", "key_file": "/k"}, "mqtt_password": ""}
    assert config_check.masked(dumped) == {
        "a": {"api_token": config_check.MASK, "secret": config_check.MASK, "key_file": "/k"},
        "mqtt_password": "",
    }


def test_every_problem_is_one_line_all_at_once_and_the_exit_is_non_zero(data: Path) -> None:
    path = data / "controller.json"
    config = json.loads(path.read_text())
    config.update(
        mqtt_password="",
        mqtt_tls_port=8883,
        mqtt_tls_hosts=[],
        cap_feeds=["ftp://tinh.example/cap.xml"],
        database_url="mysql://u:p@h/db",
    )
    path.write_text(json.dumps(config))
    run = loa("config", "check", "--data", str(data))
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert lines[0] == "invalid controller configuration:"
    problems = [ln.strip() for ln in lines[1:]]
    assert len(problems) == 5, run.stderr
    starts = ("mqtt_password", "database_url", "mqtt_tls_hosts", "mqtt_tls_port", "cap_feeds")
    assert sorted(p.split(" ", 1)[0] for p in problems) == sorted(starts)
    assert any("`loa tls init`" in p for p in problems)


def test_schema_errors_are_listed_all_at_once(data: Path) -> None:
    run = loa("config", "check", "--data", str(data), LOA_HTTP_PORT="0", LOA_MQTT_PORT="một")
    assert run.returncode == 1
    assert "LOA_HTTP_PORT (environment)" in run.stderr
    assert "LOA_MQTT_PORT (environment)" in run.stderr


def test_the_controller_refuses_to_start_with_the_same_lines(data: Path) -> None:
    path = data / "controller.json"
    config = json.loads(path.read_text())
    config["mqtt_password"] = ""
    path.write_text(json.dumps(config))
    run = loa("controller", "--data", str(data))
    assert run.returncode != 0
    assert "invalid controller configuration:" in run.stderr
    assert "mqtt_password (controller.json or LOA_MQTT_PASSWORD): missing" in run.stderr
    run = loa("broker", "--data", str(data))
    assert run.returncode != 0
    assert "mqtt_password" in run.stderr


def test_given_tls_files_that_cannot_be_read_are_named(data: Path, tmp_path: Path) -> None:
    config = ControllerConfig.load(
        data / "controller.json",
        {},
        mqtt_tls_port=8883,
        mqtt_tls_files=(tmp_path / "ca.pem", tmp_path / "c.pem", tmp_path / "k.pem"),
    )
    found = config_check.problems(config)
    assert [p.split(": ", 1)[1].split(" file")[0] for p in found] == [
        "the CA",
        "the certificate",
        "the key",
    ]


def test_a_configuration_made_by_init_and_tls_init_is_valid(data: Path) -> None:
    tls_init.init(data, ["loa.example.vn"])
    assert config_check.problems(bootstrap.load_config(data)) == []

"""Provisioning from a test: the `loa` command as a subprocess, a commune set up for bundles
(broker TLS, the web app on HTTPS), and whether the broker accepts an account."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.auth import TEST_COST_ENV
from controller.config import ControllerConfig
from controller.db import Database
from controller.nodes import bootstrap, broker, web_tls
from tests.support import wait_for


def loa(*args: str, production_cost: bool = False) -> subprocess.CompletedProcess[str]:
    """``production_cost``: without the suite's cheap password hashing (tests/conftest.py)."""
    env = dict(os.environ)
    if production_cost:
        env.pop(TEST_COST_ENV, None)
    return subprocess.run(
        [sys.executable, "-m", "controller.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def connect_rc(port: int, user: str, password: str) -> int:
    """The CONNACK reason code the broker on ``port`` answers this account with (0: accepted)."""
    codes: list[int] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    client.on_connect = lambda _c, _u, _f, rc, _p: codes.append(rc.value)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        wait_for(lambda: codes, 5, "CONNACK")
    finally:
        client.disconnect()
        client.loop_stop()
    return codes[0]


def commune(data: Path, *, https: bool = True, **settings: object) -> ControllerConfig:
    """A controller data directory with broker TLS, one zone and (``https``) an HTTPS
    certificate for 127.0.0.1; in process, as `loa init` and `loa zone add` make it."""
    config = bootstrap.setup(
        data,
        commune_name="Xã Thử",
        mqtt_port=broker.free_port(),
        mqtt_tls_port=broker.free_port(),
        mqtt_tls_hosts=["localhost"],
        **settings,
    )
    if https:
        config = web_tls.ensure_certificate(config, ["127.0.0.1"])
        config.save(bootstrap.config_path(data))
    db = Database(config.db_url)
    bootstrap.add_zone(db, "thon-dong", "Thôn Đông")
    db.engine.dispose()
    return config

"""Starts and stops a whole system as real processes: broker, controller, nodes.

`loa demo` uses it, and so do the end-to-end tests, so the demo is tested code.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from controller.config import ControllerConfig
from controller.nodes import broker, broker_tls
from controller.private_files import open_private_log, private_dir


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class Cluster:
    config: ControllerConfig
    node_configs: dict[str, Path] = field(default_factory=dict)
    broker_proc: subprocess.Popen[bytes] | None = None
    controller: Proc | None = None
    nodes: dict[str, Proc] = field(default_factory=dict)

    @property
    def logs_dir(self) -> Path:
        return private_dir(self.config.data_dir / "logs")

    @property
    def url(self) -> str:
        scheme = "https" if self.config.http_tls_files else "http"
        return f"{scheme}://{self.config.http_host}:{self.config.http_port}"

    def tls_context(self) -> ssl.SSLContext | None:
        """A client context trusting the controller's own (self-signed) HTTPS certificate."""
        if not self.config.http_tls_files:
            return None
        return ssl.create_default_context(cafile=str(self.config.http_tls_files[0]))

    def start_broker(self) -> None:
        files = broker.BrokerFiles(self.config.broker_dir)
        tls = broker_tls.listener(self.config)
        self.broker_proc = broker.start_broker(files, self.config.mqtt_port, tls=tls)

    def stop_broker(self, *, kill: bool = False) -> None:
        """``kill``: SIGKILL, as a power cut or the OOM killer would (no last save of its
        queues and sessions beyond the config's autosave)."""
        if self.broker_proc:
            if kill:
                self.broker_proc.kill()
                self.broker_proc.wait()
            broker.stop_broker(self.broker_proc)
            self.broker_proc = None

    def start_controller(self, timeout: float = 30.0) -> None:
        self.controller = self._spawn(
            "controller", ["controller", "--data", str(self.config.data_dir)]
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.controller.popen.poll() is not None:
                raise RuntimeError(f"controller exited:\n{self.controller.log.read_text()[-3000:]}")
            try:
                health = f"{self.url}/api/v1/health"
                with urllib.request.urlopen(health, timeout=1, context=self.tls_context()) as resp:
                    if json.load(resp).get("status") == "ok":
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"controller did not answer on {self.url} within {timeout} s")

    def stop_controller(self, *, kill: bool = False) -> None:
        if self.controller:
            _stop(self.controller.popen, kill=kill)
            self.controller = None

    def start_node(self, node_id: str, env: dict[str, str] | None = None) -> None:
        """``env``: added to this node's environment only (a test's fake clock)."""
        self.nodes[node_id] = self._spawn(
            f"node-{node_id}", ["node", "--config", str(self.node_configs[node_id])], env
        )

    def stop_node(self, node_id: str, *, kill: bool = False) -> None:
        proc = self.nodes.pop(node_id, None)
        if proc:
            _stop(proc.popen, kill=kill)

    def start_all(self) -> None:
        self.start_broker()
        self.start_controller()
        for node_id in self.node_configs:
            self.start_node(node_id)

    def stop_all(self) -> None:
        # The nodes are told together and then awaited: each takes a few tenths of a second to
        # close its session, which one after another added up on every stop of a whole system.
        nodes = [self.nodes.pop(node_id).popen for node_id in list(self.nodes)]
        _stop_together(nodes)
        self.stop_controller()
        self.stop_broker()

    def _spawn(self, name: str, args: list[str], extra: dict[str, str] | None = None) -> Proc:
        log = self.logs_dir / f"{name}.log"
        fd = open_private_log(log)
        env = dict(os.environ, PYTHONUNBUFFERED="1", **(extra or {}))
        popen = subprocess.Popen(
            [sys.executable, "-m", "controller.cli", *args],
            stdout=fd,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C in the demo's terminal is handled by the demo
        )
        os.close(fd)
        return Proc(name, popen, log)


def _stop(popen: subprocess.Popen[bytes], *, kill: bool = False, timeout: float = 15.0) -> None:
    _stop_together([popen], kill=kill, timeout=timeout)


def _stop_together(
    popens: list[subprocess.Popen[bytes]], *, kill: bool = False, timeout: float = 15.0
) -> None:
    """Signal every process still running, then wait for each (``timeout`` seconds from the
    start of its own wait before SIGKILL), so they shut down side by side."""
    running = [p for p in popens if p.poll() is None]
    for popen in running:
        popen.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    for popen in running:
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()

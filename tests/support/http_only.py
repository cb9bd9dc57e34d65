"""The controller's HTTP side alone, as a real uvicorn process: no broker, no dispatcher.

``python -m tests.support.http_only CONFIG_JSON`` serves ``create_app`` on the config's port, for
tests of what the HTTP server reads and holds (the smallest setup that shows it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from controller.config import ControllerConfig


def start(config_path: Path) -> subprocess.Popen[bytes]:
    """The server, started and answering; the caller terminates it."""
    from tests.support import wait_for

    config = ControllerConfig.load(config_path, {})
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.http_only", str(config_path)])
    url = f"http://127.0.0.1:{config.http_port}/api/v1/health"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the HTTP server exited with {proc.returncode}")
        try:
            return httpx.get(url).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, 60, "the HTTP server")
    return proc


def peak_rss(proc: subprocess.Popen[bytes]) -> int:
    """The process's peak resident memory so far, in bytes (Linux ``VmHWM``)."""
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def main() -> None:
    import uvicorn

    from controller.api.app import create_app

    config = ControllerConfig.load(Path(sys.argv[1]), {})
    app = create_app(config, start_dispatcher=False)
    uvicorn.run(app, host="127.0.0.1", port=config.http_port, log_level="warning")


if __name__ == "__main__":
    main()

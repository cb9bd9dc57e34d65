"""The node's configuration file, written by `loa node add` at provisioning."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from protocol.limits import DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES

log = logging.getLogger(__name__)


class SinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["sounddevice", "wav"] = Field("sounddevice", description="audio output")
    options: dict[str, Any] = Field(default_factory=dict, description="passed to the sink")
    fade_s: float = Field(0.3, ge=0, le=3, description="fade-out when something cuts in")


class RelayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["gpio", "recording"] = Field("recording", description="amplifier switch")
    options: dict[str, Any] = Field(default_factory=dict, description="e.g. {'pin': 17}")
    preroll_s: float = Field(1.5, ge=0, le=30, description="amplifier on before playback")
    postroll_s: float = Field(2.0, ge=0, le=300, description="amplifier off after playback")


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    node_id: str = Field(description="also the broker user name")
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    broker_password: str
    broker_tls: bool = False
    broker_ca_pem: str | None = Field(
        None, description="the commune CA that signed the broker's certificate (PEM)"
    )
    broker_client_cert_pem: str | None = Field(
        None, description="this node's certificate from the commune CA, if the broker asks (PEM)"
    )
    broker_client_key_pem: str | None = Field(None, description="its private key (PEM)")
    controller_public_key: str = Field(description="Ed25519, base64, pinned at provisioning")
    data_dir: Path = Field(description="cache, outbox and schedule live here")
    sink: SinkConfig = Field(default_factory=SinkConfig)
    relay: RelayConfig = Field(default_factory=RelayConfig)
    volume: float = Field(
        1.0, ge=0, le=2, description="gain for the normal programme at the full volume setting"
    )
    emergency_volume: float = Field(1.0, ge=0, le=2, description="gain for emergencies")
    session_expiry_s: int = Field(7 * 24 * 3600, description="broker keeps our session this long")
    chunk_size: int = Field(
        DEFAULT_CHUNK_BYTES,
        ge=4096,
        le=MAX_CHUNK_BYTES,
        description="bytes asked for at once; the reply must fit the broker's packet limit",
    )
    chunk_timeout_s: float = Field(10.0, gt=0, description="re-ask for a chunk after this")
    min_free_bytes: int = Field(50 * 1024 * 1024, ge=0, description="keep this much disk free")
    outbox_resend_s: float = Field(15.0, gt=0, description="re-send unacknowledged events")
    heartbeat_s: float = Field(
        60.0, ge=5, le=3600, description="re-publish state this often, even when idle"
    )

    install_root: Path | None = Field(
        None,
        description="holds releases/ and the current symlink (e.g. /opt/loalang); under the "
        "start wrapper its --root is used instead; None and no wrapper: this node refuses "
        "updates (run from a checkout)",
    )
    update_confirm_s: float = Field(
        60.0, gt=0, le=3600, description="a new release not online by then is rolled back"
    )

    @classmethod
    def load(cls, path: Path) -> NodeConfig:
        try:
            return cls.model_validate(json.loads(path.read_text()))
        except FileNotFoundError:
            raise SystemExit(f"node config {path} does not exist") from None
        except (json.JSONDecodeError, ValidationError) as exc:
            raise SystemExit(f"node config {path} is invalid: {exc}") from None

    def under_systemd(self, env: Mapping[str, str]) -> NodeConfig:
        """This config with the unit's ``StateDirectory`` (systemd passes it as
        ``$STATE_DIRECTORY``) as the data dir: with ``ProtectSystem=strict`` it is the only place
        the agent may write, whatever the provisioned file says."""
        state = env.get("STATE_DIRECTORY", "").split(":")[0]
        if not state or Path(state) == self.data_dir:
            return self
        log.info("data dir %s (the unit's StateDirectory) instead of %s", state, self.data_dir)
        return self.model_copy(update={"data_dir": Path(state)})

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)

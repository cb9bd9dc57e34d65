"""The controller's configuration: a JSON file plus ``LOA_`` environment overrides, read by
the one loader (:mod:`controller.config_loader`) and validated once at start-up."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from controller.channel_settings import ChannelSettings
from controller.config_loader import ConfigError, load
from controller.private_files import write_private
from controller.tts.settings import TtsSettings
from protocol.limits import DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES

# The browsers' own push services (Chrome and Android, Firefox, Safari, Edge).
PUSH_SERVICES = (
    "https://fcm.googleapis.com",
    "https://updates.push.services.mozilla.com",
    "https://web.push.apple.com",
    "https://*.notify.windows.com",
)


# The denoisers a recording may be cleaned with (audio.config.PipelineConfig.denoise_method)
DenoiseChoice = Literal["standard", "neural"]


class ControllerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data_dir: Path = Field(Path("var"), description="database, audio store, keys, broker files")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    http_tls_files: tuple[Path, Path] | None = Field(
        None,
        description="(certificate, key) the web app is served with over HTTPS; nodes enrol "
        "against this certificate's SHA-256 fingerprint (`loa init --https-host`)",
    )
    public_url: str | None = Field(
        None,
        description="the web app's address as phones and nodes reach it (label QR codes, "
        "enrolment); default: http(s)://http_host:http_port",
    )
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(1883, ge=1, le=65535)
    mqtt_user: str = "controller"
    mqtt_password: str = ""
    mqtt_tls_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="TLS listener for the nodes; with it, the plain one binds 127.0.0.1",
    )
    mqtt_tls_hosts: list[str] = Field(
        default_factory=list, description="broker names/IPs the nodes use; the certificate's SAN"
    )
    mqtt_tls_files: tuple[Path, Path, Path] | None = Field(
        None, description="given (CA, certificate, key) files; default: a commune CA made here"
    )
    mqtt_tls_client_certs: bool = Field(
        False,
        description="nodes also need a certificate from the commune CA (and still their password)",
    )
    commune_name: str = "Xã Mẫu"
    max_upload_bytes: int = Field(50 * 1024 * 1024, gt=0, description="largest accepted recording")
    max_audio_seconds: float = Field(1800.0, gt=0, description="longest accepted recording")
    max_form_bytes: int = Field(
        1024 * 1024, gt=0, description="largest request body besides a recording or CAP document"
    )
    max_cap_bytes: int = Field(1024 * 1024, gt=0, description="largest CAP document over HTTP")
    chunk_size: int = Field(DEFAULT_CHUNK_BYTES, ge=4096, le=MAX_CHUNK_BYTES)
    chunk_cache_bytes: int = Field(
        32 * 1024 * 1024, ge=0, description="encoded audio chunks kept for the next point (0: off)"
    )
    resend_interval_s: float = Field(10.0, description="re-send unacknowledged commands")
    node_messages_per_s: float = Field(
        20.0, gt=0, description="what one node may send a second; more is dropped unread"
    )
    node_message_burst: int = Field(
        300, ge=10, description="what one node may send at once (a reconnect's backlog)"
    )
    default_valid_minutes: int = Field(120, description="a bulletin not started by then lapses")
    draft_expiry_days: int = Field(
        7, ge=1, description="unsent drafts and rejected bulletins are deleted after this long"
    )
    expiry_grace_s: float = Field(30.0, description="wait for late node reports this long")
    push_services: list[str] = Field(
        default_factory=lambda: list(PUSH_SERVICES),
        description='origins a browser\'s Web Push endpoint may be on ("*." for any subdomain); '
        "the controller posts to no other address",
    )
    history_retention_days: int = Field(
        90,
        ge=1,
        description="node events and settled commands kept this long (reports need neither)",
    )
    target_lufs: float = -16.0
    relay_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="private addresses or networks (e.g. 10.0.0.5, 192.168.1.0/24) a relay may "
        "pull from; public addresses are always allowed, internal ones only when listed here",
    )
    relay_timeout_s: float = Field(
        10.0, gt=0, le=120, description="a relay source silent this long is counted as dropped"
    )
    relay_max_kbps: int = Field(
        512, ge=32, le=10_000, description="a relay source sending more than this is cut off"
    )
    live_denoise: bool = Field(
        True,
        description="run the blind denoiser on live voices, never on a relayed station (adds "
        "0.3 s before the packets leave, taken from the points' 1 s playout delay; see "
        "BENCHMARKS.md)",
    )
    denoise: DenoiseChoice = Field(
        "standard",
        description='noise reduction of recordings: "standard" (numpy/scipy) or "neural" '
        "(DeepFilterNet3, the `neural` extra), each bulletin may choose; neural falls back to "
        "standard when not installed or slower than neural_max_rtf, and the report says so",
    )
    neural_max_rtf: float = Field(
        1.0,
        gt=0,
        description="the neural denoiser is used only if it takes at most this many seconds "
        "per second of audio on this machine (measured once per process)",
    )
    opus_complexity: int = Field(
        7,
        ge=0,
        le=10,
        description="libopus complexity of the aired files: from 7 speech is coded as speech "
        "(clean speech 4.1 PESQ-WB through the chain instead of 3.2); 0 processes an upload "
        "in about half the time",
    )
    two_person_rule: bool = Field(False, description="an emergency needs a second account")
    late_grace_s: int = Field(600, ge=0, description="a missed slot may still play this late")
    cap_feeds: list[str] = Field(default_factory=list, description="CAP feed URLs to poll")
    cap_poll_interval_s: int = Field(30, ge=5, le=60, description="how often to poll them")
    cap_sender: str | None = Field(
        None,
        description="who the commune's CAP alerts say they are from, unique to the commune "
        "(e.g. canhbao@xa-mau.gov.vn); default: public_url's host name. Keep it once set: "
        "it is part of every alert's identity",
    )
    alert_expiry_minutes: int = Field(60, description="default lifetime of an emergency")
    session_idle_hours: float = Field(12.0, gt=0, description="web login lapses when idle")
    session_max_days: float = Field(7.0, gt=0, description="web login lapses regardless")
    secure_cookies: bool | None = Field(
        None, description="Secure cookie flag; None sets it when the request came over HTTPS"
    )
    login_max_failures: int = Field(5, ge=1, description="per user name in login_window_minutes")
    login_window_minutes: int = Field(15, ge=1)
    backup_dir: Path | None = Field(
        None, description="nightly backups go here (off when unset); keep it on another disk"
    )
    backup_time: time = Field(time(2, 30), description="local time of the nightly backup")
    backup_keep_nightly: int = Field(7, ge=1, description="the newest backups kept")
    backup_keep_monthly: int = Field(
        12, ge=0, description="the first backup of each of this many newest months, kept too"
    )
    channels: ChannelSettings = Field(
        default_factory=ChannelSettings,
        description="alerts also go by SMS, Zalo OA and notice boards (README, Alert channels)",
    )
    tts: TtsSettings = Field(
        default_factory=TtsSettings,
        description='speech: the file\'s "tts" section and LOA_TTS_*; cache in data_dir',
    )

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http://), e.g. https://loa.example.vn")
        return value

    @field_validator("cap_sender")
    @classmethod
    def _cap_token(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c in value for c in " \t\n\r,<&")):
            raise ValueError(
                "CAP 1.2 allows no spaces, commas, '<' or '&' in a sender; "
                "e.g. canhbao@xa-mau.gov.vn"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _speech_cache_in_data_dir(cls, data: Any) -> Any:
        """The controller keeps its speech cache with its data unless told otherwise."""
        if not isinstance(data, dict):
            return data
        tts = data.get("tts", {})
        if isinstance(tts, dict) and not tts.get("cache_dir"):
            data_dir = Path(data.get("data_dir") or cls.model_fields["data_dir"].default)
            data = {**data, "tts": {**tts, "cache_dir": data_dir / "tts-cache"}}
        return data

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'loalang.sqlite3').resolve()}"

    @property
    def web_url(self) -> str:
        """Where people and nodes reach the web app, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.http_tls_files else "http"
        return f"{scheme}://{self.http_host}:{self.http_port}"

    @property
    def cap_sender_id(self) -> str:
        """The CAP <sender> of the commune's own alerts."""
        return self.cap_sender or (urlsplit(self.web_url).hostname or self.http_host)

    @property
    def https_dir(self) -> Path:
        return self.data_dir / "https"

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def release_dir(self) -> Path:
        """Signed ``loalang`` wheels for the points, named by their sha256."""
        return self.data_dir / "releases"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def broker_tls_dir(self) -> Path:
        return self.broker_dir / "tls"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "keys" / "controller_ed25519.pem"

    @property
    def nodes_dir(self) -> Path:
        return self.data_dir / "nodes"

    @classmethod
    def load(
        cls, path: Path | None = None, env: Mapping[str, str] | None = None, /, **overrides: object
    ) -> ControllerConfig:
        """``path`` (if any), then ``LOA_*`` (``env`` or the process's), then ``overrides``;
        exits with one line per bad value, naming the variable or file key."""
        data: dict[str, Any] = {}
        if path is not None:
            try:
                data = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise SystemExit(f"cannot read controller config {path}: {exc}") from None
            if not isinstance(data, dict):
                raise SystemExit(f"cannot read controller config {path}: not a JSON object")
        origin = str(path) if path is not None else "the configuration"
        try:
            return load(cls, data, env=env, origin=origin, overrides=overrides)
        except ConfigError as exc:
            lines = "\n  ".join(exc.problems)
            raise SystemExit(f"invalid controller configuration:\n  {lines}") from None

    def save(self, path: Path) -> None:
        """Written 0600 from the start: the file holds the broker password."""
        write_private(path, self.model_dump_json(indent=2))

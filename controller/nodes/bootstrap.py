"""First-run set-up of a controller data directory; safe to run again (idempotent)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from controller.config import ControllerConfig
from controller.db import Database, migrate
from controller.models import Commune, Node, Zone
from controller.nodes import broker, broker_tls
from controller.nodes.keys import load_or_create_key
from controller.private_files import private_dir, tighten

CONFIG_NAME = "controller.json"


def config_path(data_dir: Path) -> Path:
    return data_dir / CONFIG_NAME


def load_config(data_dir: Path) -> ControllerConfig:
    """The controller config of ``data_dir``; a clear error if it was never set up."""
    path = config_path(data_dir)
    if not path.exists():
        raise SystemExit(f"{data_dir} is not a Loa Làng data directory (no {CONFIG_NAME})")
    return ControllerConfig.load(path)


def setup(data_dir: Path, **settings: object) -> ControllerConfig:
    """Create or update ``data_dir``: config, signing key, broker account, database; all of it
    readable by its owner only (an existing directory is tightened too)."""
    private_dir(data_dir)
    path = config_path(data_dir)
    config = (
        ControllerConfig.load(path, **settings)
        if path.exists()
        else ControllerConfig.load(None, data_dir=data_dir, **settings)
    )
    files = broker.BrokerFiles(config.broker_dir)
    fresh = not config.mqtt_password
    if fresh:
        config = config.model_copy(update={"mqtt_password": broker.new_password()})
    # a data directory set up before the controller read on a session of its own lacks one
    if fresh or broker.reader_user(config.mqtt_user) not in broker.users(files):
        broker.add_controller(files, config.mqtt_user, config.mqtt_password)
    config.save(path)
    broker_tls.ensure_files(config)
    load_or_create_key(config.key_file)
    db = Database(config.db_url)
    try:
        migrate(db.engine)
        with db.session() as s:
            if s.scalar(select(Commune)) is None:
                s.add(Commune(name=config.commune_name))
            node_ids = list(s.scalars(select(Node.id)))
        write_broker_acl(config, node_ids)
    finally:
        db.engine.dispose()
    tighten(data_dir)
    return config


def write_broker_acl(config: ControllerConfig, node_ids: list[str]) -> None:
    broker.write_acl(broker.BrokerFiles(config.broker_dir), config.mqtt_user, node_ids)


def add_zone(
    db: Database,
    code: str,
    name: str,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    geocodes: dict[str, str] | None = None,
    polygon: list[tuple[float, float]] | None = None,
) -> Zone:
    """Create or update a zone; its geography is what CAP alert areas are matched against."""
    with db.session() as s:
        commune = s.scalar(select(Commune))
        if commune is None:
            raise SystemExit("no commune: run the controller set-up first")
        zone = s.scalar(select(Zone).where(Zone.code == code))
        if zone is None:
            zone = Zone(commune_id=commune.id, code=code, name=name)
            s.add(zone)
        zone.name = name
        if latitude is not None and longitude is not None:
            zone.latitude, zone.longitude = latitude, longitude
        if geocodes is not None:
            zone.geocodes = dict(geocodes)
        if polygon is not None:
            zone.polygon = [list(p) for p in polygon]
        s.flush()
        s.expunge(zone)
        return zone

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
    if not config.mqtt_password:
        config = config.model_copy(update={"mqtt_password": broker.new_password()})
        broker.add_controller(
            broker.BrokerFiles(config.broker_dir), config.mqtt_user, config.mqtt_password
        )
    config.save(path)
    broker_tls.ensure_files(config)
    load_or_create_key(config.key_file)
    db = Database(config.db_url)
    try:
        migrate(db.engine)
        with db.session() as s:
            if s.scalar(select(Commune)) is None:
                s.add(Commune(name=config.commune_name))
        broker_accounts(config, db)
    finally:
        db.engine.dispose()
    tighten(data_dir)
    return config


def broker_accounts(config: ControllerConfig, db: Database) -> None:
    """The broker's accounts as this release needs them, and its ACL from the node list. A data
    directory made before the controller read on a session of its own lacks the reading
    account (``broker.reader_user``): it is added with the controller's password. Run at
    set-up, and as the broker starts (``loa broker``) if it lacks an account, so an upgrade
    needs no step of its own."""
    if lacks_broker_accounts(config):
        broker.add_controller(
            broker.BrokerFiles(config.broker_dir), config.mqtt_user, config.mqtt_password
        )
    with db.session() as s:
        node_ids = list(s.scalars(select(Node.id)))
    write_broker_acl(config, node_ids)


def lacks_broker_accounts(config: ControllerConfig) -> bool:
    """The broker has no reading account for the controller (an older release made it)."""
    users = broker.users(broker.BrokerFiles(config.broker_dir))
    return broker.reader_user(config.mqtt_user) not in users


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

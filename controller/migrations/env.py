"""Alembic environment: the connection comes from controller.db.migrate (or alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from controller.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(_obj: object, name: str | None, type_: str, *_rest: object) -> bool:
    """APScheduler creates and owns its job table; migrations leave it alone."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    section = config.get_section(config.config_ini_section) or {}
    engine = engine_from_config(section, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _migrate(conn)


run()

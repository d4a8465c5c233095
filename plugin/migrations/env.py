"""Alembic environment: runs on the engine or connection handed over by ``plugin.migrations``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine
from sqlmodel import SQLModel

from plugin.migrations import load_all_models

load_all_models()
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


bind = context.config.attributes["connection_or_engine"]
if isinstance(bind, Engine):
    with bind.begin() as conn:
        _run(conn)
else:
    _run(bind)

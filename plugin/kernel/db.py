"""Engine, metadata conventions and the session that carries the runtime to services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlmodel import SQLModel

#: Named constraints, so that SQLite and PostgreSQL schemas compare equal and Alembic can
#: address every constraint by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def metadata() -> MetaData:
    return SQLModel.metadata


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions late and on its own; SQLAlchemy's documented recipe turns that
    # off and emits BEGIN itself (``_sqlite_begin``), so that SAVEPOINTs nest inside a real
    # transaction and a rollback undoes everything, as on PostgreSQL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the one writer;
    # busy_timeout makes a second worker wait for the write lock instead of failing at once.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = {"adal_read_only": True}


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE: take the write lock at the start. A deferred transaction that reads and then
    # writes fails at once ("database is locked") when another worker committed in between,
    # and busy_timeout cannot help it; an immediate one waits its turn. SQLite thus runs one
    # writing transaction at a time, which suits the embedded default; PostgreSQL runs them side
    # by side. Connections marked READ_ONLY (health check, audit verification) read beside them.
    if connection.get_execution_options().get("adal_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with Adal's per-dialect settings."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, **kwargs)


_UPSERTS: dict[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], Any] = {}


def upsert(session: Any, table: Any, values: dict[str, Any], *, keys: tuple[str, ...],
           update: tuple[str, ...]) -> int:
    """Insert a row or update ``update`` columns of the row with the same ``keys``; return its id.

    One statement (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING id``) on SQLite and
    PostgreSQL alike, instead of a read and a write through the ORM: the launch path runs this
    for every user, course and membership it sees. The statement is built once per shape and
    the values are passed as parameters, which keeps SQLAlchemy's per-call cost small.
    """
    dialect = session.get_bind().dialect.name
    shape = (dialect, table.name, tuple(sorted(values)), keys, update)
    statement = _UPSERTS.get(shape)
    if statement is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        base = insert(table)
        statement = base.on_conflict_do_update(
            index_elements=list(keys), set_={name: base.excluded[name] for name in update},
        ).returning(table.c.id)
        _UPSERTS[shape] = statement
    return int(session.execute(statement, values).scalar_one())

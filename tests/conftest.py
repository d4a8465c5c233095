"""Shared fixtures. Real databases only: SQLite by default, PostgreSQL when
``ADAL_TEST_DATABASE_URL`` is set (each test that needs committed data gets its own schema)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, MetaData, Table, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from plugin.app import build_runtime, create_app
from plugin.config import Config, load_config
from plugin.kernel.db import make_engine
from plugin.kernel.runtime import Runtime
from plugin.migrations import upgrade

TEST_DATABASE_URL = os.environ.get("ADAL_TEST_DATABASE_URL") or None
DB_FIXTURES = {"database_url", "migrated_url", "config", "app", "client", "db_session", "runtime", "make_app"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def _new_postgres_schema(base_url: str) -> tuple[str, str]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = make_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}", schema


def _drop_postgres_schema(base_url: str, schema: str) -> None:
    engine = make_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: a SQLite file, or a fresh PostgreSQL schema."""
    if TEST_DATABASE_URL is None:
        yield f"sqlite:///{tmp_path / 'adal-test.sqlite3'}"
        return
    url, schema = _new_postgres_schema(TEST_DATABASE_URL)
    try:
        yield url
    finally:
        _drop_postgres_schema(TEST_DATABASE_URL, schema)


@dataclass
class _MigratedPool:
    """A migrated database reused test after test: on SQLite a file copied for each test, on
    PostgreSQL one schema emptied after each test (TRUNCATE … RESTART IDENTITY, then the rows the
    migrations themselves wrote are put back). Migrating 13 revisions for every test cost most of
    the suite's time; the schema itself is the same either way (test_schema checks it)."""

    url: str
    engine: Engine | None = None  # PostgreSQL only
    schema: str | None = None
    tables: list[str] = field(default_factory=list)
    seed: dict[str, list[dict[str, object]]] = field(default_factory=dict)


def _migrate_pool(base: Path) -> _MigratedPool:
    if TEST_DATABASE_URL is None:
        path = base / "migrated.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        return _MigratedPool(url=str(path))
    url, schema = _new_postgres_schema(TEST_DATABASE_URL)
    engine = make_engine(url)
    upgrade(engine)
    meta = MetaData()
    meta.reflect(engine)
    tables = [table.name for table in meta.sorted_tables if table.name != "alembic_version"]
    with engine.connect() as conn:
        seed = {name: [dict(row._mapping) for row in conn.execute(meta.tables[name].select())] for name in tables}
    return _MigratedPool(url=url, engine=engine, schema=schema, tables=tables,
                         seed={name: rows for name, rows in seed.items() if rows})


def _empty_pool(pool: _MigratedPool) -> bool:
    """Back to the state right after the migrations; False when a lingering connection holds a lock."""
    assert pool.engine is not None
    names = ", ".join(f'"{name}"' for name in pool.tables)
    try:
        with pool.engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '15s'"))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            meta = MetaData()
            for name, rows in pool.seed.items():
                table = Table(name, meta, autoload_with=conn)
                conn.execute(table.insert(), rows)
    except OperationalError:
        return False
    return True


@pytest.fixture(scope="session")
def _migrated_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[_MigratedPool]]:
    pools = [_migrate_pool(tmp_path_factory.mktemp("migrated"))]
    yield pools
    for pool in pools:
        if pool.engine is not None:
            pool.engine.dispose()
            _drop_postgres_schema(TEST_DATABASE_URL or "", pool.schema or "")


@pytest.fixture
def migrated_url(tmp_path: Path,
                 _migrated_pool: list[_MigratedPool]) -> Iterator[str]:
    """A database at the latest revision with nothing in it but what the migrations write."""
    pool = _migrated_pool[-1]
    if pool.engine is None:  # SQLite: a copy of the migrated file
        target = tmp_path / "adal-test.sqlite3"
        shutil.copyfile(pool.url, target)
        yield f"sqlite:///{target}"
        return
    yield pool.url
    if not _empty_pool(pool):  # something still holds the old schema: carry on with a fresh one
        _migrated_pool.append(_migrate_pool(tmp_path))


def make_config(instance: Path, database_url: str, **extra_env: str) -> Config:
    env = {"ADAL_INSTANCE_PATH": str(instance), "ADAL_DATABASE_URL": database_url, **extra_env}
    return load_config(env, testing=True)


@pytest.fixture
def config(tmp_path: Path, migrated_url: str) -> Config:
    """Configuration of a fresh installation: its own instance folder, keys and database."""
    return make_config(tmp_path / "instance", migrated_url)


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    application = create_app(config)
    yield application
    application.extensions["adal.runtime"].engine.dispose()


@pytest.fixture
def make_app() -> Iterator[Callable[[Config], Flask]]:
    """Build extra apps in a test; their engines are disposed afterwards (no stray connections)."""
    made: list[Flask] = []

    def build(cfg: Config) -> Flask:
        made.append(create_app(cfg))
        return made[-1]

    yield build
    for application in made:
        application.extensions["adal.runtime"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- rolled-back transaction for unit and service tests ---------------------------------------
@pytest.fixture(scope="session")
def _shared_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, Engine]]:
    base = tmp_path_factory.mktemp("shared")
    schema = None
    if TEST_DATABASE_URL is None:
        url = f"sqlite:///{base / 'shared.sqlite3'}"
    else:
        url, schema = _new_postgres_schema(TEST_DATABASE_URL)
    cfg = make_config(base / "instance", url)
    engine = make_engine(url)
    upgrade(engine)
    yield cfg, engine
    engine.dispose()
    if schema is not None:
        _drop_postgres_schema(TEST_DATABASE_URL or "", schema)


@pytest.fixture
def runtime(_shared_database: tuple[Config, Engine]) -> Runtime:
    cfg, engine = _shared_database
    built = build_runtime(cfg)
    built.engine.dispose()
    built.engine = engine
    return built


@pytest.fixture
def db_session(runtime: Runtime) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test, whatever it committed."""
    connection = runtime.engine.connect()
    outer = connection.begin()
    session = runtime.session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()

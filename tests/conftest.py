"""Shared fixtures. Real databases only: SQLite by default, PostgreSQL when
``ADAL_TEST_DATABASE_URL`` is set (each test that needs committed data gets its own schema)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
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


@pytest.fixture
def migrated_url(database_url: str) -> str:
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    return database_url


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

"""``adal db upgrade`` gives the same schema on SQLite and PostgreSQL, and the models agree with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from plugin.kernel.db import make_engine
from plugin.migrations import load_all_models, upgrade
from tests.conftest import TEST_DATABASE_URL


def _type(column: dict[str, Any]) -> str:
    generic = column["type"].as_generic()
    length = getattr(generic, "length", None)
    return f"{type(generic).__name__}({length})" if length else type(generic).__name__


def describe(engine: Engine) -> dict[str, Any]:
    """Tables, columns (type, nullability), keys, constraints and indexes, dialect-neutral."""
    insp = inspect(engine)
    schema: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        pk = insp.get_pk_constraint(table)
        schema[table] = {
            "columns": {c["name"]: (_type(c), c["nullable"]) for c in insp.get_columns(table)},
            "primary_key": (pk.get("name"), tuple(pk["constrained_columns"])),
            "foreign_keys": sorted(
                (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]),
                 (fk.get("options") or {}).get("ondelete"))
                for fk in insp.get_foreign_keys(table)
            ),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)),
            "checks": sorted(c["name"] for c in insp.get_check_constraints(table)),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)
                # PostgreSQL reports the index behind each UNIQUE constraint; SQLite does not.
                if not i.get("duplicates_constraint")
            ),
        }
    return schema


def _models_diff(engine: Engine) -> list[Any]:
    load_all_models()
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)


def test_migrations_match_the_models(migrated_url):
    engine = make_engine(migrated_url)
    try:
        assert _models_diff(engine) == []
        assert "alembic_version" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_sqlite_schema_is_self_consistent(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    upgrade(engine)
    described = describe(engine)
    engine.dispose()
    # every constraint has the name our naming convention gives it, so PostgreSQL can match it
    for table, parts in described.items():
        if table == "alembic_version":
            continue
        assert parts["primary_key"][0] == f"pk_{table}", table
        assert all(name and name.startswith("uq_") for name, _ in parts["unique"]), table


@pytest.mark.skipif(TEST_DATABASE_URL is None or not TEST_DATABASE_URL.startswith("postgresql"),
                    reason="compares with PostgreSQL: set ADAL_TEST_DATABASE_URL (CI's second pass does)")
def test_sqlite_and_postgresql_schemas_are_identical(tmp_path: Path, migrated_url: str):
    sqlite = make_engine(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    upgrade(sqlite)
    postgres = make_engine(migrated_url)
    try:
        lite, pg = describe(sqlite), describe(postgres)
        pg.pop("alembic_version"), lite.pop("alembic_version")
        assert sorted(lite) == sorted(pg)
        for table in lite:
            assert lite[table] == pg[table], f"table {table} differs"
    finally:
        sqlite.dispose()
        postgres.dispose()

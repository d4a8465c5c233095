"""Alembic migrations (top layer: may import every model). ``upgrade`` is what ``adal db upgrade``
and the tests call."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine

HERE = Path(__file__).resolve().parent


def load_all_models() -> None:
    """Import every module that defines tables, so that ``SQLModel.metadata`` is complete."""
    import appeals.models  # noqa: F401
    import attribution.models  # noqa: F401
    import evidence.models  # noqa: F401
    import lti.models  # noqa: F401
    import plugin.kernel.admin_records
    import plugin.kernel.audit
    import plugin.kernel.notices
    import plugin.kernel.notifications
    import plugin.kernel.retention_records
    import plugin.kernel.settings
    import plugin.kernel.users  # noqa: F401


def alembic_config(bind: Engine | Connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection_or_engine"] = bind
    return cfg


def upgrade(bind: Engine | Connection, revision: str = "heads") -> None:
    command.upgrade(alembic_config(bind), revision)


def current_heads(bind: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with bind.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def current_revision(bind: Engine) -> str | None:
    return ",".join(sorted(current_heads(bind))) or None

"""What a service reaches through its session: file store, secret box, audit keyring, ports.

The app factory and the CLI build one ``Runtime`` from the configuration; every session they open
carries it in ``session.info``, so services keep the ``(session, actor, ..., now)`` signature and
still find the audit key or the file store without a global.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, event
from sqlmodel import Session

from plugin.kernel.crypto import SecretBox
from plugin.kernel.filestore import FileStore
from plugin.kernel.ports import Ports

_KEY = "adal.runtime"


@dataclass(frozen=True)
class AuditKeyring:
    key: bytes = field(repr=False)
    head_path: Path


@dataclass
class Runtime:
    engine: Engine
    files: FileStore
    box: SecretBox
    audit: AuditKeyring
    ports: Ports = field(default_factory=Ports)
    redis_url: str | None = None

    def session(self, bind: Engine | Connection | None = None, **kwargs: object) -> Session:
        """A new session carrying this runtime. ``bind`` lets tests join an outer transaction."""
        session = Session(bind=bind or self.engine, expire_on_commit=False, **kwargs)  # type: ignore[arg-type]
        session.info[_KEY] = self
        from plugin.kernel import audit  # the audit module registers its commit hooks per session

        event.listen(session, "after_commit", audit.publish_head_after_commit)
        event.listen(session, "after_soft_rollback", audit.forget_head_after_rollback)
        return session


def runtime_of(session: Session) -> Runtime:
    try:
        return session.info[_KEY]  # type: ignore[no-any-return]
    except KeyError:
        raise RuntimeError("this session was not opened by Runtime.session()") from None

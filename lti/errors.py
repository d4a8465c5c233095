"""Why an LTI exchange was refused. The message is translated for the page; the code goes to the
audit log so that an administrator can count refusals by kind."""

from __future__ import annotations

from flask import request

from plugin.kernel import audit
from plugin.kernel.clock import now_utc
from plugin.kernel.errors import InvalidInput
from plugin.kernel.web import correlation_id, db, runtime


class Refused(InvalidInput):
    status = 400

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class LaunchRefused(Refused):
    """A login or launch was refused."""


class RegistrationRefused(Refused):
    """A Dynamic Registration was refused."""


def record_refusal(action: str, exc: Refused) -> None:
    """Roll the request back (nothing of it stays, its locks are released), then write the
    refusal to the audit log in a transaction of its own. Call from a view."""
    db().rollback()
    with runtime().session() as own:
        audit.record(own, "anonymous", action, now=now_utc(),
                     payload={"code": exc.code, "correlation_id": correlation_id(), "remote": request.remote_addr})
        own.commit()

"""Why a login or launch was refused. The message is translated for the page; the code goes to
the audit log so that a secretary can count refusals by kind."""

from __future__ import annotations

from plugin.kernel.errors import InvalidInput


class LaunchRefused(InvalidInput):
    status = 400

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

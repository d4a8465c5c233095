"""Exceptions that services raise and views translate into a status and a translated message."""

from __future__ import annotations


class AdalError(Exception):
    """Base of every expected failure. ``status`` is the HTTP status a view should answer with."""

    status = 400


class InvalidInput(AdalError):
    """The input was refused; nothing was changed."""

    status = 400


class NotPermitted(AdalError):
    """The actor may not do this."""

    status = 403


class NotFound(AdalError):
    """No such thing, or not one this actor may know exists (IDOR probes get this, not 403)."""

    status = 404

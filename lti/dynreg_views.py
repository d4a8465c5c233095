"""Dynamic Registration and Canvas configuration endpoints."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("lti_registration", __name__, template_folder="templates")

"""LTI Deep Linking 2.0: a teacher adds an Adal assignment from the LMS's activity picker.

Adal answers with one ``ltiResourceLink`` carrying a ``lineItem`` (so the LMS makes a gradebook
column) and the assignment id in custom parameters, in a JWT signed with Adal's tool key.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from flask_babel import gettext as _
from sqlmodel import Session

from attribution.models import Assignment
from lti import claims as c
from lti.errors import LaunchRefused
from lti.keys import signing_key
from lti.launch import Launch
from lti.urls import acceptable_platform_url

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
ASSIGNMENT_PARAMETER = "adal_assignment_id"


@dataclass(frozen=True)
class DeepLinkRequest:
    """What Adal must remember between the deep-linking launch and the teacher's choice."""

    platform_id: int
    client_id: str
    issuer: str
    deployment_id: str
    return_url: str
    data: str | None

    def to_session(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_session(cls, value: Any) -> DeepLinkRequest | None:
        try:
            return cls(**value)
        except TypeError:
            return None


def deep_link_request(launch: Launch) -> DeepLinkRequest:
    """The settings of a deep-linking launch. Raises ``LaunchRefused`` when Adal cannot answer it."""
    settings = launch.claims.get(c.DEEP_LINKING_SETTINGS)
    if not isinstance(settings, dict):
        raise LaunchRefused("bad_claims", _("The LMS did not say where to return the chosen activity."))
    return_url = settings.get("deep_link_return_url")
    accepted = settings.get("accept_types", [])
    if not isinstance(return_url, str) or not acceptable_platform_url(return_url):
        raise LaunchRefused("bad_claims", _("The LMS did not say where to return the chosen activity."))
    if not isinstance(accepted, list) or "ltiResourceLink" not in accepted:
        raise LaunchRefused("unsupported_message", _("This LMS picker does not accept LTI links, which Adal adds."))
    data = settings.get("data")
    return DeepLinkRequest(platform_id=launch.platform.id or 0, client_id=launch.platform.client_id,
                           issuer=launch.platform.issuer, deployment_id=str(launch.claims[c.DEPLOYMENT_ID]),
                           return_url=return_url, data=data if isinstance(data, str) else None)


def deep_link_response(session: Session, request: DeepLinkRequest, assignment: Assignment, *,
                       launch_url: str, now: datetime) -> str:
    """The signed ``LtiDeepLinkingResponse`` that places ``assignment`` in the course."""
    kid, private_pem = signing_key(session, now=now)
    item = {
        "type": "ltiResourceLink",
        "title": assignment.title,
        "url": launch_url,
        "custom": {ASSIGNMENT_PARAMETER: str(assignment.id)},
        "lineItem": {"scoreMaximum": float(assignment.score_maximum), "label": assignment.title,
                     "resourceId": f"adal-assignment-{assignment.id}", "tag": "adal"},
    }
    claims: dict[str, Any] = {
        "iss": request.client_id, "aud": request.issuer, "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=10)).timestamp()), "nonce": secrets.token_urlsafe(16),
        c.DEPLOYMENT_ID: request.deployment_id, c.MESSAGE_TYPE: "LtiDeepLinkingResponse", c.VERSION: "1.3.0",
        DL + "content_items": [item],
    }
    if request.data is not None:
        claims[DL + "data"] = request.data
    return jwt.encode(claims, private_pem, algorithm="RS256", headers={"kid": kid})


"""LTI 1.3 claim names and the mapping of LMS roles onto Adal's roles."""

from __future__ import annotations

from plugin.kernel.users import Role

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
CUSTOM = LTI + "custom"
LAUNCH_PRESENTATION = LTI + "launch_presentation"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

# LTI Advantage services: the launch claims that offer them and the scopes a token asks for.
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_SERVICE = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
_AGS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPE_LINEITEM = _AGS_SCOPE + "lineitem"
SCOPE_LINEITEM_READONLY = _AGS_SCOPE + "lineitem.readonly"
SCOPE_RESULT_READONLY = _AGS_SCOPE + "result.readonly"
SCOPE_SCORE = _AGS_SCOPE + "score"
SCOPE_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE)

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)

_MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
_TA = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"


def _short(role: str) -> str:
    """Context roles by their short name; institution and system roles are left as they are."""
    if role.startswith(_MEMBERSHIP):
        return role[len(_MEMBERSHIP):]
    return role


def map_roles(lms_roles: list[str]) -> tuple[frozenset[Role], bool]:
    """Adal roles for a launch and whether the person is a teaching assistant.

    Learner → student; Instructor → teacher; Canvas TAs (Instructor + TeachingAssistant) → teacher
    with the TA marker. Mentor and TestUser get no integrity workflow, and the LMS Administrator
    role gives no rights in Adal (the admin console has its own login with a second factor).
    """
    short = {_short(r) for r in lms_roles}
    if "http://purl.imsglobal.org/vocab/lti/system/person#TestUser" in lms_roles or "Mentor" in short:
        return frozenset(), False
    roles: set[Role] = set()
    if "Learner" in short:
        roles.add(Role.STUDENT)
    is_ta = _TA in lms_roles or "TeachingAssistant" in short
    if "Instructor" in short or is_ta:
        roles.add(Role.TEACHER)
    return frozenset(roles), is_ta and Role.TEACHER in roles

"""Platform registrations and deployments: service verbs used by the CLI and the launch."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import bindparam
from sqlmodel import Session, select

from lti.errors import LaunchRefused
from lti.models import Deployment, LoginState, Platform
from lti.urls import acceptable_platform_url
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.users import Actor


def add_platform(session: Session, actor: Actor, *, issuer: str, client_id: str, deployment_id: str,
                 keyset_url: str, auth_login_url: str, auth_token_url: str, now: datetime,
                 auth_audience: str | None = None, auto_register_deployments: bool = False) -> Platform:
    """Register a platform (or add a deployment to a registered one); audit ``lti.platform_added``.

    Raises ``InvalidInput`` for a URL that is not https (http is allowed for loopback hosts only)
    or for a platform registered with other endpoints.
    """
    for name, url in (("issuer", issuer), ("keyset-url", keyset_url), ("auth-login-url", auth_login_url),
                      ("auth-token-url", auth_token_url)):
        if not acceptable_platform_url(url):
            raise InvalidInput(_("%(name)s must be an https URL (http only on this machine): %(url)s",
                                 name=name, url=url))
    if not client_id.strip() or not deployment_id.strip():
        raise InvalidInput(_("client id and deployment id must not be empty"))
    platform = find_platform(session, issuer, client_id)
    if platform is None:
        platform = Platform(issuer=issuer, client_id=client_id, auth_login_url=auth_login_url,
                            auth_token_url=auth_token_url, keyset_url=keyset_url, auth_audience=auth_audience,
                            auto_register_deployments=auto_register_deployments, created_at=now)
        session.add(platform)
        session.flush()
    elif (platform.keyset_url, platform.auth_login_url, platform.auth_token_url) != (
            keyset_url, auth_login_url, auth_token_url):
        raise InvalidInput(_("this issuer and client id are already registered with other URLs; "
                             "remove the registration first"))
    if _deployment(session, platform, deployment_id) is None:
        session.add(Deployment(platform_id=platform.id, deployment_id=deployment_id, created_at=now))
    audit.record(session, actor, "lti.platform_added", now=now, subject=f"platform:{platform.id}",
                 payload={"issuer": issuer, "client_id": client_id, "deployment_id": deployment_id})
    session.flush()
    return platform


# Built once: every login and launch looks the platform up.
_BY_ISSUER = select(Platform).where(Platform.issuer == bindparam("p_issuer"))
_BY_ISSUER_AND_CLIENT = _BY_ISSUER.where(Platform.client_id == bindparam("p_client"))
_DEPLOYMENT = select(Deployment).where(Deployment.platform_id == bindparam("p_platform"),
                                       Deployment.deployment_id == bindparam("p_deployment"))


def find_platform(session: Session, issuer: str, client_id: str | None) -> Platform | None:
    """The registration for (issuer, client id); without a client id, the issuer's only one."""
    query = _BY_ISSUER_AND_CLIENT if client_id else _BY_ISSUER
    found = session.execute(query, {"p_issuer": issuer, "p_client": client_id}).scalars().all()
    return found[0] if len(found) == 1 else None


def list_platforms(session: Session) -> list[tuple[Platform, list[str]]]:
    platforms = session.exec(select(Platform).order_by(Platform.issuer, Platform.client_id)).all()
    return [(p, [d.deployment_id for d in session.exec(
        select(Deployment).where(Deployment.platform_id == p.id).order_by(Deployment.deployment_id))])
        for p in platforms]


def remove_platform(session: Session, actor: Actor, *, issuer: str, client_id: str, now: datetime) -> None:
    """Remove a registration with its deployments; audit ``lti.platform_removed``.

    Raises ``NotFound`` when it is not registered.
    """
    platform = find_platform(session, issuer, client_id)
    if platform is None:
        raise NotFound(_("no platform with this issuer and client id"))
    for row in session.exec(select(Deployment).where(Deployment.platform_id == platform.id)):
        session.delete(row)
    for row in session.exec(select(LoginState).where(LoginState.platform_id == platform.id)):
        session.delete(row)
    audit.record(session, actor, "lti.platform_removed", now=now, subject=f"platform:{platform.id}",
                 payload={"issuer": issuer, "client_id": client_id})
    session.delete(platform)
    session.flush()


def _deployment(session: Session, platform: Platform, deployment_id: str) -> Deployment | None:
    return session.execute(_DEPLOYMENT, {"p_platform": platform.id, "p_deployment": deployment_id}).scalar()


def check_deployment(session: Session, platform: Platform, deployment_id: str, *, now: datetime) -> Deployment:
    """The registered deployment, or a new one when the platform allows auto-registration.

    Raises ``LaunchRefused`` (``unknown_deployment``) otherwise.
    """
    found = _deployment(session, platform, deployment_id)
    if found is not None:
        return found
    if not platform.auto_register_deployments:
        raise LaunchRefused("unknown_deployment", _(
            "This course's LMS deployment is not registered with Adal. Ask your administrator to register "
            "deployment %(deployment)s.", deployment=deployment_id))
    found = Deployment(platform_id=platform.id, deployment_id=deployment_id, created_at=now)
    session.add(found)
    audit.record(session, f"platform:{platform.id}", "lti.deployment_auto_registered", now=now,
                 subject=f"platform:{platform.id}", payload={"deployment_id": deployment_id})
    session.flush()
    return found

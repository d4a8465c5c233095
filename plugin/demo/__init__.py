"""The demo LTI platform behind `adal demo` (loopback only, synthetic people)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import Flask
from sqlmodel import Session

from appeals.commissions import add_member, create_commission, list_commissions, remove_member
from lti.registry import add_platform, find_platform, remove_platform
from plugin.demo.platform import CLIENT_ID, COMMISSION, DemoState, create_blueprint
from plugin.kernel.clock import now_utc
from plugin.kernel.notices import current_version, publish_notice
from plugin.kernel.users import Actor

NOTICES = Path(__file__).parent / "notices"
COMMISSION_NAME = "Академиялық адалдық комиссиясы (демо)"


def install_commission(session: Session, actor: Actor, issuer: str, *, now: datetime) -> None:
    """The demo's commission of seven, seated by the LMS identities the demo platform launches them
    with (its issuer, their key). Safe to run at every start: only what is missing is added. When
    the demo moved to another port its issuer changed, so its people at the old address give up
    their seats first (the commission has one chair)."""
    listing = next((found for found in list_commissions(session) if found.commission.name == COMMISSION_NAME), None)
    if listing is None:
        create_commission(session, actor, COMMISSION_NAME, scope="institution", now=now)
        seated: set[str] = set()
    else:
        keys = {person.key for person in COMMISSION}
        seated = {seat.user.subject or "" for seat in listing.active if seat.user.issuer == issuer}
        for seat in listing.active:
            if seat.user.issuer != issuer and seat.user.subject in keys:
                remove_member(session, actor, COMMISSION_NAME, issuer=seat.user.issuer or "",
                              subject=seat.user.subject or "", now=now)
    for person in COMMISSION:  # the chair first
        if person.key not in seated and person.seat is not None:
            add_member(session, actor, COMMISSION_NAME, issuer=issuer, subject=person.key, role=person.seat,
                       display_name=person.name, now=now)


def install_demo(app: Flask, tool_base: str) -> DemoState:
    """Mount the demo platform on ``app`` and register it with Adal (again, if its port changed)."""
    state = DemoState(tool_base=tool_base.rstrip("/"))
    blueprint = create_blueprint(state)
    # Its POSTs come from Adal and from signed LTI messages, as to any LMS: no CSRF token there.
    app.extensions["csrf"].exempt(blueprint)
    app.register_blueprint(blueprint)
    app.config["ADAL_DEMO"] = True
    actor = Actor.system("demo")
    with app.extensions["adal.runtime"].session() as session, app.app_context():
        wanted = state.registration()
        found = find_platform(session, state.issuer, CLIENT_ID)
        if found is not None and (found.keyset_url, found.auth_login_url, found.auth_token_url) != (
                wanted["keyset_url"], wanted["auth_login_url"], wanted["auth_token_url"]):
            remove_platform(session, actor, issuer=state.issuer, client_id=CLIENT_ID, now=now_utc())
        add_platform(session, actor, now=now_utc(), **wanted)
        if current_version(session) is None:  # the demo school's notice, so students can hand in work
            for lang in ("kk", "ru", "en"):
                text = (NOTICES / f"notice.{lang}.toml").read_text(encoding="utf-8")
                publish_notice(session, actor, text, lang=lang, require_adapted=True, now=now_utc())
        install_commission(session, actor, state.issuer, now=now_utc())
        session.commit()
    return state

"""The demo LTI platform behind `adal demo` (loopback only, synthetic people)."""

from __future__ import annotations

from flask import Flask

from lti.registry import add_platform, find_platform, remove_platform
from plugin.demo.platform import CLIENT_ID, DemoState, create_blueprint
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Actor


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
        session.commit()
    return state

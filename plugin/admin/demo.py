"""The demo admin of ``adal demo``: created (or given a new password and seed) at every start, so
that the console can be tried; the demo LMS page shows its username, password and current code.

``plugin.demo`` may not import the admin console, so the CLI calls ``install_demo_admin`` and the
demo page reads what it needs from ``app.config["ADAL_DEMO_ADMIN"]``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from flask import Flask

from plugin.admin.accounts import create_admin, current_code, find_admin, reset_password, reset_second_factor
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Actor

USERNAME = "demo-admin"


@dataclass(frozen=True)
class DemoAdmin:
    username: str
    password: str
    seed: str = field(repr=False)

    @property
    def code(self) -> str:
        """The code an authenticator app would show now (it changes every 30 seconds)."""
        return current_code(self.seed, now_utc())


def install_demo_admin(app: Flask) -> DemoAdmin:
    """Create ``demo-admin`` with a new random password and TOTP seed (or give the existing one
    new ones: only this process knows them), and hand them to the demo page."""
    password = secrets.token_urlsafe(12)
    actor = Actor.system("demo")
    with app.extensions["adal.runtime"].session() as session, app.app_context():
        now = now_utc()
        if find_admin(session, USERNAME) is None:
            enrolment = create_admin(session, actor, USERNAME, password, now=now)
        else:
            reset_password(session, actor, USERNAME, password, now=now)
            enrolment = reset_second_factor(session, actor, USERNAME, now=now)
        session.commit()
    demo = DemoAdmin(username=USERNAME, password=password, seed=enrolment.seed)
    app.config["ADAL_DEMO_ADMIN"] = demo
    return demo

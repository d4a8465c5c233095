"""The admin console in Debian's chromium at a phone's 360 px: the console sends a stranger to sign
in; the password and then the authenticator's code open it; axe-core finds no serious or
critical violation on the sign-in pages, the overview and the settings page, and nothing scrolls
sideways."""

from __future__ import annotations

import pyotp

from plugin.admin.accounts import create_admin
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Actor
from tests.e2e.checks import fits, serious_violations, tab_to

PASSWORD = "correct horse battery staple"


def test_sign_in_with_a_totp_code_on_a_phone(app, live_server, en_page):
    runtime = app.extensions["adal.runtime"]
    with app.app_context(), runtime.session() as session:
        enrolment = create_admin(session, Actor.system("cli:e2e"), "alice", PASSWORD, now=now_utc())
        session.commit()
    page = en_page
    page.goto(live_server + "/admin/settings?lang=en")
    page.wait_for_url("**/admin/login**")
    assert serious_violations(page) == []
    fits(page)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    tab_to(page, "sign_in")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/second-factor")
    assert serious_violations(page) == []
    fits(page)
    page.get_by_label("Code").fill(pyotp.TOTP(enrolment.seed).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/settings")  # back where the stranger first asked to go
    assert page.get_by_role("heading", level=1).inner_text() == "Institution settings"
    assert serious_violations(page) == []
    fits(page)
    page.get_by_role("navigation", name="Admin console").get_by_role("link", name="Overview").click()
    page.wait_for_url("**/admin/")
    assert serious_violations(page) == []
    fits(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/admin/login")
    assert "You have signed out" in page.inner_text("main")

"""Browser-side steps of an LTI launch, shared by the integration tests."""

from __future__ import annotations

from html.parser import HTMLParser

import requests

from lti.registry import add_platform
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Actor
from tests.lti_platform import TestPlatform, login_params


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action, self.fields = "", {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs["action"]
        if tag == "input":
            self.fields[attrs["name"]] = attrs.get("value", "")


def register(app, platform: TestPlatform, **extra) -> None:
    """Register ``platform`` in Adal as `adal platform add` would."""
    with app.extensions["adal.runtime"].session() as session:
        add_platform(session, Actor.system("test"), now=now_utc(), **platform.cli_args(), **extra)
        session.commit()


def full_launch(platform: TestPlatform, http: requests.Session | None = None, **start) -> requests.Response:
    """Click the tool link in the LMS: OIDC login, the platform's auth answer, then the form POST."""
    http = http or requests.Session()
    page = http.get(platform.base_url + "/start", params=start, timeout=10)
    assert page.status_code == 200, page.text
    form = _Form()
    form.feed(page.text)
    return http.post(form.action, data=form.fields, timeout=10)


def begin(adal: str, platform: TestPlatform, http: requests.Session) -> dict[str, str]:
    response = http.get(adal + "/lti/login", params={
        "iss": platform.issuer, "login_hint": "student-001", "target_link_uri": adal + "/lti/launch",
        "client_id": platform.client_id}, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    return login_params(response.headers["Location"])



"""A launch inside the LMS's frame when the browser withholds the state cookie (Safari, Chrome
with third-party cookies off), in a real browser: through LTI Platform Storage, and through the
new-window fallback. The cookie is withheld by stripping it from the frame's launch request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lti_flow import register
from tests.lti_platform import TestPlatform


@pytest.fixture
def platform(app, live_server) -> Iterator[TestPlatform]:
    lms = TestPlatform("frame-lms")
    with lms.serve(live_server):
        register(app, lms)
        app.config["ADAL_FRAME_ANCESTORS"] = (lms.base_url,)  # as an administrator sets it for the LMS
        yield lms


def _withhold_cookies_on_launch(page) -> list[str]:
    """Drop the browser's cookies just before the frame's launch POST leaves (Chromium attaches
    cookies after interception, so this is what a cookie-blocking browser sends); returns the
    cookie names that existed then."""
    dropped: list[str] = []

    def drop(route, _request):
        dropped.extend(cookie["name"] for cookie in page.context.cookies())
        page.context.clear_cookies()
        route.continue_()

    page.route("**/lti/launch", drop)
    return dropped


def test_platform_storage_completes_the_launch_without_the_cookie(en_page, platform, live_server):
    page = en_page
    stripped = _withhold_cookies_on_launch(page)
    page.goto(platform.base_url + "/frame?role=student&user=student-frame&storage=1&locale=en")
    frame = page.frame_locator("iframe[name=tool]")
    frame.get_by_role("heading", level=1, name="Hello, Aigerim Testova").wait_for(timeout=15000)
    assert "adal_lti_state" in " ".join(stripped), "the state cookie existed and was withheld"
    assert page.evaluate("window.putCount") == 1, "the secret went into the platform's storage"
    assert page.frames[1].url.endswith("/lti/launch/storage")


def test_without_platform_storage_the_launch_opens_in_a_new_window(en_page, platform, live_server):
    page = en_page
    _withhold_cookies_on_launch(page)
    page.goto(platform.base_url + "/frame?role=teacher&user=teacher-frame&locale=en")
    frame = page.frame_locator("iframe[name=tool]")
    link = frame.get_by_role("link", name="Open Adal in a new window")
    link.wait_for()
    with page.expect_popup() as popup_info:
        link.click()
    popup = popup_info.value
    popup.wait_for_url("**/lti/launch")
    assert popup.get_by_role("heading", level=1).inner_text() == "Hello, Aigerim Testova"
    assert "teacher" in popup.inner_text("main")

"""The system card in a real browser at a phone's width: reached from the footer without signing
in, readable at 360 px, and without serious or critical accessibility violations."""

from __future__ import annotations

from plugin.admin.system_card import SECTIONS
from tests.e2e.checks import fits, serious_violations


def test_the_system_card_is_reached_from_the_footer_and_is_accessible_at_360px(page, live_server):
    page.goto(live_server + "/")
    page.locator("footer a[href='/system-card']").click()
    page.wait_for_url("**/system-card")
    assert page.get_attribute("html", "lang") == "kk"
    assert page.locator("main h1").count() == 1
    assert page.locator("main section > h2").count() == len(SECTIONS)
    fits(page)
    assert serious_violations(page) == []
    # a section from the contents, by keyboard-reachable link, lands on its heading
    page.locator("nav a[href='#appeal']").click()
    assert page.evaluate("location.hash") == "#appeal"
    assert page.locator("#appeal").get_attribute("data-window") == "10"

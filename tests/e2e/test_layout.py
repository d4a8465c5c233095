"""The base layout in a real browser, at a phone's 360 px width."""

from __future__ import annotations


def test_layout_is_usable_at_360px_with_landmarks_and_skip_link(page, live_server):
    page.goto(live_server + "/")
    assert page.get_attribute("html", "lang") == "kk"
    assert page.locator("header").count() == 1
    assert page.locator("main#main").count() == 1
    assert page.locator("footer").count() == 1
    # nothing wider than the screen: no sideways scrolling on a phone
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    # the skip link is the first thing the keyboard reaches, visible when focused, and lands on main
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus must be visible"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_language_switch_buttons_change_the_page_language(page, live_server):
    page.goto(live_server + "/")
    page.get_by_role("button", name="Русский").click()
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "ru"
    assert page.get_by_role("button", name="Русский").get_attribute("aria-current") == "true"
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Adal"


def test_error_page_in_browser_shows_reference(page, live_server):
    response = page.goto(live_server + "/nope?lang=en")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert response.headers["x-correlation-id"] in page.inner_text("main")

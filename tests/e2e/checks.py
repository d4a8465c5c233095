"""Checks every browser test makes: axe-core's serious and critical violations, no sideways
scrolling at a phone's width, keyboard reach, and where screenshots go."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # gitignored; kept by CI as test artifacts


def serious_violations(page, context: str | None = None) -> list[str]:
    """axe-core's serious and critical violations on the page (or within ``context``), one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context) if context else Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"


def tab_to(page, element_id: str, limit: int = 200) -> None:
    """Press Tab until ``element_id`` has the focus: it is reachable by the keyboard alone."""
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} is not reachable with Tab")

"""A live Adal in a thread and Debian's chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import serve_wsgi

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serve_wsgi(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Module scope: Playwright's sync API keeps an asyncio loop running in this thread while it is
    # open, and later tests that call asyncio.run() (pyHanko signs that way) must not find one.
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup --test as root, or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield instance
        instance.close()


@pytest.fixture
def en_page(browser) -> Iterator[object]:
    """The same phone, set to English (for tests that read English text)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    yield context.new_page()
    context.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    # A phone set to Kazakh: 360 px wide, Accept-Language kk-KZ.
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="kk-KZ")
    tab = context.new_page()
    yield tab
    context.close()


# -- `adal demo` as a real process ------------------------------------------------------------
ADAL = str(Path(sys.executable).parent / "adal")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAL_")}
    env.update({"ADAL_INSTANCE_PATH": str(tmp_path_factory.mktemp("demo") / "instance"), "ADAL_LANG": "en"})
    process = subprocess.Popen([ADAL, "demo", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert process.poll() is None, "adal demo exited"
                assert time.monotonic() < deadline, "adal demo did not start"
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


@pytest.fixture
def platform(app, live_server) -> Iterator[object]:
    """An independent LTI platform (lti1p3platform) registered in the live Adal."""
    from tests.lti_flow import register
    from tests.lti_platform import TestPlatform

    lms = TestPlatform("e2e-lms")
    with lms.serve(live_server):
        register(app, lms)
        yield lms

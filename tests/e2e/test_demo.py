"""`adal demo` as a new user meets it: a real process, a real browser, every role clicked through."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(("person", "expected"), [
    ("Айгерім Демоқызы", "student"), ("Тимур Сынақов", "student"), ("Бақыт Үлгіұлы", "teacher"),
    ("Дана Көмекшіқызы", "teaching assistant"), ("Ерлан Тәлімгеров", "no integrity workflow"),
])
def test_every_demo_role_clicks_through_to_its_page(en_page, demo_url, person, expected):
    page = en_page
    page.goto(demo_url + "/demo/?lang=en")
    page.get_by_role("link", name=f"Open as {person}").click()
    page.wait_for_url("**/lti/launch")
    assert page.get_by_role("heading", level=1).inner_text() == f"Hello, {person}"
    main = page.inner_text("main")
    assert "Академиялық жазу (демо курс)" in main
    assert expected in main
    back = page.get_by_role("link", name="Back to the course in the LMS")
    assert back.get_attribute("href") == demo_url + "/demo/"


def test_teacher_adds_an_assignment_and_the_gradebook_gets_a_column(en_page, demo_url):
    page = en_page
    page.goto(demo_url + "/demo/?lang=en")
    page.get_by_role("link", name="Open the picker as the teacher").click()
    page.wait_for_url("**/lti/launch")
    page.get_by_label("Title").fill("Essay on honest AI use")
    page.get_by_label("Maximum score").fill("20")
    page.get_by_role("button", name="Add to the course").click()
    page.wait_for_url("**/demo/")  # the signed answer went back to the LMS and it listed the link
    assert page.get_by_role("cell", name="Essay on honest AI use").count() == 1
    page.goto(demo_url + "/demo/gradebook")
    assert "Essay on honest AI use" in page.inner_text("table")
    # the student opens the placed assignment
    page.goto(demo_url + "/demo/")
    page.get_by_role("row", name="Essay on honest AI use").get_by_role("link").first.click()
    page.wait_for_url("**/lti/launch")
    assert page.get_by_role("heading", level=1).inner_text() == "Hello, Айгерім Демоқызы"


def test_demo_lms_fits_a_phone(en_page, demo_url):
    en_page.goto(demo_url + "/demo/")
    overflow = en_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "no sideways scrolling at 360 px"

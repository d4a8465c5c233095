"""`adal demo` as a new user meets it: a real process, a real browser, every role clicked through."""

from __future__ import annotations

import pytest


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


@pytest.mark.parametrize(("person", "seat"), [
    ("Гүлнар Сынаққызы", "commission chair"), ("Ержан Үлгібеков", "commission secretary"),
    ("Әсел Демобаева", "commission member"), ("Қанат Сынақбаев", "commission member"),
    ("Ольга Тестова", "commission member"), ("Руслан Примеров", "commission member"),
    ("Мадина Үлгіқызы", "commission member"),
])
def test_each_commission_member_opens_adal_outside_a_course_and_reaches_the_cases(en_page, demo_url, person, seat):
    page = en_page
    page.goto(demo_url + "/demo/?lang=en")
    page.get_by_role("region", name="Commission").get_by_role("link", name=f"Open as {person}").click()
    page.wait_for_url("**/lti/launch")
    assert page.get_by_role("heading", level=1).inner_text() == f"Hello, {person}"
    main = page.inner_text("main")
    assert "No course: Adal was opened outside a course." in main
    assert f"{seat} (Академиялық адалдық комиссиясы (демо))" in main
    page.get_by_role("link", name="Open the commission's cases").click()
    page.wait_for_url(demo_url + "/commission")
    assert page.get_by_role("heading", level=1).count() == 1


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
    page.wait_for_url(lambda url: url.endswith("/a/1"))
    assert page.get_by_role("heading", level=1).inner_text() == "Essay on honest AI use"
    assert "has not set up this assignment yet" in page.inner_text("main")


def test_demo_lms_fits_a_phone(en_page, demo_url):
    en_page.goto(demo_url + "/demo/")
    overflow = en_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "no sideways scrolling at 360 px"

"""The demo's commission of seven: seated by `install_demo` (again and again, and after the demo
moved to another port), launched from the demo LMS's front page without a course, and greeted
on arrival with their seat."""

from __future__ import annotations

import re

import requests
from sqlalchemy import func, select

from appeals.commissions import list_commissions
from plugin.demo import COMMISSION_NAME, install_commission, install_demo
from plugin.demo.platform import COMMISSION, PEOPLE
from plugin.kernel.audit import AuditEntry
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Actor, Membership
from tests.integration.test_demo_platform import _follow_demo_launch
from tests.servers import serve_wsgi


def _seats(session) -> list[tuple[str | None, str | None, str]]:
    listing = next(found for found in list_commissions(session) if found.commission.name == COMMISSION_NAME)
    return [(seat.user.issuer, seat.user.subject, seat.member.role) for seat in listing.active]


def test_seven_people_who_teach_no_demo_course():
    assert [p.seat for p in COMMISSION] == ["chair", "secretary"] + ["member"] * 5
    assert not {p.key for p in COMMISSION} & {p.key for p in PEOPLE}
    assert not {p.name for p in COMMISSION} & {p.name for p in PEOPLE}
    assert len({p.name for p in COMMISSION}) == 7


def test_install_commission_is_idempotent_and_follows_the_demo_to_a_new_port(db_session):
    s, actor = db_session, Actor.system("demo")
    install_commission(s, actor, "http://127.0.0.1:5000/demo", now=now_utc())
    first = _seats(s)
    assert sorted((sub, role) for _iss, sub, role in first) == sorted((p.key, p.seat) for p in COMMISSION)
    assert first[0][2] == "chair"
    assert {iss for iss, _sub, _role in first} == {"http://127.0.0.1:5000/demo"}
    entries = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    install_commission(s, actor, "http://127.0.0.1:5000/demo", now=now_utc())
    assert _seats(s) == first
    assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == entries  # nothing to do
    install_commission(s, actor, "http://127.0.0.1:5001/demo", now=now_utc())
    moved = _seats(s)
    assert {iss for iss, _sub, _role in moved} == {"http://127.0.0.1:5001/demo"} and len(moved) == 7
    assert [role for _i, _s, role in moved].count("chair") == 1


def test_each_member_launches_without_a_course_and_is_greeted_with_their_seat(app):
    with serve_wsgi(app) as base:
        install_demo(app, base)
        home = requests.get(base + "/demo/?lang=en", timeout=10).text
        assert "Members of the commission" in home
        for person in COMMISSION:
            assert f"Open as {person.name}" in home
            browser = requests.Session()
            browser.get(base + "/?lang=en", timeout=10)  # the language chosen first, as on the demo page
            page = _follow_demo_launch(browser, base, f"person={person.key}")
            assert page.status_code == 200, page.text[:500]
            text = re.sub(r"\s+", " ", page.text)
            assert f"Hello, {person.name}" in text
            assert "No course: Adal was opened outside a course." in text
            assert f"commission {person.seat} ({COMMISSION_NAME})" in text
            assert "no integrity workflow" not in text
            assert 'href="/commission"' in text  # the link to the commission's cases
            assert browser.get(base + "/commission", timeout=10).status_code == 200
        # a deep-linking picker or an assignment needs a course: the demo LMS offers neither to them
        refused = requests.get(base + f"/demo/start?person={COMMISSION[0].key}&message=deeplink", timeout=10,
                               allow_redirects=False)
        assert refused.status_code == 400
    with app.extensions["adal.runtime"].session() as session:
        assert session.execute(select(func.count()).select_from(Membership)).scalar_one() == 0

"""A person's reminders over the WSGI stack: only one's own are listed, marking another's as read
answers 404 and changes nothing, CSRF is required, and the partials render (the reminders list on
any page, and the case timeline with aria-current on its current step)."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select

from appeals.models import Case
from appeals.timeline import build_timeline
from appeals.workflow import State
from plugin.kernel.clock import now_utc
from plugin.kernel.notifications import Notification, remind
from plugin.kernel.users import Actor, Role
from tests.factories import make_user
from tests.factories_work import login


def _people(app):
    runtime = app.extensions["adal.runtime"]
    now = now_utc()
    due = (now + timedelta(days=5)).isoformat()
    with runtime.session() as s:
        mine, theirs = make_user(s, "student-rem-a", "Аружан Тестова"), make_user(s, "student-rem-b", "Bolat Example")
        remind(s, user_id=mine.id, key="case:1:case_notified", message="case_notified",
               params={"number": "2026-0101", "due_at": due}, link="/cases/1", now=now)
        remind(s, user_id=theirs.id, key="case:2:case_notified", message="case_notified",
               params={"number": "2026-0202", "due_at": due}, link="/cases/2", now=now)
        s.commit()
        ids = {row.user_id: row.id for row in s.execute(select(Notification)).scalars()}
        return (Actor.for_user(mine, frozenset({Role.STUDENT})), ids[mine.id],
                Actor.for_user(theirs, frozenset({Role.STUDENT})), ids[theirs.id])


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _read_at(app, notification_id: int):
    with app.extensions["adal.runtime"].session() as s:
        return s.get(Notification, notification_id).read_at


def test_only_ones_own_reminders_and_only_ones_own_marked_read(app, client):
    me, mine, _them, theirs = _people(app)
    assert client.get("/reminders").status_code == 403  # nobody signed in
    login(client, me)
    page = client.get("/reminders?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Case 2026-0101" in html and "2026-0202" not in html
    token = _csrf(html)
    assert client.post(f"/reminders/{theirs}/read", data={"csrf_token": token}).status_code == 404
    assert _read_at(app, theirs) is None
    assert client.post(f"/reminders/{mine}/read", data={}).status_code == 400  # no CSRF token
    assert _read_at(app, mine) is None
    done = client.post(f"/reminders/{mine}/read", data={"csrf_token": token, "next": "https://evil.example/"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/reminders")
    assert _read_at(app, mine) is not None and _read_at(app, theirs) is None
    after = client.get("/reminders?lang=en").get_data(as_text=True)
    assert "You have no unread reminders." in after and "Read recently" in after


def test_mark_all_read_touches_only_ones_own(app, client):
    me, mine, _them, theirs = _people(app)
    login(client, me)
    token = _csrf(client.get("/reminders").get_data(as_text=True))
    assert client.post("/reminders/read-all", data={"csrf_token": token}).status_code == 303
    assert _read_at(app, mine) is not None and _read_at(app, theirs) is None


def test_the_reminders_partial_lists_unread_ones_in_the_readers_language(app, client):
    me, _mine, _them, _theirs = _people(app)
    with app.test_request_context("/cases"):
        from flask import session as flask_session

        flask_session["actor"] = {"label": me.label, "user_id": me.user_id, "roles": ["student"], "course_id": None,
                                  "is_ta": False, "locale": None}
        flask_session["lang"] = "en"
        html = render_template("appeals/_reminders.html")
    assert 'aria-labelledby="reminders-title"' in html and "1 reminder" in html
    assert "Case 2026-0101: the commission told you the allegation" in html and 'href="/cases/1"' in html
    assert "2026-0202" not in html


def test_the_timeline_partial_marks_the_current_step(app):
    now = now_utc()
    case = Case(id=5, number="2026-0005", commission_id=1, flag_id=1, submission_id=1, student_id=1, course_id=1,
                state=State.NOTIFIED.value, allegation="a", rule="r", opened_at=now - timedelta(days=2),
                notified_at=now - timedelta(days=1), response_due_at=now + timedelta(days=4))
    with app.test_request_context("/cases/5?lang=en"), force_locale("en"):
        html = render_template("appeals/_timeline.html", timeline=build_timeline(case, None, now=now))
    assert html.count('aria-current="step"') == 1
    current = re.search(r'<li class="timeline-step is-current" aria-current="step">(.*?)</li>', html, re.S).group(1)
    assert "Your response" in current and "Now" in current and "You" in current
    assert html.count("<li class=\"timeline-step") == 11 and "style=" not in html and "<script" not in html
    closed = case.model_copy(update={"state": State.WITHDRAWN.value, "closed_note": "n"})
    with app.test_request_context("/cases/5?lang=en"), force_locale("en"):
        final_html = render_template("appeals/_timeline.html", timeline=build_timeline(closed, None, now=now))
    assert 'aria-current' not in final_html and "The case is closed." in final_html

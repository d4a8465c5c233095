"""Reminders: what is due to whom, idempotent runs, and e-mail through a real SMTP server on
127.0.0.1 (aiosmtpd): in the person's language, only when SMTP is configured and the person has an
address the institution collects, and a refused message retried on the next run, not marked sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask_babel import Babel
from sqlalchemy import func, select

from appeals.cases import cast_vote, notify_student, open_case, open_deliberation, respond
from appeals.models import Commission, CommissionMember
from appeals.reminders import create_reminders, due_reminders, run_reminders
from attribution.submissions import Upload, submit_work
from evidence.flags import GroundInput, attach_evidence, flag_suspicion, refer_flag
from evidence.models import FlagGround
from plugin.app import TRANSLATIONS
from plugin.kernel.mail import SmtpMail, SmtpSettings
from plugin.kernel.notifications import Notification
from plugin.kernel.settings import set_setting
from plugin.kernel.users import Actor, Role, User
from tests.factories import T0, enrol, make_course, make_user
from tests.smtp_server import smtp_server
from tests.work_samples import acknowledged, actor_for, disclosure, docx_bytes, make_assignment, publish_test_notice

# T0 is Tuesday 1 September 2026, 09:00 UTC (15:00 in Almaty); notified then, the response is due at the
# end of Tuesday 8 September in Almaty.
BASE = "https://adal.school.example.test"
SUBJECT_RU = "Adal: Дело № 2026-0001: комиссия сообщила вам обвинение"
SUBJECT_KK = "Adal: Іс № 2026-0001: комиссия сізге айыпты хабарлады"


@pytest.fixture
def babel_app():
    """Translations without a database (the reminders open none of their own)."""
    app = Flask("reminders-test")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app)
    with app.app_context():
        yield app


@pytest.fixture
def world(db_session, tmp_path):
    s = db_session
    course = make_course(s)
    student_user, teacher_user = make_user(s, "student-rem-1", "Аружан Тестова"), make_user(s, "teacher-rem-1",
                                                                                            "Dana Synthetic")
    student_user.email, student_user.locale = "aruzhan@students.example.test", "ru-RU"
    enrol(s, student_user, course)
    enrol(s, teacher_user, course, Role.TEACHER)
    publish_test_notice(s)
    student = acknowledged(s, actor_for(student_user, course))
    assignment = make_assignment(s, course)
    path = tmp_path / "w.docx"
    path.write_bytes(docx_bytes())
    submission, _ = submit_work(s, student, assignment.id, disclosure(), [Upload("w.docx", path)],
                                statement_lang="kk", now=T0)
    teacher = actor_for(teacher_user, course, Role.TEACHER)
    flag = flag_suspicion(s, teacher, submission.id, [GroundInput("failed_defence", "Could not explain it")], now=T0)
    ground = s.execute(select(FlagGround).where(FlagGround.flag_id == flag.id)).scalar_one()
    note = attach_evidence(s, teacher, ground.id, kind="note", description="Oral questions unanswered", now=T0)
    refer_flag(s, teacher, flag.id, now=T0)
    commission = Commission(name="Сынақ комиссиясы", scope="institution", created_at=T0)
    s.add(commission)
    s.flush()
    people = {}
    for index, role in enumerate(("chair", "secretary", "member", "member", "member")):
        user = make_user(s, f"rem-commission-{index}", f"Мүше {index}")
        user.email = f"member{index}@staff.example.test"
        s.add(CommissionMember(commission_id=commission.id, user_id=user.id, role=role, added_at=T0))
        people[f"{role}{index}"] = Actor.for_user(user, frozenset())
    s.flush()
    set_setting(s, Actor.system("test"), "privacy.collect_email", True, now=T0)
    case = open_case(s, people["secretary1"], flag.id, commission_id=commission.id, allegation="Undisclosed AI",
                     rule="S 7.3а", incident_level=2, now=T0)
    notify_student(s, people["secretary1"], case.id, expected_version=case.version, now=T0)
    return {"s": s, "case": case, "student": student, "student_user": student_user, "people": people, "note": note}


def _count(s) -> int:
    return s.execute(select(func.count()).select_from(Notification)).scalar_one()


def _mail(port: int) -> SmtpMail:
    return SmtpMail(SmtpSettings(host="127.0.0.1", port=port, sender="adal@school.example.test", security="none"))


def test_a_second_run_creates_and_sends_nothing(world, babel_app):
    s, case = world["s"], world["case"]
    now = T0 + timedelta(hours=1)
    with smtp_server() as (inbox, port):
        first = run_reminders(s, now=now, mail=_mail(port), base_url=BASE)
        assert (first.created, first.emailed, first.failed) == (1, 1, 0)
        second = run_reminders(s, now=now + timedelta(minutes=15), mail=_mail(port), base_url=BASE)
        assert (second.created, second.emailed, second.failed) == (0, 0, 0)
        assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "aruzhan@students.example.test" and message["Content-Language"] == "ru"
    assert message["Subject"] == SUBJECT_RU
    body = message.get_content()
    assert f"{BASE}/cases/{case.id}" in body and "08.09.2026 23:59" in body  # Almaty time of the deadline
    row = s.execute(select(Notification)).scalar_one()
    assert (row.key, row.user_id, row.emailed_at) == (f"case:{case.id}:case_notified", case.student_id, now)


def test_kazakh_when_the_person_has_no_known_language(world, babel_app):
    s = world["s"]
    world["student_user"].locale = None
    s.flush()
    with smtp_server() as (inbox, port):
        run_reminders(s, now=T0 + timedelta(hours=1), mail=_mail(port), base_url=BASE)
    assert [m["Subject"] for m in inbox.messages] == [SUBJECT_KK]
    assert inbox.messages[0]["Content-Language"] == "kk"


def test_the_response_due_soon_comes_once_within_two_working_days(world, babel_app):
    s, case = world["s"], world["case"]
    run_reminders(s, now=T0 + timedelta(hours=1), mail=None, base_url=BASE)
    thursday = T0 + timedelta(days=2)  # Thursday 3 September: Friday, Monday and Tuesday are left
    assert run_reminders(s, now=thursday, mail=None, base_url=BASE).created == 0
    friday = T0 + timedelta(days=3)  # Friday 4 September: two working days left (Monday, Tuesday)
    assert run_reminders(s, now=friday, mail=None, base_url=BASE).created == 1
    assert run_reminders(s, now=T0 + timedelta(days=6), mail=None, base_url=BASE).created == 0
    keys = set(s.execute(select(Notification.key)).scalars())
    assert keys == {f"case:{case.id}:case_notified", f"case:{case.id}:response_due_soon"}


def test_no_email_without_smtp_or_without_an_address(world, babel_app):
    s = world["s"]
    unsent = run_reminders(s, now=T0 + timedelta(hours=1), mail=None, base_url=BASE)
    assert (unsent.created, unsent.emailed, unsent.mail_configured) == (1, 0, False)
    assert s.execute(select(Notification.emailed_at)).scalar_one() is None
    world["student_user"].email = None
    s.flush()
    with smtp_server() as (inbox, port):
        later = run_reminders(s, now=T0 + timedelta(hours=2), mail=_mail(port), base_url=BASE)
    assert (later.created, later.emailed, later.failed) == (0, 0, 0) and inbox.messages == []


def test_no_email_when_the_institution_does_not_collect_addresses(world, babel_app):
    s = world["s"]
    set_setting(s, Actor.system("test"), "privacy.collect_email", False, now=T0)
    with smtp_server() as (inbox, port):
        summary = run_reminders(s, now=T0 + timedelta(hours=1), mail=_mail(port), base_url=BASE)
    assert (summary.created, summary.emailed) == (1, 0) and inbox.messages == []


def test_a_refused_message_is_not_marked_sent_and_goes_on_the_next_run(world, babel_app):
    s = world["s"]
    with smtp_server() as (inbox, port):
        inbox.refuse = True
        failed = run_reminders(s, now=T0 + timedelta(hours=1), mail=_mail(port), base_url=BASE)
        assert (failed.created, failed.emailed, failed.failed) == (1, 0, 1) and "451" in failed.failures[0]
        assert s.execute(select(Notification.emailed_at)).scalar_one() is None
        inbox.refuse = False
        retried = run_reminders(s, now=T0 + timedelta(hours=2), mail=_mail(port), base_url=BASE)
        assert (retried.created, retried.emailed, retried.failed) == (0, 1, 0)
        assert len(inbox.messages) == 1
    assert s.execute(select(Notification.emailed_at)).scalar_one() == T0 + timedelta(hours=2)


def test_an_unreachable_server_counts_as_failed(world, babel_app):
    from tests.smtp_server import free_port

    summary = run_reminders(world["s"], now=T0 + timedelta(hours=1), mail=_mail(free_port()), base_url=BASE)
    assert (summary.created, summary.emailed, summary.failed) == (1, 0, 1)


def test_a_read_reminder_is_not_emailed(world, babel_app):
    s = world["s"]
    run_reminders(s, now=T0 + timedelta(hours=1), mail=None, base_url=BASE)
    row = s.execute(select(Notification)).scalar_one()
    row.read_at = T0 + timedelta(hours=2)
    s.flush()
    with smtp_server() as (inbox, port):
        summary = run_reminders(s, now=T0 + timedelta(hours=3), mail=_mail(port), base_url=BASE)
    assert summary.emailed == 0 and inbox.messages == []


def test_the_secretary_and_chair_hear_of_a_missed_deadline_and_pending_votes(world):
    s, people = world["s"], world["people"]
    late = T0 + timedelta(days=8)  # Wednesday 9 September: the deadline passed without an answer
    staff = {people["chair0"].user_id, people["secretary1"].user_id}
    due = {(d.user_id, d.message) for d in due_reminders(s, now=late)}
    assert due == {(u, "response_deadline_passed") for u in staff}
    assert len(create_reminders(s, now=late)) == 2 and create_reminders(s, now=late) == []


def test_votes_pending_after_two_working_days_of_deliberation(world):
    s, case, people, student = world["s"], world["case"], world["people"], world["student"]
    respond(s, student, case.id, accept=True, statement="", expected_version=case.version, now=T0 + timedelta(days=1))
    open_deliberation(s, people["secretary1"], case.id, expected_version=case.version, now=T0 + timedelta(days=1))
    cast_vote(s, people["member2"], case.id, question="finding", vote="responsible", reasons="r",
              cited=[world["note"].id], now=T0 + timedelta(days=1))
    assert [d for d in due_reminders(s, now=T0 + timedelta(days=2)) if d.message.startswith("votes")] == []
    later = [d for d in due_reminders(s, now=T0 + timedelta(days=3, hours=1)) if d.message.startswith("votes")]
    assert {d.user_id for d in later} == {people["chair0"].user_id, people["secretary1"].user_id}
    assert {d.key for d in later} == {f"case:{case.id}:votes_pending_finding"}
    assert all(d.link == f"/commission/cases/{case.id}" for d in later)


def test_students_hear_only_of_their_own_case(world):
    s, case = world["s"], world["case"]
    create_reminders(s, now=T0 + timedelta(hours=1))
    owners = set(s.execute(select(Notification.user_id)).scalars())
    assert owners == {case.student_id}
    assert s.get(User, case.student_id) is world["student_user"]
    assert _count(s) == 1

"""The integrity commission's pages over the WSGI stack: who gets in (members only, whatever
their LMS role), the queue with its filters, overdue marks and pages, opening a case from a
referred flag, and every step of a case through its forms: notify, hearing, deliberation, votes
with reasons and cited evidence, the finding, the sanction with the prior-cases panel, issue,
withdrawal, conflicts and objections. Each rule is tried: a recused member cannot vote, another
commission's case is not found, a stale page gets 409 and changes nothing, a responsible vote
citing only the detector is refused, no finding without quorum, earlier cases only at the
sanction stage."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from appeals.cases import (
    cast_vote,
    notify_student,
    object_to_member,
    open_case,
    open_deliberation,
    record_finding,
    record_sanction,
    respond,
)
from appeals.models import (
    Appeal,
    AppealPanelMember,
    Case,
    CaseEffect,
    CaseObjection,
    CaseRecusal,
    CaseStatement,
    CaseVote,
    Commission,
    CommissionMember,
)
from appeals.queue import PAGE_SIZE, STATE_TITLES, next_parties
from appeals.views import COMMISSION_ROLES
from appeals.workflow import Party, State
from evidence.flags import GroundInput, attach_evidence, flag_suspicion, refer_flag
from evidence.models import EvidenceItem, Flag, FlagGround, Signal
from plugin.kernel.audit import AuditEntry
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Actor, Course, Role
from tests.factories import T0, make_course, make_user
from tests.factories_work import login, make_assignment, person, publish_test_notice, submit

CONFLICT = "Someone else changed this case a moment ago."
NAMES = ("Төраға Сынақұлы", "Хатшы Үлгіқызы", "Мүше Бір", "Мүше Екі", "Мүше Үш", "Мүше Төрт", "Мүше Бес")


@pytest.fixture
def rt(app):
    return app.extensions["adal.runtime"]


def _referred_flag(session, teacher: Actor, submission_id: int) -> tuple[int, int, int]:
    """A flag on the submission with a detector item and a note, referred."""
    flag = flag_suspicion(session, teacher, submission_id, [GroundInput("failed_defence", "Could not explain it")],
                          now=T0)
    ground = session.execute(select(FlagGround).where(FlagGround.flag_id == flag.id)).scalar_one()
    signal = Signal(submission_id=submission_id, kind="detector", source="manual", vendor="GPTZero",
                    product="AI detector", model_version="2026-01-base", score=97, scanned_at=T0, created_by="t",
                    created_at=T0)
    session.add(signal)
    session.flush()
    detector = attach_evidence(session, teacher, ground.id, kind="signal", signal_id=signal.id,
                               description="The detector's score", now=T0)
    note = attach_evidence(session, teacher, ground.id, kind="note", description="Oral questions unanswered", now=T0)
    refer_flag(session, teacher, flag.id, now=T0)
    return flag.id, detector.id, note.id


@pytest.fixture
def world(rt) -> dict:
    """A course with its teacher (also a commission member: recused automatically) and two
    students' referred flags; a commission of seven; another commission with one member."""
    with rt.session() as session:
        course = make_course(session)
        teacher_user, teacher = person(session, course, "teacher-1", "Dana Synthetic", Role.TEACHER)
        _s, student = person(session, course, "student-001", "Аружан Тестова")
        _b, student_b = person(session, course, "student-002", "Bolat Exampleuly")
        publish_test_notice(session)
        assignment = make_assignment(session, course)
        mine = submit(session, student, assignment, content=b"My own synthetic essay about rivers.\n")
        theirs = submit(session, student_b, assignment, content=b"A classmate's synthetic essay.\n")
        flag_id, detector_id, note_id = _referred_flag(session, teacher, mine.id)
        other_flag, _d, other_note = _referred_flag(session, teacher, theirs.id)
        blob = rt.files.put_bytes(b"September essay: short sentences.\n")
        ground_id = session.execute(select(FlagGround.id).where(FlagGround.flag_id == flag_id)).scalar_one()
        file_item = EvidenceItem(ground_id=ground_id, kind="file", description="Her September essay",
                                 sha256=blob.sha256, name="september.txt", added_by="t", added_at=T0)
        session.add(file_item)
        commission = Commission(name="Академиялық адалдық комиссиясы", scope="institution", created_at=T0)
        elsewhere = Commission(name="Faculty commission", scope="faculty", created_at=T0)
        session.add_all([commission, elsewhere])
        session.flush()
        people = []
        for index, name in enumerate(NAMES):
            user = make_user(session, f"commission-{index}", name)
            role = "chair" if index == 0 else "secretary" if index == 1 else "member"
            session.add(CommissionMember(commission_id=commission.id, user_id=user.id, role=role, added_at=T0))
            people.append(Actor.for_user(user, frozenset()))
        session.add(CommissionMember(commission_id=commission.id, user_id=teacher_user.id, role="member",
                                     added_at=T0))
        outsider_user = make_user(session, "faculty-secretary", "Басқа Хатшы")
        session.add(CommissionMember(commission_id=elsewhere.id, user_id=outsider_user.id, role="secretary",
                                     added_at=T0))
        session.commit()
        return {"course": course.id, "teacher": teacher, "student": student, "student_b": student_b,
                "flag": flag_id, "other_flag": other_flag, "detector": detector_id, "note": note_id,
                "other_note": other_note, "file": file_item.id, "commission": commission.id,
                "elsewhere": elsewhere.id, "chair": people[0], "secretary": people[1], "members": people[2:],
                "outsider": Actor.for_user(outsider_user, frozenset({Role.TEACHER}), course_id=course.id)}


def _csrf(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _as(client, actor: Actor) -> str:
    login(client, actor)
    client.get("/?lang=en")
    return _csrf(client)


class Person:
    """A browser-less member: a test client logged in as ``actor`` with its CSRF token."""

    def __init__(self, app, actor: Actor) -> None:
        self.client = app.test_client()
        self.actor = actor
        self.token = _as(self.client, actor)
        self.rt = app.extensions["adal.runtime"]

    def get(self, url: str):
        return self.client.get(url)

    def post(self, url: str, **data):
        return self.client.post(url, data={"csrf_token": self.token, **data})

    def step(self, case_id: int, path: str, version: int | None = None, **data):
        """Post a step's form with the version the page showed (read now, unless given)."""
        if version is None:
            version = _case(self.rt, case_id).version
        return self.post(f"/commission/cases/{case_id}/{path}", expected_version=str(version), **data)


@pytest.fixture
def people(app, rt, world) -> dict:
    found: dict = {key: Person(app, world[key]) for key in ("chair", "secretary", "outsider", "teacher", "student")}
    found["members"] = [Person(app, actor) for actor in world["members"]]
    return found


def _case(rt, case_id: int) -> Case:
    with rt.session() as session:
        found = session.get(Case, case_id)
        session.expunge(found)
        return found


def _state(rt) -> dict:
    """Everything a commission request could change: the case tables and the audit log's length."""
    with rt.session() as session:
        tables = {model.__tablename__: sorted(tuple(row) for row in session.execute(select(model.__table__)).all())
                  for model in (Case, CaseVote, CaseRecusal, CaseObjection)}
        tables["audit"] = session.execute(select(func.count()).select_from(AuditEntry)).scalar()
    return tables


def _open(people, world, flag_key: str = "flag") -> int:
    response = people["secretary"].post(f"/commission/flags/{world[flag_key]}/open",
                                        allegation="Substantial undisclosed AI text", rule="S 7.3",
                                        incident_level="2")
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[-1])


def _accepted(rt, people, world) -> int:
    """A case opened and notified through the pages, accepted by the student (their own pages are
    another blueprint's: the service stands in for them)."""
    case_id = _open(people, world)
    assert people["secretary"].step(case_id, "notify").status_code == 303
    with rt.session() as session:
        case = session.get(Case, case_id)
        respond(session, world["student"], case_id, accept=True, statement="", expected_version=case.version,
                now=now_utc())
        session.commit()
    return case_id


def _deliberating(rt, people, world) -> int:
    case_id = _accepted(rt, people, world)
    assert people["secretary"].step(case_id, "deliberate").status_code == 303
    return case_id


def _vote(person_, case_id: int, world, vote: str = "responsible", cited: tuple[str, ...] = ("note",), **extra):
    return person_.step(case_id, "vote", question="finding", vote=vote, vote_reasons="The defence failed",
                        cited=[str(world[key]) for key in cited], **extra)


def _text(response) -> str:
    """The page with its character references resolved, to compare with messages as written."""
    return html.unescape(response.get_data(as_text=True))


# -- access ---------------------------------------------------------------------------------------------
def test_every_commission_route_admits_commission_members_only(app):
    endpoints = [name for name in app.view_functions if name.startswith("commission.")]
    assert len(endpoints) == 19
    for name in endpoints:
        assert app.view_functions[name].adal_roles == COMMISSION_ROLES, name
    assert all(role not in (Role.STUDENT, Role.TEACHER) for role in COMMISSION_ROLES)


def test_anonymous_and_teachers_and_students_who_are_not_members_get_403(app, rt, world, people):
    case_id = _open(people, world)
    before = _state(rt)
    urls = ("/commission", f"/commission/cases/{case_id}", f"/commission/flags/{world['other_flag']}/open")
    anonymous = app.test_client()
    token = _csrf(anonymous)
    for url in urls:
        assert anonymous.get(url).status_code == 403, url
    assert anonymous.post(f"/commission/cases/{case_id}/notify",
                          data={"csrf_token": token, "expected_version": "1"}).status_code == 403
    for url in urls:  # the case's student
        assert people["student"].get(url).status_code == 403, url
    assert people["student"].step(case_id, "notify").status_code == 403
    # a teacher of the course who is no member (the course's other teacher is a member, recused)
    with rt.session() as session:
        _user, actor = person(session, session.get(Course, world["course"]), "teacher-2", "Erlan Nonmember",
                              Role.TEACHER)
        session.commit()
    outsider_teacher = Person(app, actor)
    for url in urls:
        assert outsider_teacher.get(url).status_code == 403, url
    assert _state(rt) == before


def test_a_case_of_another_commission_is_not_found(app, rt, world, people):
    case_id = _open(people, world)
    before = _state(rt)
    outsider = people["outsider"]
    assert outsider.get("/commission").status_code == 200  # a member of the other commission
    for url in (f"/commission/cases/{case_id}", f"/commission/cases/{case_id}/evidence/{world['file']}",
                "/commission/cases/999999"):
        assert outsider.get(url).status_code == 404, url
    for path in ("notify", "deliberate", "issue", "conflict", "withdraw", "vote", "finding", "sanction", "convene",
                 "appeal-vote", "appeal-decision"):
        assert outsider.step(case_id, path, version=1, question="finding").status_code == 404, path
    assert _state(rt) == before
    queue = _text(outsider.get("/commission"))
    assert _case(rt, case_id).number not in queue


def test_every_post_needs_the_csrf_token(app, rt, world, people):
    case_id = _open(people, world)
    before = _state(rt)
    response = people["secretary"].client.post(f"/commission/cases/{case_id}/notify",
                                                data={"expected_version": "1"})
    assert response.status_code == 400 and "The form expired" in _text(response)
    response = people["secretary"].client.post(f"/commission/flags/{world['other_flag']}/open",
                                                data={"allegation": "a", "rule": "r", "incident_level": "1"})
    assert response.status_code == 400
    assert _state(rt) == before


# -- the queue ------------------------------------------------------------------------------------------
def test_every_state_has_a_title_and_a_next_actor_rule():
    assert set(STATE_TITLES) == set(State)
    assert next_parties(State.REFERRED) == next_parties(State.DECIDED) == (Party.SECRETARY,)
    assert next_parties(State.NOTIFIED) == (Party.STUDENT,)
    assert next_parties(State.DELIBERATION) == (Party.PANEL,)
    assert next_parties(State.ISSUED) == (Party.STUDENT,)  # the student may appeal; the window closes by itself
    assert next_parties(State.APPEALED) == (Party.SECRETARY,)
    assert next_parties(State.APPEAL_REVIEW) == (Party.PANEL,)
    assert all(next_parties(state) == () for state in (State.CLOSED, State.APPEAL_DECIDED, State.NOT_RESPONSIBLE,
                                                         State.WITHDRAWN))


def _bulk_cases(rt, world, count: int, *, state: str = "referred", due: datetime | None = None,
                course_id: int | None = None, commission_key: str = "commission") -> list[int]:
    """Cases written straight to the tables (each on its own flag), for the queue's filters and pages."""
    with rt.session() as session:
        flag = session.get(Flag, world["flag"])
        ids = []
        for _ in range(count):
            extra = Flag(submission_id=flag.submission_id, course_id=course_id or flag.course_id, state="open",
                         created_by="t", created_at=T0)
            session.add(extra)
            session.flush()
            number = f"2026-B{extra.id:05d}"
            row = Case(number=number, commission_id=world[commission_key], flag_id=extra.id,
                       submission_id=flag.submission_id, student_id=world["student"].user_id,
                       course_id=course_id or flag.course_id, state=state, allegation="a", rule="r", opened_at=T0,
                       incident_level=1)
            if state != "referred":
                row.notified_at, row.response_due_at = T0, due or T0 + timedelta(days=7)
            session.add(row)
            session.flush()
            ids.append(row.id)
        session.commit()
    return ids


def test_the_queue_pages_newest_first_without_overlap(app, rt, world, people):
    ids = _bulk_cases(rt, world, PAGE_SIZE + 5)
    secretary = people["secretary"]
    first = _text(secretary.get("/commission"))
    shown = [int(i) for i in re.findall(r'href="/commission/cases/(\d+)"', first)]
    assert shown == sorted(ids, reverse=True)[:PAGE_SIZE]
    assert f"{PAGE_SIZE + 5} cases" in first
    older = re.search(r'href="(/commission\?older=\d+)"', first).group(1)
    second = _text(secretary.get(older))
    rest = [int(i) for i in re.findall(r'href="/commission/cases/(\d+)"', second)]
    assert rest == sorted(ids, reverse=True)[PAGE_SIZE:]
    assert 'rel="next"' not in second
    newer = re.search(r'href="(/commission\?newer=\d+)"', second).group(1)
    back = [int(i) for i in re.findall(r'href="/commission/cases/(\d+)"', _text(secretary.get(newer)))]
    assert back == shown


def test_the_queue_filters_and_marks_overdue_cases(app, rt, world, people):
    now = now_utc()
    late = _bulk_cases(rt, world, 2, state="notified", due=now - timedelta(days=1))
    waiting = _bulk_cases(rt, world, 1, state="notified", due=now + timedelta(days=30))
    fresh = _bulk_cases(rt, world, 3)
    with rt.session() as session:
        other_course = make_course(session, "course-202", "Synthetic Course 202").id
        session.commit()
    elsewhere = _bulk_cases(rt, world, 1, course_id=other_course)
    foreign = _bulk_cases(rt, world, 1, commission_key="elsewhere")
    secretary = people["secretary"]

    def listed(url: str) -> set[int]:
        response = secretary.get(url)
        assert response.status_code == 200, url
        return {int(i) for i in re.findall(r'href="/commission/cases/(\d+)"', _text(response))}

    everything = listed("/commission")
    assert everything == set(late + waiting + fresh + elsewhere)
    assert not everything & set(foreign)
    page = _text(secretary.get("/commission"))
    assert page.count('class="overdue"') == 2 and "2 overdue" in page
    assert listed("/commission?overdue=1") == set(late)
    assert listed("/commission?state=notified") == set(late + waiting)
    assert listed(f"/commission?course={other_course}") == set(elsewhere)
    assert listed(f"/commission?due_by={(now + timedelta(days=2)).date().isoformat()}") == set(late)
    assert listed(f"/commission?due_by={(now + timedelta(days=40)).date().isoformat()}") == set(late + waiting)
    assert "Synthetic Course 202 (1)" in page
    for title in ("Student notified: waiting for the response", "Referred: the student is not yet notified"):
        assert title in page
    assert "the student" in page and "the secretary" in page
    # bad filter values: a message, and the filter left out
    response = secretary.get("/commission?state=decided-by-robot&due_by=31.12.2026")
    assert response.status_code == 400
    assert "Choose a state from the list." in _text(response) and "Give the date as a calendar date." in _text(response)


def test_a_plain_member_sees_the_queue_but_not_the_flags_waiting_for_a_case(app, rt, world, people):
    member = people["members"][0]
    page = _text(member.get("/commission"))
    assert "Referred flags without a case" not in page
    assert member.get(f"/commission/flags/{world['flag']}/open").status_code == 403
    secretary_page = _text(people["secretary"].get("/commission"))
    assert "Referred flags without a case" in secretary_page and "2 flags wait for a case." in secretary_page


# -- opening and the steps -----------------------------------------------------------------------------
def test_opening_a_case_explains_the_incident_levels_and_refuses_bad_input(app, rt, world, people):
    secretary = people["secretary"]
    page = _text(secretary.get(f"/commission/flags/{world['flag']}/open"))
    for text in ("Level 1: low", "Level 2: medium", "Level 3: high", "serious plagiarism",
                 "This is a probabilistic signal from an automated detector, not proof."):
        assert text in page
    before = _state(rt)
    response = secretary.post(f"/commission/flags/{world['flag']}/open", allegation="x", rule="r", incident_level="7")
    assert response.status_code == 400
    assert "Choose the incident level (1, 2 or 3)." in _text(response) and 'href="#incident_level_1"' in _text(response)
    response = secretary.post(f"/commission/flags/{world['flag']}/open", allegation="  ", rule="r", incident_level="1")
    assert response.status_code == 400 and "Write the allegation" in _text(response)
    assert _state(rt) == before
    case_id = _open(people, world)
    case = _case(rt, case_id)
    assert (case.state, case.incident_level, case.allegation) == ("referred", 2, "Substantial undisclosed AI text")
    page = _text(secretary.get(f"/commission/cases/{case_id}"))
    assert f"Case {case.number} is open." in page
    assert "Level 2: medium" in page and "Dana Synthetic" in page and "flagged this work" in page
    # the flag no longer waits, and cannot be opened twice
    assert secretary.get(f"/commission/flags/{world['flag']}/open").status_code == 404


def test_a_contested_case_gets_a_hearing_through_the_page(app, rt, world, people):
    case_id = _open(people, world)
    past = now_utc() - timedelta(days=14)
    with rt.session() as session:  # notified two weeks ago; the student contested
        case = session.get(Case, case_id)
        notify_student(session, world["secretary"], case_id, expected_version=case.version, now=past)
        respond(session, world["student"], case_id, accept=False, statement="I wrote it myself",
                expected_version=case.version, now=past + timedelta(hours=2))
        session.commit()
    secretary = people["secretary"]
    page = _text(secretary.get(f"/commission/cases/{case_id}"))
    assert "The student contested the allegation." in page and "I wrote it myself" in page
    before = _state(rt)
    yesterday = (now_utc() - timedelta(days=1)).date().isoformat()
    response = secretary.step(case_id, "hearing", hearing_date=yesterday, hearing_time="10:00", hearing_place="Room 1")
    assert response.status_code == 400 and "working days after the student received the evidence" in _text(response)
    response = secretary.step(case_id, "hearing", hearing_date="", hearing_time="", hearing_place="Room 1")
    assert response.status_code == 400 and "Give the date and the time of the hearing." in _text(response)
    assert 'href="#hearing_date"' in _text(response)
    assert _state(rt) == before
    when = (now_utc() + timedelta(days=3)).date().isoformat()
    response = secretary.step(case_id, "hearing", hearing_date=when, hearing_time="10:00", hearing_place="Room 214",
                              support_person="Ата-ана")
    assert response.status_code == 303
    case = _case(rt, case_id)
    assert case.state == "hearing_scheduled" and case.hearing_place == "Room 214" and case.support_person == "Ата-ана"
    page = _text(secretary.get(f"/commission/cases/{case_id}"))
    assert "Room 214" in page and "Ата-ана" in page
    # deliberation waits for the hearing
    response = secretary.step(case_id, "deliberate")
    assert response.status_code == 400 and "Deliberation starts after the hearing." in _text(response)
    assert _case(rt, case_id).state == "hearing_scheduled"


def test_the_whole_case_through_the_pages(app, rt, world, people):
    case_id = _accepted(rt, people, world)
    secretary, chair, members = people["secretary"], people["chair"], people["members"]
    case = _case(rt, case_id)
    assert case.state == "accepted" and case.response_due_at is not None
    page = _text(secretary.get(f"/commission/cases/{case_id}"))
    assert "The student accepted the allegation." in page and 'id="deliberate"' in page
    assert 'id="vote_finding_save"' not in page  # no vote before deliberation
    assert secretary.step(case_id, "deliberate").status_code == 303
    # members vote with reasons and cited evidence; the chair too
    for voter in (chair, members[0], members[1]):
        assert _vote(voter, case_id, world, cited=("note", "detector")).status_code == 303
    page = _text(members[0].get(f"/commission/cases/{case_id}"))
    assert "3 of the 7 members who may take part have voted; the quorum is 3." in page
    assert "quorum reached" in page
    assert page.count("The defence failed") == 2  # their own vote (list and the form), not the others'
    assert "Мүше Екі</strong>" not in page
    # the finding, by the chair, with reasons
    response = chair.step(case_id, "finding", finding_reasons="On the balance of probabilities: not her own work.")
    assert response.status_code == 303
    case = _case(rt, case_id)
    assert (case.state, case.finding) == ("sanctioning", "responsible")
    page = _text(members[1].get(f"/commission/cases/{case_id}"))
    for name in ("Төраға Сынақұлы</strong>", "Мүше Бір</strong>", "Мүше Екі</strong>"):
        assert name in page  # every vote is shown now
    assert "Earlier cases of this student" in page and "Repeat offences make the sanction harsher (S 7.7)" in page
    assert "Warning; the attribution is corrected" in page and "Disciplinary measures under the charter" in page
    for voter, level in ((chair, "1"), (members[0], "1"), (members[1], "0")):
        assert voter.step(case_id, "vote", question="sanction", level=level,
                          level_reasons="A first offence").status_code == 303
    response = chair.step(case_id, "sanction", sanction_reasons="The task is resubmitted.")
    assert response.status_code == 303
    case = _case(rt, case_id)
    assert (case.state, case.sanction_level, case.sanction_code) == ("decided", 1, "resubmission")
    assert "Earlier cases of this student" not in _text(chair.get(f"/commission/cases/{case_id}"))
    # only the secretary (or chair) issues
    assert members[0].step(case_id, "issue").status_code == 403
    assert secretary.step(case_id, "issue").status_code == 303
    case = _case(rt, case_id)
    assert case.state == "issued" and case.issued_at is not None
    page = _text(secretary.get(f"/commission/cases/{case_id}"))
    assert "Decision issued" in page and "Level 1: The task is resubmitted; points are deducted" in page
    # issued, not final: nothing left to decide; a member may still recuse before a possible appeal
    assert re.findall(r'<form method="post" action="([^"]+)"', page.split("</header>")[1]) == [
        f"/commission/cases/{case_id}/conflict"]
    with rt.session() as session:
        actions = session.execute(select(AuditEntry.action).where(AuditEntry.subject == f"case:{case_id}")
                                  .order_by(AuditEntry.seq)).scalars().all()
    assert actions[0] == "case.opened" and actions[-2:] == ["case.issue", "case.decision_written"]
    assert actions.count("case.vote") == 6


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_pages_render_in_kazakh_and_russian(app, rt, world, people, lang):
    case_id = _deliberating(rt, people, world)
    chair = people["chair"]
    chair.get(f"/?lang={lang}")
    for url in ("/commission", f"/commission/cases/{case_id}", f"/commission/flags/{world['other_flag']}/open"):
        response = chair.get(url)
        assert response.status_code == 200, url
        assert f'<html lang="{lang}">' in _text(response)


def test_a_recused_member_cannot_vote_and_does_not_see_the_evidence(app, rt, world, people):
    case_id = _deliberating(rt, people, world)
    teacher = people["teacher"]  # a member who teaches the course
    page = _text(teacher.get(f"/commission/cases/{case_id}"))
    assert "You are recused from this case: flagged this work (recused automatically)." in page
    assert "Oral questions unanswered" not in page and 'name="vote"' not in page
    assert teacher.get(f"/commission/cases/{case_id}/evidence/{world['file']}").status_code == 404
    before = _state(rt)
    response = _vote(teacher, case_id, world)
    assert response.status_code == 403 and "You are recused from this case and cannot act in it." in _text(response)
    assert _state(rt) == before
    # a member who declares a conflict is recused from then on
    member = people["members"][4]
    assert member.step(case_id, "conflict", conflict_note="The student is my niece").status_code == 303
    response = _vote(member, case_id, world)
    assert response.status_code == 403
    page = _text(people["chair"].get(f"/commission/cases/{case_id}"))
    assert "declared a conflict of interest" in page and "The student is my niece" in page
    assert "0 of the 6 members who may take part have voted" in page


def test_a_stale_page_gets_the_conflict_page_and_nothing_changes(app, rt, world, people):
    case_id = _open(people, world)
    seen = _case(rt, case_id).version
    assert people["chair"].step(case_id, "notify", version=seen).status_code == 303
    before = _state(rt)
    response = people["secretary"].step(case_id, "notify", version=seen)
    assert response.status_code == 409
    page = _text(response)
    assert "Someone else changed this case" in page and CONFLICT in page
    assert f'href="/commission/cases/{case_id}"' in page
    response = people["chair"].step(case_id, "withdraw", version=seen, withdraw_note="A mistake")
    assert response.status_code == 409
    response = people["members"][0].step(case_id, "conflict", version=seen, conflict_note="x")
    assert response.status_code == 409
    assert _state(rt) == before
    # a form without its version is refused too
    response = people["secretary"].post(f"/commission/cases/{case_id}/withdraw", withdraw_note="x")
    assert response.status_code == 400 and "Reload the case page" in _text(response)
    assert _state(rt) == before


def test_a_vote_on_a_stale_page_is_refused(app, rt, world, people):
    case_id = _accepted(rt, people, world)
    seen = _case(rt, case_id).version
    assert people["secretary"].step(case_id, "deliberate", version=seen).status_code == 303
    before = _state(rt)
    response = people["members"][0].step(case_id, "vote", version=seen, question="finding", vote="abstain",
                                         vote_reasons="r")
    assert response.status_code == 409
    assert _state(rt) == before


def test_a_responsible_vote_citing_only_the_detector_is_refused_with_the_message(app, rt, world, people):
    case_id = _deliberating(rt, people, world)
    member = people["members"][0]
    before = _state(rt)
    for cited in (("detector",), ()):
        response = _vote(member, case_id, world, cited=cited)
        assert response.status_code == 400
        page = _text(response)
        assert ("A finding of responsibility must cite at least one piece of evidence that is not a detector "
                "score.") in page
        assert 'href="#vote_finding_responsible"' in page
        assert re.search(r'id="vote_finding_responsible"[^>]*checked', page)  # the form keeps the choice
    # the checkbox list marks the detector item
    assert re.search(rf'for="cited_{world["detector"]}">[^<]*<span class="badge mark">detector signal: not proof',
                     _text(member.get(f"/commission/cases/{case_id}")).replace("\n", ""))
    response = member.step(case_id, "vote", question="finding", vote="responsible", vote_reasons="x",
                           cited=["abc"])
    assert response.status_code == 400 and "Cite evidence of this case only." in _text(response)
    response = _vote(member, case_id, world, cited=("other_note",))  # another case's evidence
    assert response.status_code == 400 and "Cite evidence of this case only." in _text(response)
    assert _state(rt) == before


def test_no_finding_without_quorum(app, rt, world, people):
    case_id = _deliberating(rt, people, world)
    for voter in (people["chair"], people["members"][0]):
        assert _vote(voter, case_id, world).status_code == 303
    before = _state(rt)
    response = people["chair"].step(case_id, "finding", finding_reasons="We are sure")
    assert response.status_code == 400
    assert "No quorum: 2 of the required 3 members have voted." in _text(response)
    assert _state(rt) == before and _case(rt, case_id).state == "deliberation"
    # nor without reasons, nor by a member who is not the chair
    assert _vote(people["members"][1], case_id, world).status_code == 303
    before = _state(rt)
    response = people["chair"].step(case_id, "finding", finding_reasons="  ")
    assert response.status_code == 400 and "Write the commission's reasons for the finding." in _text(response)
    response = people["members"][1].step(case_id, "finding", finding_reasons="We are sure")
    assert response.status_code == 403 and "Only the commission's chair can do this." in _text(response)
    assert _state(rt) == before


def _decided_earlier_case(rt, world) -> str:
    """An earlier case of the same student, decided with a sanction (through the services)."""
    with rt.session() as session:
        course = session.get(Course, world["course"])
        assignment = make_assignment(session, course, title="Earlier essay")
        earlier = submit(session, world["student"], assignment, content=b"An earlier synthetic essay.\n",
                         now=T0 - timedelta(days=200))
        flag_id, _d, note = _referred_flag(session, world["teacher"], earlier.id)
        when = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        case = open_case(session, world["secretary"], flag_id, commission_id=world["commission"], allegation="a",
                         rule="r", incident_level=1, now=when)
        notify_student(session, world["secretary"], case.id, expected_version=case.version, now=when)
        respond(session, world["student"], case.id, accept=True, statement="", expected_version=case.version,
                now=when)
        open_deliberation(session, world["secretary"], case.id, expected_version=case.version, now=when)
        voters = [world["chair"], *world["members"][:2]]
        for voter in voters:
            cast_vote(session, voter, case.id, question="finding", vote="responsible", reasons="r", cited=[note],
                      now=when)
        record_finding(session, world["chair"], case.id, reasons="r", expected_version=case.version, now=when)
        for voter in voters:
            cast_vote(session, voter, case.id, question="sanction", vote="level", sanction_level=0, reasons="r",
                      now=when)
        record_sanction(session, world["chair"], case.id, reasons="r", expected_version=case.version, now=when)
        session.commit()
        return case.number


def test_the_prior_cases_panel_appears_only_at_the_sanction_stage(app, rt, world, people):
    earlier = _decided_earlier_case(rt, world)
    case_id = _deliberating(rt, people, world)
    chair = people["chair"]
    page = _text(chair.get(f"/commission/cases/{case_id}"))
    assert "Earlier cases of this student" not in page and earlier not in page and 'id="prior-cases"' not in page
    for voter in (chair, people["members"][0], people["members"][1]):
        assert _vote(voter, case_id, world).status_code == 303
    assert chair.step(case_id, "finding", finding_reasons="Not her own work").status_code == 303
    page = _text(chair.get(f"/commission/cases/{case_id}"))
    assert 'id="prior-cases"' in page and f"Case {earlier}" in page
    panel = page.split('id="prior-cases"')[1].split("</div>")[0]
    assert "level 0 (Warning; the attribution is corrected)" in panel


def test_the_chair_rules_on_an_objection_and_an_upheld_one_recuses(app, rt, world, people):
    case_id = _open(people, world)
    assert people["secretary"].step(case_id, "notify").status_code == 303
    target = world["members"][0]
    with rt.session() as session:
        objection = object_to_member(session, world["student"], case_id, member_user_id=target.user_id,
                                     grounds="He supervises my sister", now=now_utc())
        session.commit()
        objection_id = objection.id
    page = _text(people["chair"].get(f"/commission/cases/{case_id}"))
    assert "He supervises my sister" in page and f'id="rule_{objection_id}_upheld"' in page
    assert f'id="rule_{objection_id}_upheld"' not in _text(people["secretary"].get(f"/commission/cases/{case_id}"))
    before = _state(rt)
    response = people["secretary"].step(case_id, f"objections/{objection_id}", **{
        f"rule_{objection_id}_ruling": "upheld", f"rule_{objection_id}_reasons": "A real conflict"})
    assert response.status_code == 403
    response = people["chair"].step(case_id, f"objections/{objection_id}", **{
        f"rule_{objection_id}_ruling": "maybe", f"rule_{objection_id}_reasons": "A real conflict"})
    assert response.status_code == 400 and "Choose whether the objection is upheld or rejected." in _text(response)
    assert _state(rt) == before
    response = people["chair"].step(case_id, f"objections/{objection_id}", **{
        f"rule_{objection_id}_ruling": "upheld", f"rule_{objection_id}_reasons": "A real conflict"})
    assert response.status_code == 303
    page = _text(people["members"][0].get(f"/commission/cases/{case_id}"))
    assert "You are recused from this case: the student's objection was upheld." in page


def test_the_chair_withdraws_a_case_with_a_reason(app, rt, world, people):
    case_id = _open(people, world)
    assert people["secretary"].step(case_id, "withdraw", withdraw_note="x").status_code == 403
    response = people["chair"].step(case_id, "withdraw", withdraw_note="  ")
    assert response.status_code == 400 and "Say why the case is withdrawn." in _text(response)
    assert people["chair"].step(case_id, "withdraw", withdraw_note="The flag was a mistake").status_code == 303
    case = _case(rt, case_id)
    assert case.state == "withdrawn" and case.closed_note == "The flag was a mistake"


def test_evidence_files_download_for_members_only(app, rt, world, people):
    case_id = _open(people, world)
    response = people["members"][0].get(f"/commission/cases/{case_id}/evidence/{world['file']}")
    assert response.status_code == 200
    assert response.data == b"September essay: short sentences.\n"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert "attachment" in response.headers["Content-Disposition"]
    assert people["members"][0].get(f"/commission/cases/{case_id}/evidence/{world['note']}").status_code == 404
    assert people["members"][0].get(f"/commission/cases/{case_id}/statements/999").status_code == 404
    assert people["members"][0].get(
        f"/commission/cases/{case_id}/signals/999/report").status_code == 404
    page = _text(people["members"][0].get(f"/commission/cases/{case_id}"))
    assert f'href="/commission/cases/{case_id}/evidence/{world["file"]}"' in page
    assert "This is a probabilistic signal from an automated detector, not proof." in page


# -- the appeal through the pages -------------------------------------------------------------------------
def _issued(rt, people, world, level: str = "2") -> int:
    """Found responsible by the chair and members 0-1 at ``level``, issued now (the window is open)."""
    case_id = _deliberating(rt, people, world)
    deciders = (people["chair"], *people["members"][:2])
    for voter in deciders:
        assert _vote(voter, case_id, world).status_code == 303
    assert people["chair"].step(case_id, "finding", finding_reasons="Not her own work.").status_code == 303
    for voter in deciders:
        assert voter.step(case_id, "vote", question="sanction", level=level,
                          level_reasons="Substantial").status_code == 303
    assert people["chair"].step(case_id, "sanction", sanction_reasons="Substantial.").status_code == 303
    assert people["secretary"].step(case_id, "issue").status_code == 303
    return case_id


def _appeal_state(rt) -> dict:
    with rt.session() as session:
        found = _state(rt)
        for model in (Appeal, AppealPanelMember, CaseStatement, CaseEffect):
            found[model.__tablename__] = sorted(tuple(row) for row in session.execute(select(model.__table__)).all())
        found["files"] = sorted(p.name for p in rt.files.root.rglob("*") if p.is_file())
    return found


def _student_appeal(student: Person, case_id: int, **data):
    version = str(_case(student.rt, case_id).version)
    return student.post(f"/cases/{case_id}/appeal", expected_version=version, **data)


def test_the_appeal_through_the_pages(app, rt, world, people):
    case_id = _issued(rt, people, world)
    student, other = people["student"], Person(app, world["student_b"])
    page = _text(student.get(f"/cases/{case_id}"))
    assert "you may appeal to the commission by" in page and 'href="/cases/' in page and "decision.pdf" in page
    before = _appeal_state(rt)
    # another student cannot appeal someone else's case: 404, as for a case that does not exist
    assert _student_appeal(other, case_id, appeal_grounds="bias", appeal_statement="x").status_code == 404
    # no ground chosen: the error is at the field, and nothing is stored
    response = _student_appeal(student, case_id, appeal_statement="Too heavy.")
    assert response.status_code == 400 and 'id="appeal_grounds-error"' in _text(response)
    assert _appeal_state(rt) == before
    response = _student_appeal(student, case_id, appeal_grounds=["disproportionate", "procedure"],
                               appeal_statement="Level 2 is too heavy for a first case.")
    assert response.status_code == 303
    assert _case(rt, case_id).state == "appealed"
    # the panel: a member who decided the case cannot be drawn; nothing changes
    secretary, members = people["secretary"], people["members"]
    panel = [world["members"][i].user_id for i in (2, 3, 4)]
    before = _appeal_state(rt)
    response = secretary.step(case_id, "convene", panel=[str(world["members"][0].user_id), *map(str, panel[:2])],
                              presiding=str(panel[0]))
    assert response.status_code == 400 and "cannot sit on the appeal panel" in _text(response)
    assert _appeal_state(rt) == before
    assert members[2].step(case_id, "convene", panel=list(map(str, panel)),
                           presiding=str(panel[0])).status_code == 403  # a member is no secretary
    assert secretary.step(case_id, "convene", panel=list(map(str, panel)), presiding=str(panel[0])).status_code == 303
    assert _case(rt, case_id).state == "appeal_review"
    # a decider may not vote on the appeal; nobody may raise the sanction
    assert people["chair"].step(case_id, "appeal-vote", appeal_vote="upheld", appeal_reasons="x").status_code == 403
    before = _appeal_state(rt)
    response = members[2].step(case_id, "appeal-vote", appeal_vote="modified:3", appeal_reasons="Harsher")
    assert response.status_code == 400 and "can only be lowered" in _text(response)
    assert _appeal_state(rt) == before
    for member in members[2:]:
        assert member.step(case_id, "appeal-vote", appeal_vote="modified:1",
                           appeal_reasons="A first case.").status_code == 303
    assert members[3].step(case_id, "appeal-decision", appeal_outcome_reasons="x").status_code == 403
    assert members[2].step(case_id, "appeal-decision",
                           appeal_outcome_reasons="A first case: resubmission.").status_code == 303
    case = _case(rt, case_id)
    assert (case.state, case.sanction_level, case.final_sanction_level) == ("appeal_decided", 2, 1)
    with rt.session() as session:
        kinds = set(session.execute(select(CaseEffect.kind).where(CaseEffect.case_id == case_id)).scalars())
    assert kinds == {"reopen", "deduction"}
    page = _text(student.get(f"/cases/{case_id}"))
    assert "Modified: the sanction is lowered" in page and "This decision is final." in page
    assert "appeal.pdf" in page
    commission_page = _text(secretary.get(f"/commission/cases/{case_id}"))
    assert "The assignment is reopened for the student with a new due date" in commission_page


def test_a_late_appeal_is_refused_with_the_closing_date_and_nothing_stored(app, rt, world, people):
    case_id = _issued(rt, people, world)
    with rt.session() as session:
        case = session.get(Case, case_id)
        case.appeal_due_at = now_utc() - timedelta(minutes=1)
        session.commit()
    before = _appeal_state(rt)
    student = people["student"]
    response = student.client.post(f"/cases/{case_id}/appeal", data={
        "csrf_token": student.token, "expected_version": str(_case(rt, case_id).version),
        "appeal_grounds": "new_evidence", "appeal_statement": "I found my drafts.",
        "appeal_files": (io.BytesIO(b"My drafts from October.\n"), "drafts.txt")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert "The time to appeal ended on" in _text(response)
    assert _appeal_state(rt) == before

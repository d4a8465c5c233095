"""The world of the access matrix (``tests/integration/test_access_matrix.py``): committed data in
which every kind of object exists twice, once on the side the acting roles may reach ("A") and
once on a side they may not ("B"). Synthetic names only.

* Course A: a teacher, a teaching assistant (the course withholds flagging from TAs), a student
  with a submission, a detector signal (with the vendor's report), a referred flag with every kind
  of evidence (a note, a file, the signal, a recorded oral defence, an answered request for drafts
  with a file) and the case on it: notified, objected to, answered with a file, decided and issued
  with its written decision. Besides: a second case of the same student in deliberation (the
  ``cited`` probe), a referred flag waiting for a case (opening a case) and an open flag (the
  evidence form probes).
* Course B: another teacher and student, the same evidence, and a notified case heard by ANOTHER
  commission (its own chair, secretary and member).
* Commission 1 (A's case): a chair, a secretary and five members; none of them teaches.
* An admin account (password + TOTP), an integration with its token, a usage-journal entry, a
  legal hold, and a reminder for every person.

``build_access_world`` returns the actors and ids; the test signs each role in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from appeals.cases import (
    cast_vote,
    issue_decision,
    object_to_member,
    open_deliberation,
    record_finding,
    record_sanction,
    respond,
    rule_on_objection,
)
from appeals.models import Case, CaseObjection, CaseStatement, Commission, CommissionMember, DecisionDocument
from attribution.models import SubmissionFile
from evidence.flags import GroundInput, attach_evidence, flag_suspicion, refer_flag
from evidence.integrations import add_integration
from evidence.models import CoursePolicy, EvidenceItem, FlagGround, Signal
from plugin.admin.accounts import create_admin
from plugin.admin.holds import add_hold
from plugin.admin.journal import JournalInput, add_entry
from plugin.kernel.clock import now_utc
from plugin.kernel.notifications import remind
from plugin.kernel.users import Actor, Role
from tests.factories import make_course, make_user
from tests.factories_work import make_assignment, person, publish_test_notice, submit
from tests.integration.test_student_case_pages import make_case

ADMIN_USER = "matrix-admin"
ADMIN_PASSWORD = "synthetic matrix passphrase 42"  # a test account's, synthetic
COMMISSION_ONE = (("Төраға Матрицаұлы", "chair"), ("Хатшы Матрицақызы", "secretary"), ("Мүше Бірінші", "member"),
                  ("Мүше Екінші", "member"), ("Мүше Үшінші", "member"), ("Мүше Төртінші", "member"),
                  ("Мүше Бесінші", "member"))
COMMISSION_TWO = (("Басқа Төраға", "chair"), ("Басқа Хатшы", "secretary"), ("Басқа Мүше", "member"))
VENDOR_REPORT = b'{"documents": [{"completely_generated_prob": 0.97}]}\n'
STATEMENT_FILE = b"A synthetic statement file sent with the answer.\n"


def _commission(s: Any, name: str, people: tuple[tuple[str, str], ...], prefix: str) -> tuple[int, list[Actor]]:
    commission = Commission(name=name, scope="institution", created_at=now_utc())
    s.add(commission)
    s.flush()
    actors = []
    for index, (display, role) in enumerate(people):
        user = make_user(s, f"{prefix}-{index}", display)
        s.add(CommissionMember(commission_id=commission.id, user_id=user.id, role=role, added_at=now_utc()))
        # Commission roles are never LMS roles: the person launched with none in no course.
        actors.append(Actor.for_user(user, frozenset()))
    s.flush()
    return commission.id, actors


def _signal_of(s: Any, item_id: int) -> int:
    return s.get(EvidenceItem, item_id).signal_id


def _with_report(rt: Any, s: Any, signal_id: int) -> None:
    blob = rt.files.put_bytes(VENDOR_REPORT)
    s.execute(update(Signal).where(Signal.id == signal_id).values(report_sha256=blob.sha256,
                                                                   report_name="gptzero-report.json"))


def _answer_with_file(rt: Any, s: Any, student: Actor, case_id: int) -> int:
    blob = rt.files.put_bytes(STATEMENT_FILE)
    case = s.get(Case, case_id)
    respond(s, student, case_id, accept=True, statement="I accept.", expected_version=case.version, now=now_utc(),
            evidence=[(blob.sha256, "statement.txt")])
    return s.execute(select(CaseStatement.id).where(CaseStatement.case_id == case_id,
                                                    CaseStatement.sha256.is_not(None))).scalars().first()


def build_access_world(app: Flask) -> dict[str, Any]:
    rt = app.extensions["adal.runtime"]
    w: dict[str, Any] = {}
    with app.app_context(), rt.session() as s:
        course_a = make_course(s, "matrix-course-a", "Synthetic Course A")
        course_b = make_course(s, "matrix-course-b", "Synthetic Course B")
        _u, w["teacher"] = person(s, course_a, "matrix-teacher-a", "Дана Мұғалімова", Role.TEACHER)
        _u, w["ta"] = person(s, course_a, "matrix-ta-a", "Тимур Ассистентов", Role.TEACHER, is_ta=True)
        _u, w["student"] = person(s, course_a, "matrix-student-a", "Аружан Студентова")
        _u, w["teacher_b"] = person(s, course_b, "matrix-teacher-b", "Ерлан Басқаұлы", Role.TEACHER)
        _u, w["student_b"] = person(s, course_b, "matrix-student-b", "Бота Басқақызы")
        publish_test_notice(s)
        assignment_a, assignment_b = make_assignment(s, course_a), make_assignment(s, course_b)
        w["submission"] = submit(s, w["student"], assignment_a, content=b"Course A synthetic essay.\n").id
        w["submission_b"] = submit(s, w["student_b"], assignment_b, content=b"Course B synthetic essay.\n").id
        second = submit(s, w["student"], make_assignment(s, course_a, title="Second essay"),
                        content=b"A second synthetic essay.\n").id
        waiting = submit(s, w["student"], make_assignment(s, course_a, title="Third essay"),
                         content=b"A third synthetic essay.\n").id
        w["commission"], (w["chair"], w["secretary"], *w["members"]) = _commission(
            s, "Матрица комиссиясы", COMMISSION_ONE, "matrix-commission-1")
        w["member"] = w["members"][0]
        w["commission_b"], (w["chair_b"], w["secretary_b"], w["member_b"]) = _commission(
            s, "Басқа комиссия", COMMISSION_TWO, "matrix-commission-2")
        # A flag referred but without a case yet (the secretary may open one).
        flag = flag_suspicion(s, w["teacher"], waiting, [GroundInput("failed_defence", "Could not explain it.")],
                              now=now_utc() - timedelta(days=3))
        ground = s.execute(select(FlagGround.id).where(FlagGround.flag_id == flag.id)).scalar_one()
        attach_evidence(s, w["teacher"], ground, kind="note", description="Oral questions unanswered.",
                        now=now_utc() - timedelta(days=3))
        refer_flag(s, w["teacher"], flag.id, now=now_utc() - timedelta(days=3))
        w["waiting_flag"] = flag.id
        # An open flag (evidence may still be attached: the form probes).
        fourth = submit(s, w["student"], make_assignment(s, course_a, title="Fourth essay"),
                        content=b"A fourth synthetic essay.\n").id
        flag = flag_suspicion(s, w["teacher"], fourth, [GroundInput("failed_defence", "Could not explain it.")],
                              now=now_utc() - timedelta(days=1))
        w["open_flag"] = flag.id
        w["open_ground"] = s.execute(select(FlagGround.id).where(FlagGround.flag_id == flag.id)).scalar_one()
        w["assignment"], w["assignment_b"] = assignment_a.id, assignment_b.id
        w["course"], w["course_b"] = course_a.id, course_b.id
        s.commit()

    side_a = {"teacher": w["teacher"], "submission": w["submission"], "secretary": w["secretary"],
              "commission": w["commission"]}
    side_b = {"teacher": w["teacher_b"], "submission": w["submission_b"], "secretary": w["secretary_b"],
              "commission": w["commission_b"]}
    case_a, case_b = make_case(rt, side_a), make_case(rt, side_b)
    case_a2 = make_case(rt, {**side_a, "submission": second})

    with app.app_context(), rt.session() as s:
        # Course A withholds flagging (and the other process steps) from its teaching assistants.
        s.add(CoursePolicy(course_id=w["course"], ta_may_flag=False, updated_by=w["teacher"].label,
                           updated_at=now_utc()))
        for case in (case_a, case_b):
            _with_report(rt, s, _signal_of(s, case["items"]["signal"]))
        # Case A: an objection (rejected by the chair), the answer with a file, the decision, issued.
        objection = object_to_member(s, w["student"], case_a["case"], member_user_id=w["members"][4].user_id,
                                     grounds="A synthetic objection.", now=now_utc())
        rule_on_objection(s, w["chair"], objection.id, uphold=False, reasons="No conflict.", now=now_utc())
        statement = _answer_with_file(rt, s, w["student"], case_a["case"])
        statement_b = _answer_with_file(rt, s, w["student_b"], case_b["case"])
        row = s.get(Case, case_a["case"])
        now = now_utc()
        open_deliberation(s, w["secretary"], row.id, expected_version=row.version, now=now)
        voters = [w["chair"], *w["members"][:3]]
        for member in voters:
            cast_vote(s, member, row.id, question="finding", vote="responsible", reasons="The defence record.",
                      cited=[case_a["items"]["defence"]], now=now)
        record_finding(s, w["chair"], row.id, reasons="The oral defence did not confirm authorship.",
                       expected_version=row.version, now=now)
        for member in voters:
            cast_vote(s, member, row.id, question="sanction", vote="level", sanction_level=1,
                      reasons="A first offence.", now=now)
        record_sanction(s, w["chair"], row.id, reasons="A first offence: resubmit.", expected_version=row.version,
                        now=now)
        issue_decision(s, w["secretary"], row.id, expected_version=row.version, now=now)
        # Case A2: the student accepted, the members deliberate (votes cite evidence).
        row2 = s.get(Case, case_a2["case"])
        respond(s, w["student"], row2.id, accept=True, statement="", expected_version=row2.version, now=now)
        open_deliberation(s, w["secretary"], row2.id, expected_version=row2.version, now=now)
        s.commit()
        assert s.execute(select(DecisionDocument.id).where(DecisionDocument.case_id == row.id)).first() is not None

        w.update(
            case=case_a["case"], case_b=case_b["case"], case_a2=case_a2["case"], flag=case_a["flag"],
            flag_b=case_b["flag"], item=case_a["items"]["file"], item_b=case_b["items"]["file"],
            items=case_a["items"], items_b=case_b["items"], items_a2=case_a2["items"],
            signal=_signal_of(s, case_a["items"]["signal"]), signal_b=_signal_of(s, case_b["items"]["signal"]),
            draft_request=case_a["draft_request"], draft_upload=case_a["draft_upload"],
            draft_request_b=case_b["draft_request"], draft_upload_b=case_b["draft_upload"],
            defence=s.get(EvidenceItem, case_a["items"]["defence"]).defence_id,
            defence_b=s.get(EvidenceItem, case_b["items"]["defence"]).defence_id,
            statement=statement, statement_b=statement_b, objection=objection.id,
            ground=s.execute(select(FlagGround.id).where(FlagGround.flag_id == case_a["flag"])).scalars().first(),
            ground_b=s.execute(select(FlagGround.id).where(FlagGround.flag_id == case_b["flag"])).scalars().first(),
        )
        for key, submission_id in (("file", w["submission"]), ("file_b", w["submission_b"])):
            w[key] = s.execute(select(SubmissionFile.id).where(SubmissionFile.submission_id == submission_id)
                               .order_by(SubmissionFile.id)).scalars().first()
        objection_b = object_to_member(s, w["student_b"], case_b["case"], member_user_id=w["member_b"].user_id,
                                       grounds="A synthetic objection.", now=now_utc())
        w["objection_b"] = objection_b.id

        # A reminder for every person (the "own" reminder of each role).
        w["reminders"] = {}
        for key in ("student", "teacher", "ta", "member", "secretary", "chair", "student_b", "member_b"):
            found = remind(s, user_id=w[key].user_id, key=f"matrix:{key}", message="matrix_test", params={},
                           link="/reminders", now=now_utc())
            s.flush()
            w["reminders"][key] = found.id

        system = Actor.system("test:matrix")
        enrolment = create_admin(s, system, ADMIN_USER, ADMIN_PASSWORD, now=now_utc())
        w["admin_seed"] = enrolment.seed
        issued = add_integration(s, system, "matrix-detector", now=now_utc())
        w["integration_token"], w["integration_secret"] = issued.token, issued.secret
        w["entry"] = add_entry(s, system, JournalInput(
            system_name="Adal", scenario="Synthetic scenario", responsible_unit="Synthetic unit",
            decision_number="M-1", decision_date="2026-09-01"), now=now_utc()).id
        w["hold"] = add_hold(s, system, "case", case_b["case"], reason="Synthetic hold.", now=now_utc()).id
        s.commit()
        assert s.get(CaseObjection, w["objection"]) is not None
    return w

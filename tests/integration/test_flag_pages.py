"""The teacher's evidence pages over the WSGI stack: signals entered by hand and uploaded as a
vendor's JSON, the suspicion flag with its grounds and evidence, the referral rule through the
UI (a flag whose only evidence is a detector signal cannot be referred, whatever its ground
says), the informal close, the course's TA setting, what the student sees, access for every
role and IDOR probes, and the caveat in kk, ru and en wherever a detector score is shown."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from attribution.models import Assignment
from evidence.flag_views import bp as flags_bp
from evidence.models import CoursePolicy, DraftRequest, EvidenceItem, Flag, FlagGround, OralDefence, Signal
from evidence.signals import CAVEAT
from plugin.kernel.audit import AuditEntry
from plugin.kernel.users import Actor, Role
from tests.factories import T0, make_course
from tests.factories_work import login, make_assignment, person, publish_test_notice, submit
from tests.unit.evidence.vendor_samples import as_bytes, copyleaks_report, gptzero_report

SCAN_DAY = "2026-10-01"
CAVEAT_EN = "This is a probabilistic signal from an automated detector, not proof."


@pytest.fixture
def rt(app):
    return app.extensions["adal.runtime"]


@pytest.fixture
def world(rt) -> dict:
    """A course with a teacher, a TA and two students who handed in work; another course with its
    teacher and a student's work. Committed, as launches and submissions would have left them."""
    with rt.session() as session:
        course = make_course(session)
        other = make_course(session, context_id="course-202", title="Synthetic Course 202")
        _t, teacher = person(session, course, "teacher-1", "Dana Synthetic", Role.TEACHER)
        _ta, ta = person(session, course, "ta-1", "Timur Assistentov", Role.TEACHER, is_ta=True)
        _a, student = person(session, course, "student-001", "Аружан Тестова")
        _b, student_b = person(session, course, "student-002", "Bolat Exampleuly")
        _o, outsider = person(session, other, "teacher-9", "Olga Otherova", Role.TEACHER)
        _s, stranger = person(session, other, "student-909", "Sasha Strangerova")
        publish_test_notice(session)
        assignment = make_assignment(session, course)
        elsewhere = make_assignment(session, other, title="Another course's essay")
        mine = submit(session, student, assignment, content=b"My own synthetic essay about rivers.\n")
        theirs = submit(session, student_b, assignment, content=b"A classmate's synthetic essay.\n")
        foreign = submit(session, stranger, elsewhere, content=b"Another course's synthetic essay.\n")
        session.commit()
        return {"course": course.id, "teacher": teacher, "ta": ta, "student": student, "student_b": student_b,
                "outsider": outsider, "stranger": stranger, "assignment": assignment.id,
                "submission": mine.id, "classmate_submission": theirs.id, "foreign_submission": foreign.id}


def _csrf(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _as(client, actor: Actor, lang: str = "en") -> str:
    login(client, actor)
    client.get(f"/?lang={lang}")
    return _csrf(client)


def _blobs(rt) -> list[str]:
    return sorted(rt.files.iter_blobs())


def _state(rt) -> dict:
    """Everything an evidence request could change: the evidence tables, the audit log's length
    and the file store's listing."""
    with rt.session() as session:
        tables = {model.__tablename__: [tuple(row) for row in session.execute(select(model.__table__)).all()]
                  for model in (Signal, Flag, FlagGround, EvidenceItem, CoursePolicy)}
        tables["audit"] = session.execute(select(func.count()).select_from(AuditEntry)).scalar()
    tables["blobs"] = _blobs(rt)
    return tables


def _count(rt, model) -> int:
    with rt.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar()


def _signal(rt, submission_id: int, *, kind: str = "detector", score: float = 91.0, vendor: str = "GPTZero") -> int:
    with rt.session() as session:
        row = Signal(submission_id=submission_id, kind=kind, source="manual", vendor=vendor, product="AI detector",
                     model_version="2026-01-base", score=score, scanned_at=T0, created_by="test", created_at=T0)
        session.add(row)
        session.commit()
        return row.id


def _entry(token: str, **changes: str) -> dict[str, str]:
    form = {"csrf_token": token, "signal_kind": "detector", "signal_vendor": "GPTZero",
            "signal_product": "AI detector", "signal_model_version": "2026-01-base", "signal_score": "91,5",
            "signal_date": SCAN_DAY, "signal_time": "10:30", "signal_report_url": "", "signal_sources": ""}
    form.update(changes)
    return form


def _open_flag(client, token: str, submission_id: int, grounds: dict[str, str]) -> int:
    data: dict = {"csrf_token": token, "ground": list(grounds)}
    data.update({f"desc_{code}": text for code, text in grounds.items()})
    response = client.post(f"/s/{submission_id}/flag", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[-1])


def _ground_ids(rt, flag_id: int) -> list[int]:
    with rt.session() as session:
        return list(session.execute(select(FlagGround.id).where(FlagGround.flag_id == flag_id)
                                    .order_by(FlagGround.id)).scalars())


def _flag_state(rt, flag_id: int) -> str:
    with rt.session() as session:
        return session.get(Flag, flag_id).state


def _evidence(client, token: str, flag_id: int, kind: str, ground_id: int, description: str, **extra):
    data = {"csrf_token": token, "kind": kind, f"ev_{kind}_ground": str(ground_id),
            f"ev_{kind}_description": description, **extra}
    return client.post(f"/flags/{flag_id}/evidence", data=data, content_type="multipart/form-data")


# -- routes and access ------------------------------------------------------------------------------------
def test_every_flag_route_admits_teachers_only(app):
    endpoints = [name for name in app.view_functions if name.startswith("flags.")]
    assert len(endpoints) == 11
    for name in endpoints:
        assert app.view_functions[name].adal_roles == (Role.TEACHER,), name
    assert flags_bp.name == "flags"


def _routes(world: dict, flag_id: int, ground_id: int, item_id: int) -> list[tuple[str, str, dict]]:
    s, f = world["submission"], flag_id
    return [("GET", f"/s/{s}/signals/new", {}),
            ("POST", f"/s/{s}/signals", {"signal_kind": "detector", "signal_vendor": "X", "signal_product": "Y",
                                         "signal_model_version": "1", "signal_score": "50", "signal_date": SCAN_DAY}),
            ("POST", f"/s/{s}/signals/upload", {"report_file": (io.BytesIO(as_bytes(copyleaks_report())), "r.json")}),
            ("GET", f"/s/{s}/flag", {}),
            ("POST", f"/s/{s}/flag", {"ground": "other", "desc_other": "A probe."}),
            ("GET", f"/flags/{f}", {}),
            ("POST", f"/flags/{f}/grounds", {"new_ground": "other", "new_ground_description": "A probe."}),
            ("POST", f"/flags/{f}/evidence", {"kind": "note", "ev_note_ground": str(ground_id),
                                              "ev_note_description": "A probe."}),
            ("GET", f"/flags/{f}/evidence/{item_id}", {}),
            ("POST", f"/flags/{f}/refer", {}),
            ("POST", f"/flags/{f}/close", {"outcome": "withdrawn", "close_note": "A probe."})]


@pytest.fixture
def referable_flag(app, rt, world) -> dict:
    """An open flag on the student's work with a file item (so that every route has something to
    act on, and refer would succeed for someone allowed to)."""
    client = app.test_client()
    token = _as(client, world["teacher"])
    flag_id = _open_flag(client, token, world["submission"], {"level_mismatch": "Unlike the September essays."})
    ground_id = _ground_ids(rt, flag_id)[0]
    response = _evidence(client, token, flag_id, "file", ground_id, "The September essay, for comparison.",
                         ev_file=(io.BytesIO(b"September essay: short sentences.\n"), "september.txt"))
    assert response.status_code == 303
    with rt.session() as session:
        item_id = session.execute(select(EvidenceItem.id).where(EvidenceItem.ground_id == ground_id)).scalar_one()
    return {"flag": flag_id, "ground": ground_id, "item": item_id}


def test_students_get_403_other_courses_404_and_nothing_changes(app, rt, world, referable_flag):
    before = _state(rt)
    for who, expected in (("anonymous", 403), ("student", 403), ("stranger", 403), ("outsider", 404)):
        client = app.test_client()
        token = _csrf(client) if who == "anonymous" else _as(client, world[who])
        for method, url, data in _routes(world, referable_flag["flag"], referable_flag["ground"],
                                         referable_flag["item"]):
            body = {"csrf_token": token, **data} if method == "POST" else None
            response = client.open(url, method=method, data=body,
                                   content_type="multipart/form-data" if method == "POST" else None)
            assert response.status_code == expected, (who, method, url, response.status_code)
    assert _state(rt) == before
    # ids that do not exist look the same as another course's
    client = app.test_client()
    _as(client, world["teacher"])
    for url in ("/flags/999999", "/s/999999/flag", "/s/999999/signals/new",
                f"/s/{world['foreign_submission']}/flag", f"/s/{world['foreign_submission']}/signals/new",
                f"/flags/{referable_flag['flag']}/evidence/999999"):
        assert client.get(url).status_code == 404, url


def test_every_post_needs_the_csrf_token(app, rt, world, referable_flag):
    client = app.test_client()
    _as(client, world["teacher"])
    before = _state(rt)
    for method, url, data in _routes(world, referable_flag["flag"], referable_flag["ground"], referable_flag["item"]):
        if method == "POST":
            response = client.post(url, data=data, content_type="multipart/form-data")
            assert response.status_code == 400, url
            assert "The form expired" in response.get_data(as_text=True)
    response = client.post("/course/flag-policy", data={"ta_may_flag": "0"})
    assert response.status_code == 400
    assert _state(rt) == before


def test_a_ta_may_flag_until_the_teacher_withholds_it(app, rt, world, referable_flag):
    ta = app.test_client()
    ta_token = _as(ta, world["ta"])
    review = ta.get(f"/s/{world['submission']}/review").get_data(as_text=True)
    assert "Flag this submission" in review
    assert ta.get(f"/flags/{referable_flag['flag']}").status_code == 200
    # a TA cannot change the setting
    before = _state(rt)
    assert ta.post("/course/flag-policy", data={"csrf_token": ta_token, "ta_may_flag": "0"}).status_code == 403
    assert _state(rt) == before
    assert "Withhold flagging" not in ta.get(f"/a/{world['assignment']}/submissions").get_data(as_text=True)

    teacher = app.test_client()
    token = _as(teacher, world["teacher"])
    table = teacher.get(f"/a/{world['assignment']}/submissions").get_data(as_text=True)
    assert "Teachers and teaching assistants may flag work" in table
    response = teacher.post("/course/flag-policy", data={"csrf_token": token, "ta_may_flag": "0",
                                                         "back": str(world["assignment"])})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/a/{world['assignment']}/submissions#flag-policy-title")
    table = teacher.get(f"/a/{world['assignment']}/submissions").get_data(as_text=True)
    assert "Only teachers may flag work" in table and "Let teaching assistants flag work" in table
    assert _audit_actions(rt, "course.policy") == 1

    before = _state(rt)
    for method, url, data in _routes(world, referable_flag["flag"], referable_flag["ground"], referable_flag["item"]):
        if "/signals" in url:
            continue  # recording a signal is not flagging: TAs of the course still may
        body = {"csrf_token": ta_token, **data} if method == "POST" else None
        response = ta.open(url, method=method, data=body,
                           content_type="multipart/form-data" if method == "POST" else None)
        assert response.status_code == 403, (method, url, response.status_code)
    assert _state(rt) == before
    review = ta.get(f"/s/{world['submission']}/review").get_data(as_text=True)
    assert "Flag this submission" not in review
    assert "This course does not let teaching assistants flag work." in review
    assert f'href="/flags/{referable_flag["flag"]}"' not in review
    # a bad value changes nothing
    assert teacher.post("/course/flag-policy", data={"csrf_token": token, "ta_may_flag": "maybe"}).status_code == 400
    assert _state(rt) == before


def _audit_actions(rt, action: str) -> int:
    with rt.session() as session:
        return session.execute(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
                               ).scalar()


# -- signals ------------------------------------------------------------------------------------------------
def test_a_teacher_enters_a_detector_signal_and_sees_it_with_the_caveat(app, rt, world):
    client = app.test_client()
    token = _as(client, world["teacher"])
    response = client.post(f"/s/{world['submission']}/signals", data=_entry(token))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/s/{world['submission']}/review#signals-title")
    with rt.session() as session:
        signal = session.execute(select(Signal)).scalar_one()
    assert (signal.kind, signal.source, signal.vendor, signal.score) == ("detector", "manual", "GPTZero", 91.5)
    assert signal.scanned_at == datetime(2026, 10, 1, 5, 30, tzinfo=UTC)  # 10:30 in Almaty
    page = client.get(f"/s/{world['submission']}/review").get_data(as_text=True)
    assert CAVEAT_EN in page
    assert "2026-01-base" in page and "01.10.2026 10:30" in page
    assert "The detector estimates a 91.5 % probability of machine-generated text." in page
    assert 'class="badge band-high"' in page
    assert "AI-written" not in page
    assert f"/signals/{signal.id}/explain" in page
    assert "The signal is recorded." in page


def test_a_low_score_reads_low_unreliable_without_emphasis_and_originality_against_the_threshold(app, rt, world):
    with rt.session() as session:  # a master's course: at most 25 % non-original text (U 5.6)
        session.get(Assignment, world["assignment"]).degree_level = "master"
        session.commit()
    client = app.test_client()
    token = _as(client, world["teacher"])
    assert client.post(f"/s/{world['submission']}/signals",
                       data=_entry(token, signal_score="12", signal_vendor="LowVendor")).status_code == 303
    assert client.post(f"/s/{world['submission']}/signals", data=_entry(
        token, signal_kind="originality", signal_vendor="Antiplagiat", signal_score="30",
        signal_sources="Wikipedia: Rivers | https://kk.wikipedia.org/wiki/River | 22\nA textbook | | 19"),
    ).status_code == 303
    assert client.post(f"/s/{world['submission']}/signals", data=_entry(
        token, signal_kind="originality", signal_vendor="Within", signal_score="25")).status_code == 303
    page = client.get(f"/s/{world['submission']}/review").get_data(as_text=True)
    low = re.search(r'<p class="muted">The detector estimates a 12 %[^<]*Band: low, unreliable\.</p>', page)
    assert low, "a low score is plain text: no badge, no emphasis"
    assert "band-low" not in page
    assert "30 % of the work." in page and "Over the limit of 25 % for Master&#39;s." in page
    assert "25 % of the work." in page and "Within the limit of 25 % for Master&#39;s." in page  # "at most"
    assert "Wikipedia: Rivers" in page and "A textbook" in page
    assert page.count(CAVEAT_EN) == 3


@pytest.mark.parametrize(("changes", "field"), [
    ({"signal_score": "150"}, "signal_score"),
    ({"signal_score": "ninety"}, "signal_score"),
    ({"signal_score": "nan"}, "signal_score"),
    ({"signal_vendor": ""}, "signal_vendor"),
    ({"signal_model_version": "x" * 101}, "signal_model_version"),
    ({"signal_kind": "oracle"}, "signal_kind"),
    ({"signal_date": "01/10/2026"}, "signal_date"),
    ({"signal_date": ""}, "signal_date"),
    ({"signal_date": "2030-01-01"}, "signal_date"),
    ({"signal_report_url": "javascript:alert(1)"}, "signal_report_url"),
    ({"signal_sources": "no separators here"}, "signal_sources"),
    ({"signal_sources": "A source | https://example.test | lots"}, "signal_sources"),
])
def test_a_bad_signal_comes_back_with_the_error_at_its_field_and_nothing_stored(app, rt, world, changes, field):
    client = app.test_client()
    token = _as(client, world["teacher"])
    before = _state(rt)
    response = client.post(f"/s/{world['submission']}/signals", data=_entry(token, **changes))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was saved." in page
    assert f'id="{field}-error"' in page
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page), field
    assert f'href="#{field}"' in page
    assert _state(rt) == before
    # what was typed comes back
    assert 'value="GPTZero"' in page or changes.get("signal_vendor") == ""


def test_vendor_reports_upload_and_a_wrong_field_is_named_with_nothing_stored(app, rt, world):
    client = app.test_client()
    token = _as(client, world["teacher"])
    url = f"/s/{world['submission']}/signals/upload"
    broken = gptzero_report()
    broken["documents"][0]["completely_generated_prob"] = "high"
    before = _state(rt)
    response = client.post(url, data={"csrf_token": token, "report_date": SCAN_DAY,
                                      "report_file": (io.BytesIO(as_bytes(broken)), "gptzero.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "documents[0].completely_generated_prob" in page
    assert 'id="report_file-error"' in page and re.search(r'id="report_file"[^>]*aria-invalid="true"', page)
    assert _state(rt) == before
    for body, problem in ((b"{not json", "not valid JSON"), (b"", "The file is empty."),
                          (as_bytes({"hello": 1}), "")):
        response = client.post(url, data={"csrf_token": token, "report_date": SCAN_DAY,
                                          "report_file": (io.BytesIO(body), "r.json")},
                               content_type="multipart/form-data")
        assert response.status_code == 400 and problem in response.get_data(as_text=True)
    # GPTZero's response has no date: the form asks for it
    raw = as_bytes(gptzero_report())
    response = client.post(url, data={"csrf_token": token, "report_file": (io.BytesIO(raw), "gptzero.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and 'id="report_date-error"' in response.get_data(as_text=True)
    assert response.get_data(as_text=True).count("GPTZero") >= 1
    assert _state(rt) == before

    response = client.post(url, data={"csrf_token": token, "report_date": SCAN_DAY, "report_time": "09:00",
                                      "report_file": (io.BytesIO(raw), "gptzero.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    response = client.post(url, data={"csrf_token": token, "report_vendor": "copyleaks",
                                      "report_file": (io.BytesIO(as_bytes(copyleaks_report())), "cl.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    with rt.session() as session:
        signals = session.execute(select(Signal).order_by(Signal.id)).scalars().all()
    assert [(s.vendor, s.source, s.score) for s in signals] == [("GPTZero", "upload", 74.15),
                                                                ("Copyleaks", "upload", 57.0)]
    assert rt.files.read(hashlib.sha256(raw).hexdigest()) == raw
    assert len(_blobs(rt)) == len(before["blobs"]) + 2
    # the same report again: one signal, a message, nothing new
    again = client.post(url, data={"csrf_token": token, "report_date": SCAN_DAY,
                                   "report_file": (io.BytesIO(raw), "gptzero.json")},
                        content_type="multipart/form-data")
    assert again.status_code == 303 and _count(rt, Signal) == 2
    page = client.get(f"/s/{world['submission']}/review").get_data(as_text=True)
    assert "This report was already recorded" in page
    assert page.count(CAVEAT_EN) == 2 and "2025-01-09-base" in page and "v7.1" in page


# -- flags -------------------------------------------------------------------------------------------------------
def test_opening_a_flag_needs_a_ground_and_a_description_for_each(app, rt, world):
    client = app.test_client()
    token = _as(client, world["teacher"])
    url = f"/s/{world['submission']}/flag"
    page = client.get(url).get_data(as_text=True)
    for title in ("The work does not match the student's level or earlier work", "Drafts are missing",
                  "The oral defence did not confirm authorship", "Matching sources", "A detector signal", "Other"):
        assert title in page
    before = _state(rt)
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 400 and 'id="grounds-error"' in response.get_data(as_text=True)
    assert 'href="#ground_level_mismatch"' in response.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": token, "ground": ["missing_drafts", "other"],
                                      "desc_missing_drafts": "Asked on 1 October; nothing came.", "desc_other": " "})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="desc_other-error"' in page
    assert re.search(r'id="desc_other"[^>]*aria-invalid="true"', page)
    assert "Asked on 1 October; nothing came." in page  # what was typed comes back
    response = client.post(url, data={"csrf_token": token, "ground": "invented", "desc_invented": "x"})
    assert response.status_code == 400
    response = client.post(url, data={"csrf_token": token, "ground": "other", "desc_other": "x" * 5001})
    assert response.status_code == 400 and 'id="desc_other-error"' in response.get_data(as_text=True)
    assert _state(rt) == before

    flag_id = _open_flag(client, token, world["submission"], {"missing_drafts": "Asked on 1 October; nothing came.",
                                                              "matching_sources": "Paragraph 2 is a textbook's."})
    with rt.session() as session:
        grounds = session.execute(select(FlagGround.ground, FlagGround.description)
                                  .where(FlagGround.flag_id == flag_id).order_by(FlagGround.id)).all()
    assert [tuple(g) for g in grounds] == [("missing_drafts", "Asked on 1 October; nothing came."),
                                           ("matching_sources", "Paragraph 2 is a textbook's.")]
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "Add evidence first" in page
    assert re.search(r'<button[^>]*id="refer"[^>]*disabled', page)
    review = client.get(f"/s/{world['submission']}/review").get_data(as_text=True)
    assert f'href="/flags/{flag_id}"' in review and "open" in review


@pytest.mark.parametrize("ground", ["detector_signal", "level_mismatch", "matching_sources", "other"])
def test_a_flag_with_only_detector_evidence_cannot_be_referred_through_the_ui(app, rt, world, ground):
    client = app.test_client()
    token = _as(client, world["teacher"])
    signal_id = _signal(rt, world["submission"], score=99)
    flag_id = _open_flag(client, token, world["submission"],
                         {ground: "Not a detector result: I compared it with the student's earlier work myself."})
    ground_id = _ground_ids(rt, flag_id)[0]
    response = _evidence(client, token, flag_id, "signal", ground_id,
                         "This is my own check, not a detector (the text says so).", ev_signal=str(signal_id))
    assert response.status_code == 303
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "Signal only: needs the teacher's own check." in page
    assert "A detector score is a signal, not proof" in page
    assert re.search(r'<button[^>]*id="refer"[^>]*disabled', page)
    assert CAVEAT_EN in page  # the flag page shows the score, so it shows the caveat
    review = client.get(f"/s/{world['submission']}/review").get_data(as_text=True)
    assert "signal only: needs the teacher's own check" in review

    before = _state(rt)
    forced = client.post(f"/flags/{flag_id}/refer", data={"csrf_token": token})
    assert forced.status_code == 403
    body = forced.get_data(as_text=True)
    assert 'id="refer-error"' in body and "A detector score is a signal, not proof" in body
    assert _state(rt) == before and _flag_state(rt, flag_id) == "open"

    # a note of the teacher's own check makes it referable
    response = _evidence(client, token, flag_id, "note", ground_id, "In class the student could not explain the "
                                                                    "method of paragraph 2.")
    assert response.status_code == 303
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "Signal only" not in page and not re.search(r'<button[^>]*id="refer"[^>]*disabled', page)
    response = client.post(f"/flags/{flag_id}/refer", data={"csrf_token": token})
    assert response.status_code == 303 and _flag_state(rt, flag_id) == "referred"
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "Referred to the integrity commission on" in page and 'id="refer"' not in page
    assert _audit_actions(rt, "flag.referred") == 1
    # a referred flag takes no more evidence and cannot be referred again
    before = _state(rt)
    assert client.post(f"/flags/{flag_id}/refer", data={"csrf_token": token}).status_code == 403
    assert _evidence(client, token, flag_id, "note", ground_id, "Late note.").status_code == 400
    assert _state(rt) == before


def test_an_originality_report_an_oral_defence_or_a_draft_request_is_the_teachers_own_evidence(app, rt, world):
    client = app.test_client()
    token = _as(client, world["teacher"])
    originality = _signal(rt, world["submission"], kind="originality", score=48, vendor="Antiplagiat")
    with rt.session() as session:
        defence = OralDefence(submission_id=world["submission"], scheduled_for=T0 + timedelta(days=30),
                              place="Room 12", scheduled_by="test", scheduled_at=T0, questions="Explain paragraph 2.",
                              answers_summary="Could not.", conclusion="not_confirmed", conclusion_text="Not hers.",
                              recorded_by="test", recorded_at=T0 + timedelta(days=30))
        unrecorded = OralDefence(submission_id=world["submission"], scheduled_for=T0 + timedelta(days=40),
                                 place="Room 13", scheduled_by="test", scheduled_at=T0)
        asked = DraftRequest(submission_id=world["submission"], message="Your drafts, please.",
                             due_at=T0 + timedelta(days=20), requested_by="test", requested_at=T0 + timedelta(days=10))
        session.add_all([defence, unrecorded, asked])
        session.commit()
        ids = {"defence": defence.id, "unrecorded": unrecorded.id, "asked": asked.id}
    flags = []
    for kind, extra in (("signal", {"ev_signal": str(originality)}),
                        ("record", {"ev_record": f"defence:{ids['defence']}"}),
                        ("record", {"ev_record": f"draft_request:{ids['asked']}"})):
        flag_id = _open_flag(client, token, world["submission"], {"other": "Doubts about authorship."})
        page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
        assert f'value="defence:{ids["defence"]}"' in page and f'value="draft_request:{ids["asked"]}"' in page
        assert f'value="defence:{ids["unrecorded"]}"' not in page  # only a kept record is evidence
        response = _evidence(client, token, flag_id, kind, _ground_ids(rt, flag_id)[0], "What it shows.", **extra)
        assert response.status_code == 303, (kind, extra)
        assert client.post(f"/flags/{flag_id}/refer", data={"csrf_token": token}).status_code == 303
        flags.append(flag_id)
    page = client.get(f"/flags/{flags[1]}").get_data(as_text=True)
    assert "Conclusion: authorship not confirmed." in page and "Not hers." in page
    page = client.get(f"/flags/{flags[2]}").get_data(as_text=True)
    assert "Not answered." in page
    # an unrecorded defence is refused by the service: nothing attached
    flag_id = _open_flag(client, token, world["submission"], {"other": "Doubts."})
    before = _state(rt)
    response = _evidence(client, token, flag_id, "record", _ground_ids(rt, flag_id)[0], "x",
                         ev_record=f"defence:{ids['unrecorded']}")
    assert response.status_code == 404 and _state(rt) == before


def test_file_evidence_is_checked_by_content_and_stored_only_when_accepted(app, rt, world):
    client = app.test_client()
    token = _as(client, world["teacher"])
    flag_id = _open_flag(client, token, world["submission"], {"level_mismatch": "Unlike her earlier work."})
    ground_id = _ground_ids(rt, flag_id)[0]
    before = _state(rt)
    for upload, description, field in (
            ((io.BytesIO(b"%PDF-1.7 not really"), "comparison.docx"), "The earlier essay.", "ev_file"),
            ((io.BytesIO(b""), "empty.txt"), "The earlier essay.", "ev_file"),
            ((io.BytesIO(b"\x00\x01\x02binary"), "blob.bin"), "The earlier essay.", "ev_file"),
            ((io.BytesIO(b"A fine text file.\n"), "earlier.txt"), "   ", "ev_file_description"),
            ((io.BytesIO(b""), ""), "The earlier essay.", "ev_file")):
        response = _evidence(client, token, flag_id, "file", ground_id, description, ev_file=upload)
        page = response.get_data(as_text=True)
        assert response.status_code == 400, upload[1]
        assert f'id="{field}-error"' in page, upload[1]
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page), upload[1]
    response = _evidence(client, token, flag_id, "file", "", "The earlier essay.",
                         ev_file=(io.BytesIO(b"A fine text file.\n"), "earlier.txt"))
    assert response.status_code == 400 and 'id="ev_file_ground-error"' in response.get_data(as_text=True)
    assert _state(rt) == before

    content = "Менің қыркүйектегі эссем: қысқа сөйлемдер.\n".encode()
    response = _evidence(client, token, flag_id, "file", ground_id, "Her September essay, for comparison.",
                         ev_file=(io.BytesIO(content), "../../september essay.txt"))
    assert response.status_code == 303
    sha = hashlib.sha256(content).hexdigest()
    assert _blobs(rt) == sorted({*before["blobs"], sha})
    with rt.session() as session:
        item = session.execute(select(EvidenceItem).where(EvidenceItem.ground_id == ground_id)).scalar_one()
    assert (item.kind, item.is_detector, item.sha256, item.name) == ("file", False, sha, "september essay.txt")
    download = client.get(f"/flags/{flag_id}/evidence/{item.id}")
    assert download.status_code == 200 and download.data == content
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert client.post(f"/flags/{flag_id}/refer", data={"csrf_token": token}).status_code == 303


def test_evidence_of_another_submission_or_flag_is_not_found(app, rt, world):
    client = app.test_client()
    token = _as(client, world["teacher"])
    flag_id = _open_flag(client, token, world["submission"], {"other": "Doubts."})
    other_flag = _open_flag(client, token, world["classmate_submission"], {"other": "Other doubts."})
    ground_id, other_ground = _ground_ids(rt, flag_id)[0], _ground_ids(rt, other_flag)[0]
    classmate_signal = _signal(rt, world["classmate_submission"])
    foreign_signal = _signal(rt, world["foreign_submission"])
    response = _evidence(client, token, other_flag, "file", other_ground, "x",
                         ev_file=(io.BytesIO(b"Notes.\n"), "notes.txt"))
    with rt.session() as session:
        other_item = session.execute(select(EvidenceItem.id).where(EvidenceItem.ground_id == other_ground)
                                     ).scalar_one()
    before = _state(rt)
    for signal_id in (classmate_signal, foreign_signal, 999999):
        response = _evidence(client, token, flag_id, "signal", ground_id, "x", ev_signal=str(signal_id))
        assert response.status_code == 404
    response = _evidence(client, token, flag_id, "note", other_ground, "x")  # another flag's ground
    assert response.status_code == 404
    assert client.get(f"/flags/{flag_id}/evidence/{other_item}").status_code == 404
    assert _state(rt) == before
    # the other course's teacher cannot reach any of it
    outsider = app.test_client()
    outsider_token = _as(outsider, world["outsider"])
    assert _evidence(outsider, outsider_token, flag_id, "note", ground_id, "x").status_code == 404
    assert outsider.get(f"/flags/{other_flag}/evidence/{other_item}").status_code == 404
    assert _state(rt) == before


def test_adding_a_ground_and_bad_evidence_forms(app, rt, world):
    client = app.test_client()
    token = _as(client, world["teacher"])
    flag_id = _open_flag(client, token, world["submission"], {"other": "Doubts."})
    before = _state(rt)
    for data, field in (({"new_ground": "", "new_ground_description": "x"}, "new_ground"),
                        ({"new_ground": "made_up", "new_ground_description": "x"}, "new_ground"),
                        ({"new_ground": "missing_drafts", "new_ground_description": " "}, "new_ground_description")):
        response = client.post(f"/flags/{flag_id}/grounds", data={"csrf_token": token, **data})
        assert response.status_code == 400 and f'id="{field}-error"' in response.get_data(as_text=True)
    ground_id = _ground_ids(rt, flag_id)[0]
    _signal(rt, world["submission"])
    before = _state(rt)
    for data, field in (({"ev_signal": ""}, "ev_signal"), ({"ev_signal": "abc"}, "ev_signal")):
        response = _evidence(client, token, flag_id, "signal", ground_id, "x", **data)
        assert response.status_code == 400 and f'id="{field}-error"' in response.get_data(as_text=True)
    with rt.session() as session:
        session.add(DraftRequest(submission_id=world["submission"], message="Drafts, please.",
                                 due_at=T0 + timedelta(days=20), requested_by="test", requested_at=T0))
        session.commit()
    before = _state(rt)
    response = _evidence(client, token, flag_id, "record", ground_id, "x", ev_record="grade:1")
    assert response.status_code == 400 and 'id="ev_record-error"' in response.get_data(as_text=True)
    response = _evidence(client, token, flag_id, "note", ground_id, "")
    assert response.status_code == 400 and 'id="ev_note_description-error"' in response.get_data(as_text=True)
    response = _evidence(client, token, flag_id, "telepathy", ground_id, "x")
    assert response.status_code == 400
    assert _state(rt) == before
    response = client.post(f"/flags/{flag_id}/grounds", data={"csrf_token": token, "new_ground": "missing_drafts",
                                                                "new_ground_description": "Asked; none came."})
    assert response.status_code == 303
    assert len(_ground_ids(rt, flag_id)) == 2
    assert "Asked; none came." in client.get(f"/flags/{flag_id}").get_data(as_text=True)


@pytest.mark.parametrize("outcome", ["closed_informal", "withdrawn"])
def test_closing_a_flag_needs_a_note_and_the_student_never_sees_it(app, rt, world, outcome):
    client = app.test_client()
    token = _as(client, world["teacher"])
    flag_id = _open_flag(client, token, world["submission"], {"other": "The citation of ChatGPT is incomplete."})
    student = app.test_client()
    _as(student, world["student"])
    receipt = student.get(f"/s/{world['submission']}").get_data(as_text=True)
    assert "integrity commission" not in receipt
    before = _state(rt)
    for data, field in (({"outcome": "", "close_note": "x"}, "outcome"),
                        ({"outcome": "expelled", "close_note": "x"}, "outcome"),
                        ({"outcome": outcome, "close_note": "  "}, "close_note")):
        response = client.post(f"/flags/{flag_id}/close", data={"csrf_token": token, **data})
        assert response.status_code == 400 and f'id="{field}-error"' in response.get_data(as_text=True)
    assert _state(rt) == before
    response = client.post(f"/flags/{flag_id}/close", data={"csrf_token": token, "outcome": outcome,
                                                             "close_note": "We talked; she will fix the citation."})
    assert response.status_code == 303 and _flag_state(rt, flag_id) == outcome
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "We talked; she will fix the citation." in page
    if outcome == "closed_informal":
        assert "it is not a sanction" in page
    assert 'id="refer"' not in page and 'id="close_save"' not in page
    receipt = student.get(f"/s/{world['submission']}").get_data(as_text=True)
    assert "integrity commission" not in receipt
    with rt.session() as session:
        flag = session.get(Flag, flag_id)
    assert flag.closed_note == "We talked; she will fix the citation." and flag.referred_at is None


def test_the_student_sees_a_flag_only_once_it_is_referred(app, rt, world):
    teacher = app.test_client()
    token = _as(teacher, world["teacher"])
    flag_id = _open_flag(teacher, token, world["submission"], {"missing_drafts": "No drafts came."})
    ground_id = _ground_ids(rt, flag_id)[0]
    student = app.test_client()
    _as(student, world["student"])
    classmate = app.test_client()
    _as(classmate, world["student_b"])
    assert "referred to the integrity commission" not in student.get(f"/s/{world['submission']}").get_data(
        as_text=True)
    assert _evidence(teacher, token, flag_id, "note", ground_id, "Asked on 1 October.").status_code == 303
    assert teacher.post(f"/flags/{flag_id}/refer", data={"csrf_token": token}).status_code == 303
    receipt = student.get(f"/s/{world['submission']}").get_data(as_text=True)
    assert "your work was referred to the integrity commission" in receipt
    assert "You will be told the allegation, the evidence and your deadline to respond." in receipt
    assert "Asked on 1 October." not in receipt and "No drafts came." not in receipt  # the case comes later
    # the classmate's own receipt says nothing, and the student cannot open the flag
    other = classmate.get(f"/s/{world['classmate_submission']}").get_data(as_text=True)
    assert "integrity commission" not in other
    assert student.get(f"/flags/{flag_id}").status_code == 403


# -- the caveat in every language -------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_caveat_is_on_every_page_that_shows_a_detector_score(app, rt, world, lang):
    signal_id = _signal(rt, world["submission"], score=88)
    client = app.test_client()
    token = _as(client, world["teacher"], lang)
    flag_id = _open_flag(client, token, world["submission"], {"detector_signal": "The detector says 88 %."})
    assert _evidence(client, token, flag_id, "signal", _ground_ids(rt, flag_id)[0], "88 %",
                     ev_signal=str(signal_id)).status_code == 303
    with app.test_request_context(), force_locale(lang):
        caveat = str(CAVEAT)
    if lang != "en":
        assert CAVEAT_EN not in caveat, f"the caveat is not translated into {lang}"
    for url in (f"/s/{world['submission']}/review", f"/flags/{flag_id}", f"/signals/{signal_id}/explain"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in page, url
        assert caveat.replace("'", "&#39;") in page, (lang, url)

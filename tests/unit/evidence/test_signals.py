"""Signals: recording by a teacher, an upload or an integration (idempotent on the scan id, refused
input stores nothing), who sees them, the bands and the wording, the explanation (S 6.4), and the
integrations' tokens and secrets."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from attribution.submissions import FieldErrors
from evidence.integrations import (
    PURPOSE,
    add_integration,
    integration_for_token,
    integration_secret,
    list_integrations,
    revoke_integration,
    signature,
    signature_matches,
)
from evidence.models import Flag, Integration, Signal
from evidence.signals import (
    HIGH_BAND_PERCENT,
    MatchedSource,
    ScanIdConflict,
    SignalInput,
    band,
    describe,
    explain_signal,
    headline,
    originality_status,
    record_signal,
    record_vendor_report,
    signal_view,
    visible_signal,
    visible_signals,
)
from evidence.vendors import VendorFormatError
from plugin.kernel.audit import AuditEntry
from plugin.kernel.crypto import SecretError
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.runtime import runtime_of
from plugin.kernel.settings import set_setting
from plugin.kernel.users import Actor, Role
from tests.factories import T0, make_course
from tests.factories_work import make_assignment, person, submit
from tests.unit.evidence.vendor_samples import as_bytes, copyleaks_report, gptzero_report

NOW = T0 + timedelta(days=3)
DETECTOR = SignalInput(kind="detector", vendor="GPTZero", product="GPTZero AI detector",
                       model_version="2025-01-09-base", score=74.0, scanned_at=T0 + timedelta(days=2))
ORIGINALITY = SignalInput(kind="originality", vendor="Antiplagiat", product="Similarity check",
                          model_version="4.2", score=31.5, scanned_at=T0 + timedelta(days=2),
                          matched_sources=(MatchedSource("Synthetic journal article", "https://example.test/a", 20.5),
                                           MatchedSource("An invented textbook", None, 11)))


@pytest.fixture
def world(db_session):
    course = make_course(db_session)
    other = make_course(db_session, context_id="course-202", title="Synthetic Course 202")
    _t, teacher = person(db_session, course, "teacher-1", "Dana Synthetic", Role.TEACHER)
    _ta, ta = person(db_session, course, "ta-1", "Timur Assistentov", Role.TEACHER, is_ta=True)
    _s, student = person(db_session, course, "student-001", "Аружан Тестова")
    _b, classmate = person(db_session, course, "student-002", "Bolat Exampleuly")
    _o, outsider = person(db_session, other, "teacher-9", "Olga Otherova", Role.TEACHER)
    assignment = make_assignment(db_session, course)
    submission = submit(db_session, student, assignment)
    return {"session": db_session, "teacher": teacher, "ta": ta, "student": student, "classmate": classmate,
            "outsider": outsider, "assignment": assignment, "submission": submission}


def _counts(session) -> tuple[int, int]:
    return (session.execute(select(func.count()).select_from(Signal)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def _integration(session, name: str = "Synthetic detector") -> Integration:
    return add_integration(session, Actor.system("test"), name, now=T0).integration


# -- recording -----------------------------------------------------------------------------------------
def test_a_teacher_records_a_detector_score_and_it_is_audited(world):
    session = world["session"]
    signal, created = record_signal(session, world["teacher"], world["submission"].id, DETECTOR, now=NOW)
    assert created and signal.id is not None
    stored = session.get(Signal, signal.id)
    assert (stored.kind, stored.source, stored.vendor, stored.model_version, stored.score) == (
        "detector", "manual", "GPTZero", "2025-01-09-base", 74.0)
    assert stored.scanned_at == DETECTOR.scanned_at and stored.created_by == world["teacher"].label
    entry = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    assert entry.action == "signal.recorded" and entry.subject == f"signal:{signal.id}"
    payload = json.loads(entry.payload)
    assert payload["submission"] == world["submission"].id and payload["score"] == 74.0
    assert payload["source"] == "manual"


def test_a_teaching_assistant_may_record_a_signal(world):
    _signal, created = record_signal(world["session"], world["ta"], world["submission"].id, DETECTOR, now=NOW)
    assert created


def test_an_originality_report_keeps_its_matched_sources(world):
    signal, _ = record_signal(world["session"], world["teacher"], world["submission"].id, ORIGINALITY, now=NOW)
    assert json.loads(signal.matched_sources) == [
        {"title": "Synthetic journal article", "url": "https://example.test/a", "percent": 20.5},
        {"title": "An invented textbook", "url": None, "percent": 11.0}]


@pytest.mark.parametrize("who", ["outsider", "student", "classmate"])
def test_nobody_but_a_teacher_of_the_course_records_a_signal(world, who):
    session = world["session"]
    before = _counts(session)
    with pytest.raises(NotFound):
        record_signal(session, world[who], world["submission"].id, DETECTOR, now=NOW)
    with pytest.raises(NotFound):
        record_signal(session, world["teacher"], 10**9, DETECTOR, now=NOW)
    assert _counts(session) == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"kind": "ai"}, "kind"),
    ({"score": -0.01}, "score"),
    ({"score": 100.01}, "score"),
    ({"score": math.nan}, "score"),
    ({"score": math.inf}, "score"),
    ({"score": True}, "score"),
    ({"score": "74"}, "score"),
    ({"vendor": ""}, "vendor"),
    ({"vendor": "   "}, "vendor"),
    ({"product": "x" * 101}, "product"),
    ({"model_version": "\x1b[31mv1"}, "model_version"),
    ({"scanned_at": datetime(2026, 9, 3)}, "scanned_at"),  # noqa: DTZ001  (naive on purpose)
    ({"scanned_at": NOW + timedelta(minutes=6)}, "scanned_at"),
    ({"report_url": "javascript:alert(1)"}, "report_url"),
    ({"report_url": "ftp://example.test/report.pdf"}, "report_url"),
    ({"report_sha256": "a" * 64}, "report"),
    ({"report_sha256": "a" * 64, "report_name": "report.json"}, "report"),  # not in the store
    ({"report_sha256": "A" * 64, "report_name": "report.json"}, "report"),
    ({"matched_sources": (MatchedSource("A source", None, 10),)}, "matched_sources"),  # a detector has none
])
def test_refused_input_names_the_field_and_stores_nothing(world, changes, field):
    session = world["session"]
    before = _counts(session)
    with pytest.raises(FieldErrors) as caught:
        record_signal(session, world["teacher"], world["submission"].id, replace(DETECTOR, **changes), now=NOW)
    assert field in caught.value.errors and isinstance(caught.value, InvalidInput)
    assert _counts(session) == before


@pytest.mark.parametrize("source", [
    MatchedSource("", None, 10), MatchedSource("Title", "javascript:x", 10), MatchedSource("Title", None, 100.5),
    MatchedSource("Title", None, math.nan)])
def test_a_bad_matched_source_is_refused(world, source):
    with pytest.raises(FieldErrors) as caught:
        record_signal(world["session"], world["teacher"], world["submission"].id,
                      replace(ORIGINALITY, matched_sources=(source,)), now=NOW)
    assert set(caught.value.errors) == {"matched_sources"}


def test_the_scan_id_makes_recording_idempotent(world):
    session = world["session"]
    first, created = record_signal(session, world["teacher"], world["submission"].id, DETECTOR, now=NOW,
                                   vendor_scan_id="scan-001")
    before = _counts(session)
    again, created_again = record_signal(session, world["teacher"], world["submission"].id,
                                         replace(DETECTOR, score=12.0), now=NOW, vendor_scan_id="scan-001")
    assert created and not created_again and again.id == first.id and again.score == 74.0
    assert _counts(session) == before  # no row, no audit entry


def test_an_integration_is_idempotent_per_integration_and_refuses_a_scan_id_of_another_submission(world):
    session = world["session"]
    integration, other = _integration(session), _integration(session, "Second detector")
    system = Actor(label="integration:test")
    first, created = record_signal(session, system, world["submission"].id, DETECTOR, now=NOW, source="api",
                                   integration=integration, vendor_scan_id="scan-7")
    again, created_again = record_signal(session, system, world["submission"].id, DETECTOR, now=NOW, source="api",
                                         integration=integration, vendor_scan_id="scan-7")
    assert created and not created_again and again.id == first.id
    # Another integration's scan ids are its own.
    third, created_third = record_signal(session, system, world["submission"].id, DETECTOR, now=NOW, source="api",
                                         integration=other, vendor_scan_id="scan-7")
    assert created_third and third.id != first.id
    later = submit(session, world["student"], world["assignment"], now=T0 + timedelta(days=2))
    before = _counts(session)
    with pytest.raises(ScanIdConflict) as caught:
        record_signal(session, system, later.id, DETECTOR, now=NOW, source="api", integration=integration,
                      vendor_scan_id="scan-7")
    assert caught.value.status == 409 and _counts(session) == before


def test_a_revoked_integration_cannot_record(world):
    session = world["session"]
    integration = _integration(session)
    revoke_integration(session, Actor.system("test"), integration.name, now=T0)
    with pytest.raises(ValueError, match="active integration"):
        record_signal(session, Actor(label="integration:x"), world["submission"].id, DETECTOR, now=NOW,
                      source="api", integration=integration, vendor_scan_id="s")


# -- vendor reports ------------------------------------------------------------------------------------
def test_a_gptzero_report_needs_the_date_of_the_scan_and_is_kept_in_the_store(world):
    session = world["session"]
    raw = as_bytes(gptzero_report())
    sha = hashlib.sha256(raw).hexdigest()
    files = runtime_of(session).files
    files.delete(sha)  # the shared test store may hold it from an earlier test
    before = _counts(session)
    with pytest.raises(FieldErrors) as caught:
        record_vendor_report(session, world["teacher"], world["submission"].id, raw, now=NOW, name="gz.json")
    assert set(caught.value.errors) == {"scanned_at"} and "GPTZero" in caught.value.errors["scanned_at"]
    assert _counts(session) == before and not files.exists(sha)
    signal, created = record_vendor_report(session, world["teacher"], world["submission"].id, raw, now=NOW,
                                           name="gz.json", scanned_at=T0 + timedelta(days=2))
    assert created and signal.source == "upload" and signal.score == 74.15
    assert (signal.vendor, signal.product, signal.model_version) == ("GPTZero", "GPTZero AI detector",
                                                                     "2025-01-09-base")
    assert signal.vendor_scan_id == "5b0d7c3e-1f7a-4d61-9d55-0c2f8b7a9e10"
    assert signal.report_sha256 == sha and signal.report_name == "gz.json" and files.read(sha) == raw
    # The same report again is the same signal.
    again, created_again = record_vendor_report(session, world["teacher"], world["submission"].id, raw, now=NOW,
                                                name="gz.json", scanned_at=T0 + timedelta(days=2))
    assert not created_again and again.id == signal.id


def test_a_copyleaks_report_brings_its_own_date(world):
    signal, _ = record_vendor_report(world["session"], world["teacher"], world["submission"].id,
                                     as_bytes(copyleaks_report()), now=datetime.fromisoformat("2026-09-15T00:00Z"))
    assert signal.scanned_at == datetime.fromisoformat("2026-09-14T10:07:58.945951Z")
    assert signal.score == 57.0 and signal.vendor_scan_id == "adal-sub-17-2026"


def test_a_report_adal_cannot_read_stores_nothing(world):
    session = world["session"]
    report = gptzero_report()
    del report["documents"][0]["completely_generated_prob"]
    raw = as_bytes(report)
    before = _counts(session)
    with pytest.raises(VendorFormatError, match=r"^documents\[0\]\.completely_generated_prob: missing$"):
        record_vendor_report(session, world["teacher"], world["submission"].id, raw, now=NOW, scanned_at=NOW)
    assert _counts(session) == before
    assert not runtime_of(session).files.exists(hashlib.sha256(raw).hexdigest())


def test_an_outsider_cannot_upload_a_report(world):
    with pytest.raises(NotFound):
        record_vendor_report(world["session"], world["outsider"], world["submission"].id,
                             as_bytes(copyleaks_report()), now=NOW)


# -- who sees signals ----------------------------------------------------------------------------------
def _refer(session, submission) -> None:
    """A referred flag, as ``refer_flag`` leaves it (its rules are tested in test_flags.py)."""
    session.add(Flag(submission_id=submission.id, course_id=make_course(session).id, state="referred",
                     created_by="test", created_at=NOW, referred_at=NOW))
    session.flush()


def test_the_student_sees_signals_on_their_work_only_once_a_flag_is_referred(world):
    session = world["session"]
    signal, _ = record_signal(session, world["teacher"], world["submission"].id, DETECTOR, now=NOW)
    assert visible_signal(session, world["teacher"], signal.id)[0].id == signal.id
    assert visible_signal(session, world["ta"], signal.id)[0].id == signal.id
    assert [s.id for s in visible_signals(session, world["teacher"], world["submission"].id)] == [signal.id]
    with pytest.raises(NotFound):
        visible_signal(session, world["student"], signal.id)
    assert visible_signals(session, world["student"], world["submission"].id) == []
    session.add(Flag(submission_id=world["submission"].id, course_id=world["assignment"].course_id, state="open",
                     created_by="test", created_at=NOW))
    session.flush()
    with pytest.raises(NotFound):
        visible_signal(session, world["student"], signal.id)
    _refer(session, world["submission"])
    assert visible_signal(session, world["student"], signal.id)[0].id == signal.id
    assert [s.id for s in visible_signals(session, world["student"], world["submission"].id)] == [signal.id]
    for who in ("classmate", "outsider"):
        with pytest.raises(NotFound):
            visible_signal(session, world[who], signal.id)
        with pytest.raises(NotFound):
            visible_signals(session, world[who], world["submission"].id)
    with pytest.raises(NotFound):
        visible_signal(session, world["teacher"], 10**9)


# -- display -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("score", "low", "expected"), [
    (0, 20, "low"), (19.99, 20, "low"), (20, 20, "medium"), (HIGH_BAND_PERCENT - 0.01, 20, "medium"),
    (HIGH_BAND_PERCENT, 20, "high"), (100, 20, "high"),
    (85, 90, "low"), (90, 90, "high"), (0, 0, "medium"), (100, 100, "high"), (99.99, 100, "low"),
])
def test_band(score, low, expected):
    assert band(Signal(kind="detector", score=score), low) == expected


@pytest.mark.parametrize(("score", "threshold", "expected"), [
    (35, 35, "within"), (35.01, 35, "over"), (0, 20, "within"), (20.5, 20, "over"), (100, 100, "within")])
def test_originality_status(score, threshold, expected):
    assert originality_status(Signal(kind="originality", score=score), threshold) == expected


def test_band_and_status_belong_to_their_kinds():
    with pytest.raises(ValueError, match="detector"):
        band(Signal(kind="originality", score=50), 20)
    with pytest.raises(ValueError, match="originality"):
        originality_status(Signal(kind="detector", score=50), 35)


def test_a_detector_score_is_worded_as_an_estimate_never_as_authorship():
    text = headline(Signal(kind="detector", score=74))
    assert text == "The detector estimates a 74 % probability of machine-generated text."
    assert "written" not in text.lower()
    assert headline(Signal(kind="detector", score=12.345)).startswith("The detector estimates a 12.35 %")


def test_describe_marks_low_scores_and_compares_originality_with_the_level():
    low = describe(Signal(id=1, kind="detector", source="api", score=7, matched_sources="[]"), low_band=20,
                   threshold=35, level="bachelor")
    assert (low.band, low.band_title, low.source_title) == ("low", "low, unreliable", "sent by an integration")
    over = describe(Signal(id=2, kind="originality", source="manual", score=26,
                           matched_sources='[{"title": "T", "url": null, "percent": 26}]'),
                    low_band=20, threshold=25, level="master")
    assert (over.band, over.status) == (None, "over")
    assert over.status_text == "Over the limit of 25 % for Master's."
    assert [(s.title, s.percent) for s in over.sources] == [("T", "26")]


def test_signal_view_uses_the_settings_and_the_assignments_level(world):
    session = world["session"]
    signal, _ = record_signal(session, world["teacher"], world["submission"].id, ORIGINALITY, now=NOW)
    assert signal_view(session, signal).status == "within"  # a school's limit: 35 %
    world["assignment"].degree_level = "master"
    session.flush()
    view = signal_view(session, signal)
    assert (view.status, view.threshold) == ("over", 25)
    detector, _ = record_signal(session, world["teacher"], world["submission"].id, replace(DETECTOR, score=25),
                                now=NOW)
    assert signal_view(session, detector).band == "medium"
    set_setting(session, Actor.system("test"), "detector.low_band_percent", 30, now=NOW)
    assert signal_view(session, detector).band == "low"


# -- the explanation -----------------------------------------------------------------------------------
def test_the_explanation_of_an_uploaded_report_gives_factors_confidence_limits_and_thresholds(world):
    session = world["session"]
    world["assignment"].degree_level = "doctoral"
    signal, _ = record_vendor_report(session, world["teacher"], world["submission"].id, as_bytes(gptzero_report()),
                                     now=NOW, scanned_at=T0 + timedelta(days=2))
    explained = explain_signal(session, signal)
    factors = dict(explained.factors)
    assert factors["Probability that the whole document is machine-generated"] == "74.15 %"
    assert factors["Sentences the detector highlighted"] == "2 / 3"
    assert explained.factors_note is None
    assert any("medium" in line for line in explained.confidence)
    assert any("0.742" in line for line in explained.confidence)
    assert "GPTZero" in explained.measures and explained.inputs and len(explained.limits) >= 4
    assert any("20 %" in line and "low and unreliable" in line for line in explained.thresholds)
    assert any("Doctoral" in line and "20 %" in line for line in explained.thresholds)
    assert explained.view.band == "medium"


def test_the_explanation_of_a_typed_score_says_no_report_is_attached(world):
    session = world["session"]
    signal, _ = record_signal(session, world["teacher"], world["submission"].id, DETECTOR, now=NOW)
    explained = explain_signal(session, signal)
    assert explained.factors == [] and "No report from the vendor" in explained.factors_note
    assert explained.confidence == ["The vendor's report gives no confidence level; the score itself is an "
                                    "estimate, not a measurement."]
    original, _ = record_signal(session, world["teacher"], world["submission"].id, ORIGINALITY, now=NOW)
    explained = explain_signal(session, original)
    assert ("Synthetic journal article", "20.5 %") in explained.factors
    assert any("cited" in line for line in explained.limits)


# -- integrations --------------------------------------------------------------------------------------
def test_an_integration_keeps_only_the_tokens_hash_and_a_sealed_secret(world):
    session = world["session"]
    issued = add_integration(session, Actor.system("test"), "  Synthetic GPTZero  ", now=T0)
    row = issued.integration
    assert row.name == "Synthetic GPTZero" and row.active
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in row.secret_sealed and issued.secret not in row.secret_sealed
    assert integration_secret(session, row) == issued.secret.encode()
    with pytest.raises(SecretError):
        runtime_of(session).box.open(row.secret_sealed, "totp_seed")
    assert runtime_of(session).box.open_text(row.secret_sealed, PURPOSE) == issued.secret
    assert integration_for_token(session, issued.token).id == row.id
    assert integration_for_token(session, issued.token + "x") is None
    entry = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    assert entry.action == "integration.added" and issued.secret not in entry.payload
    assert issued.token not in entry.payload


@pytest.mark.parametrize("name", ["", " ", "-leading", "with/slash", "x" * 101, "табыс"])
def test_an_integration_name_is_checked(world, name):
    with pytest.raises(InvalidInput):
        add_integration(world["session"], Actor.system("test"), name, now=T0)


def test_revoking_and_listing(world):
    session = world["session"]
    integration = _integration(session)
    record_signal(session, Actor(label="integration:x"), world["submission"].id, DETECTOR, now=NOW, source="api",
                  integration=integration, vendor_scan_id="s-1")
    with pytest.raises(InvalidInput, match="exists already"):
        add_integration(session, Actor.system("test"), integration.name, now=T0)
    revoke_integration(session, Actor.system("test"), integration.name, now=T0)
    assert not session.get(Integration, integration.id).active
    with pytest.raises(InvalidInput, match="already revoked"):
        revoke_integration(session, Actor.system("test"), integration.name, now=T0)
    with pytest.raises(NotFound):
        revoke_integration(session, Actor.system("test"), "No such one", now=T0)
    listed = {row.name: (row.active, count) for row, count in list_integrations(session)}
    assert listed[integration.name] == (False, 1)


def test_signature_matches_an_independent_openssl_computation():
    # printf '%s' '1767225600.{"submission_id":1}' | openssl dgst -sha256 -hmac 'synthetic-secret'
    expected = "sha256=7bca1951cb9875b34d51f2ae5276a3992fbaa3921284de4486f897288ab28767"
    body = b'{"submission_id":1}'
    assert signature(b"synthetic-secret", "1767225600", body) == expected
    assert signature_matches(b"synthetic-secret", "1767225600", body, expected)
    assert signature_matches(b"synthetic-secret", "1767225600", body, expected.upper().replace("SHA256", "sha256"))
    assert not signature_matches(b"synthetic-secret", "1767225601", body, expected)
    assert not signature_matches(b"synthetic-secret", "1767225600", body + b" ", expected)
    assert not signature_matches(b"other-secret", "1767225600", body, expected)
    assert not signature_matches(b"synthetic-secret", "1767225600", body, "sha256=ÿ")

"""The signal's pages over the WSGI stack: the explanation (S 6.4) and the vendor's report, who
may open them, and the caveat (S 6.11) on every page that shows a detector score, in kk, ru and
en. The last test walks every GET page of the app, so a page added later is checked too."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from evidence.models import EvidenceItem, Flag, FlagGround
from evidence.signals import SignalInput, record_signal, record_vendor_report
from plugin.kernel.users import Actor, Role
from tests.factories import T0, make_course
from tests.factories_work import login, make_assignment, person, submit
from tests.unit.evidence.vendor_samples import as_bytes, gptzero_report

CAVEAT = {
    "en": "This is a probabilistic signal from an automated detector, not proof. It is never the only ground for "
          "an accusation.",
    "kk": "Бұл — автоматты детектордың ықтималдық сипаттағы сигналы, дәлел емес. Ол ешқашан айыптаудың жалғыз "
          "негізі бола алмайды.",
    "ru": "Это вероятностный сигнал автоматического детектора, а не доказательство. Он никогда не может быть "
          "единственным основанием для обвинения.",
}
LOW = {"en": "low, unreliable", "kk": "төмен, сенімсіз", "ru": "низкий, ненадёжный"}
NOW = T0 + timedelta(days=3)
#: Distinctive scores: a page showing one of them shows a detector score.
HIGH_SCORE, LOW_SCORE = 87.65, 7.25


@pytest.fixture
def rt(app: Flask):
    return app.extensions["adal.runtime"]


@pytest.fixture
def world(rt) -> dict[str, Any]:
    with rt.session() as session:
        course = make_course(session)
        other = make_course(session, context_id="course-202", title="Synthetic Course 202")
        _t, teacher = person(session, course, "teacher-1", "Dana Synthetic", Role.TEACHER)
        _s, student = person(session, course, "student-001", "Аружан Тестова")
        _c, classmate = person(session, course, "student-002", "Bolat Exampleuly")
        _o, outsider = person(session, other, "teacher-9", "Olga Otherova", Role.TEACHER)
        assignment = make_assignment(session, course)
        submission = submit(session, student, assignment)
        base = SignalInput(kind="detector", vendor="Synthetic Detector", product="Detector Pro",
                           model_version="sd-2026.09", score=HIGH_SCORE, scanned_at=T0 + timedelta(days=2))
        high, _ = record_signal(session, teacher, submission.id, base, now=NOW, vendor_scan_id="h-1")
        low, _ = record_signal(session, teacher, submission.id, SignalInput(**{**base.__dict__, "score": LOW_SCORE}),
                               now=NOW, vendor_scan_id="l-1")
        report = gptzero_report()
        report["documents"][0]["completely_generated_prob"] = 0.5
        uploaded, _ = record_vendor_report(session, teacher, submission.id, as_bytes(report), now=NOW,
                                           name="gptzero-export.json", scanned_at=T0 + timedelta(days=2))
        session.commit()
        return {"course": course.id, "teacher": teacher, "student": student, "classmate": classmate,
                "outsider": outsider, "assignment": assignment.id, "submission": submission.id, "high": high.id,
                "low": low.id, "uploaded": uploaded.id, "report": as_bytes(report)}


def _refer(rt, world: dict[str, Any]) -> int:
    """A flag referred with a detector signal and a note, as the flag pages leave it."""
    with rt.session() as session:
        flag = Flag(submission_id=world["submission"], course_id=world["course"], state="referred",
                    created_by=world["teacher"].label, created_at=NOW, referred_at=NOW)
        session.add(flag)
        session.flush()
        ground = FlagGround(flag_id=flag.id, ground="detector_signal", description="Synthetic ground.")
        session.add(ground)
        session.flush()
        session.add_all([
            EvidenceItem(ground_id=ground.id, kind="signal", is_detector=True, signal_id=world["high"],
                         description="The detector's estimate.", added_by="test", added_at=NOW),
            EvidenceItem(ground_id=ground.id, kind="note", description="The student could not explain the method.",
                         added_by="test", added_at=NOW)])
        session.commit()
        return flag.id or 0


def _as(client, actor: Actor | None, lang: str) -> None:
    if actor is not None:
        login(client, actor)
    client.get(f"/?lang={lang}")


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_explanation_shows_the_caveat_model_date_and_band(client, world, lang):
    _as(client, world["teacher"], lang)
    page = client.get(f"/signals/{world['low']}/explain")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert CAVEAT[lang] in html
    assert "sd-2026.09" in html and "03.09.2026" in html  # model version; date of the scan, local
    assert LOW[lang] in html and 'class="muted"' in html  # low: said so, and not emphasised
    assert f'lang="{lang}"' in html


def test_the_explanation_of_an_uploaded_report_names_factors_and_confidence(client, world):
    _as(client, world["teacher"], "en")
    html = client.get(f"/signals/{world['uploaded']}/explain").get_data(as_text=True)
    for text in ("What it measures", "Key factors, as the vendor reports them", "Sentences the detector highlighted",
                 "Confidence the vendor reports: medium.", "Detector scores below 20 % are shown as low",
                 "Non-original text allowed for School: at most 35 %.", "Limits", "2025-01-09-base",
                 "The detector estimates a 50 % probability of machine-generated text."):
        assert text in html, text
    assert "written by" not in html.lower()


def test_who_may_open_the_explanation_and_the_report(client, rt, world):
    urls = [f"/signals/{world['uploaded']}/explain", f"/signals/{world['uploaded']}/report"]
    client.get("/?lang=en")
    assert [client.get(url).status_code for url in urls] == [403, 403]  # no launch, no page
    for who in ("student", "classmate", "outsider"):
        _as(client, world[who], "en")
        assert [client.get(url).status_code for url in urls] == [404, 404], who
    _as(client, world["teacher"], "en")
    report = client.get(urls[1])
    assert report.status_code == 200 and report.get_data() == world["report"]
    assert report.mimetype == "application/octet-stream"
    assert report.headers["Content-Disposition"].startswith("attachment;")
    assert "gptzero-export.json" in report.headers["Content-Disposition"]
    assert client.get(f"/signals/{world['high']}/report").status_code == 404  # typed by hand: no file
    assert client.get("/signals/999999/explain").status_code == 404
    _refer(rt, world)
    for who, expected in (("student", 200), ("classmate", 404), ("outsider", 404)):
        _as(client, world[who], "en")
        assert [client.get(url).status_code for url in urls] == [expected, expected], who


_KNOWN = ("signal_id", "submission_id", "assignment_id", "flag_id", "student")


def _get_pages(app: Flask, ids: dict[str, list[Any]]) -> list[str]:
    """Every GET page of the app whose arguments are all ids we know, filled in every way."""
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        if not set(rule.arguments) <= set(_KNOWN):
            continue
        combos: list[dict[str, Any]] = [{}]
        for name in sorted(rule.arguments):
            combos = [{**c, name: value} for c in combos for value in ids.get(name, [])]
        for values in combos:
            with app.test_request_context():
                from flask import url_for

                pages.append(url_for(rule.endpoint, **values))
    return sorted(set(pages))


def _shows_detector_score(html: str) -> bool:
    return any(re.search(rf"(?<![\d.,]){whole}[.,]{frac}(?!\d)", html)
               for whole, frac in (("87", "65"), ("7", "25")))


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_every_page_that_shows_a_detector_score_shows_the_caveat(app, client, rt, world, lang):
    flag_id = _refer(rt, world)
    ids = {"signal_id": [world["high"], world["low"]], "submission_id": [world["submission"]],
           "assignment_id": [world["assignment"]], "flag_id": [flag_id], "student": [world["student"].user_id]}
    pages = _get_pages(app, ids)
    assert f"/signals/{world['high']}/explain" in pages
    showing: list[str] = []
    for actor in (world["teacher"], world["student"]):
        with app.test_client() as browser:
            _as(browser, actor, lang)
            for url in pages:
                response = browser.get(url)
                if response.status_code != 200 or response.mimetype != "text/html":
                    continue
                html = response.get_data(as_text=True)
                if _shows_detector_score(html):
                    showing.append(f"{actor.label} {url}")
                    assert CAVEAT[lang] in html, f"{url} as {actor.label} shows a detector score without the caveat"
    # The walk found the pages it is about (it cannot pass by finding nothing).
    assert any(f"/signals/{world['high']}/explain" in page for page in showing)
    assert any(page.startswith(world["student"].label) for page in showing)

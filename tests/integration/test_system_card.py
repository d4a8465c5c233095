"""The public system card (S 6.5) and data-flow disclosure (S 6.6), over the WSGI stack: every
section in kk, ru and en without signing in, the same content as JSON, and the values that come
from the installation (settings, integrations, the database) rather than from the text."""

from __future__ import annotations

import json

import flask
import pytest
from lxml import html as lxml_html

from evidence.integrations import add_integration, revoke_integration
from plugin.admin.system_card import FLOW_PARTS, INSTITUTION_KEYS, SECTIONS
from plugin.kernel.settings import SPECS, SettingSpec, get_setting, set_setting
from plugin.kernel.users import Actor, Role
from plugin.kernel.web import remember_actor
from tests.conftest import TEST_DATABASE_URL
from tests.factories import T0, enrol, make_course, make_user
from tests.work_samples import actor_for, publish_test_notice

ADMIN = Actor.system("test-admin")
LANGS = ("kk", "ru", "en")


def _set(app, key: str, value) -> None:
    with app.extensions["adal.runtime"].session() as session:
        set_setting(session, ADMIN, key, value, now=T0)
        session.commit()


def _get(app, key: str):
    with app.extensions["adal.runtime"].session() as session:
        return get_setting(session, key)


def _page(client, lang: str = "en"):
    response = client.get(f"/system-card?lang={lang}")
    assert response.status_code == 200
    return lxml_html.fromstring(response.text)


def _card(client, lang: str = "en") -> dict:
    response = client.get(f"/system-card.json?lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _text(element) -> str:
    return " ".join(element.text_content().split())


@pytest.mark.parametrize("lang", LANGS)
def test_every_section_is_on_the_public_page_in_each_language(client, lang):
    with client.session_transaction() as session:
        assert "actor" not in session  # nobody signed in
    doc = _page(client, lang)
    assert doc.get("lang") == lang
    assert len(doc.xpath("//main//h1")) == 1
    card = _card(client, lang)
    for key in SECTIONS:
        sections = doc.xpath(f"//main//section[@id='{key}']")
        assert len(sections) == 1, key
        heading = sections[0].xpath("./h2")
        assert len(heading) == 1 and heading[0].get("id") == f"{key}-h", key
        assert sections[0].get("aria-labelledby") == f"{key}-h"
        assert _text(heading[0]) == card[key]["title"] and card[key]["title"], key
        # the table of contents links to it
        assert len(doc.xpath(f"//main//nav//a[@href='#{key}']")) == 1, key
    flow = doc.xpath("//section[@id='data_flow']")[0]
    for part in FLOW_PARTS:
        heading = flow.xpath(f"./section[@id='{part}']/h3")
        assert len(heading) == 1, part
        assert _text(heading[0]) == card["data_flow"][part]["title"], part
    # every list the card promises has content, in this language too
    for key in ("forbidden_uses", "data_types", "quality_measures"):
        assert len(doc.xpath(f"//section[@id='{key}']/ul/li")) == len(card[key]["items"]) >= 4, key
    assert len(doc.xpath("//section[@id='risks']//dt")) == len(card["risks"]["items"]) >= 3
    assert doc.xpath("//section[@id='system']//dd[@id='system-version']")[0].text_content().strip() == \
        card["system"]["version"] != "unknown"


@pytest.mark.parametrize("lang", LANGS)
def test_the_json_has_the_same_keys_and_follows_the_language_asked_for(client, lang):
    card = _card(client, lang)
    assert card["lang"] == lang
    assert set(SECTIONS) <= set(card)
    assert set(FLOW_PARTS) <= set(card["data_flow"])
    assert card["system"]["name"] == "Adal"
    # the ?lang= of the JSON does not depend on what the browser or session said before
    other = "ru" if lang != "ru" else "en"
    with client.session_transaction() as session:
        session["lang"] = other
    assert _card(client, lang)["lang"] == lang


def test_an_unknown_language_is_refused_clearly(client):
    response = client.get("/system-card.json?lang=de")
    assert response.status_code == 400
    assert response.get_json()["error"] == "unknown_language"
    assert "kk" in response.get_json()["message"]


def test_only_get_is_allowed(client):
    assert client.post("/system-card").status_code in (400, 405)  # CSRF or method: nothing is accepted
    assert client.delete("/system-card.json").status_code == 405


def test_the_appeal_window_follows_the_setting(app, client):
    assert _get(app, "appeal.window_working_days") == 10
    doc = _page(client)
    appeal = doc.xpath("//section[@id='appeal']")[0]
    assert appeal.get("data-window") == "10"
    assert "10" in _text(appeal.xpath("./ol/li[1]")[0])
    assert _card(client)["appeal"]["window_working_days"] == 10

    _set(app, "appeal.window_working_days", 15)
    appeal = _page(client).xpath("//section[@id='appeal']")[0]
    assert appeal.get("data-window") == "15"
    first = _text(appeal.xpath("./ol/li[1]")[0])
    assert "15" in first and "10" not in first
    assert _card(client)["appeal"]["window_working_days"] == 15


def test_the_appeal_procedure_lists_every_ground_and_the_rules_of_s_7_12(client):
    from appeals.models import APPEAL_GROUNDS

    doc = _page(client)
    codes = [li.get("data-ground") for li in doc.xpath("//ul[@id='appeal-grounds']/li")]
    assert codes == list(APPEAL_GROUNDS)
    assert all(_text(li) and _text(li) != li.get("data-ground") for li in doc.xpath("//ul[@id='appeal-grounds']/li"))
    card = _card(client)
    assert len(card["appeal"]["when"]) == 2 and len(card["appeal"]["hearing"]) == 4


def test_retention_periods_follow_the_settings(app, client):
    current = _get(app, "retention.days")
    doc = _page(client)
    for category, days in current.items():
        row = doc.xpath(f"//section[@id='periods']//tr[@id='period-{category}']")
        assert len(row) == 1 and row[0].get("data-days") == str(days), category

    _set(app, "retention.days", {**current, "submissions": 400, "cases_sanctioned": 730})
    row = _page(client).xpath("//tr[@id='period-submissions']")[0]
    assert row.get("data-days") == "400" and "400" in _text(row.xpath("./td")[0])
    assert "730" in _text(_page(client).xpath("//tr[@id='period-cases_sanctioned']/td")[0])
    periods = {p["category"]: p["days"] for p in _card(client)["data_flow"]["periods"]["items"]}
    assert periods["submissions"] == 400 and periods["cases_sanctioned"] == 730


def test_other_retention_keys_are_read_whatever_their_shape(client, monkeypatch):
    """Per-category ``retention.*`` keys (days), a map of days, and keys that are not periods."""
    monkeypatch.setitem(SPECS, "retention.oral_defences_days",
                        SettingSpec("retention.oral_defences_days", 200, lambda v: v, "Oral defence records"))
    monkeypatch.setitem(SPECS, "retention.enabled", SettingSpec("retention.enabled", True, lambda v: v, "A switch"))
    monkeypatch.setitem(SPECS, "retention.exports", SettingSpec("retention.exports", {"exports": 7, "note": "x"},
                                                                lambda v: v, "Exports"))
    periods = {p["category"]: p for p in _card(client)["data_flow"]["periods"]["items"]}
    assert periods["oral_defences"]["days"] == 200 and periods["oral_defences"]["label"] == "Oral defence records"
    assert periods["exports"]["days"] == 7
    assert "enabled" not in periods and "note" not in periods
    assert _page(client).xpath("//tr[@id='period-oral_defences']")[0].get("data-days") == "200"


def test_configured_integrations_are_named_and_their_secrets_never_shown(app, client):
    doc = _page(client)
    assert doc.xpath("//section[@id='cross_border']")[0].get("data-transfers") == "no"
    assert not doc.xpath("//ul[@id='integrations']")
    assert _card(client)["data_flow"]["recipients"]["integrations"] == []

    with app.extensions["adal.runtime"].session() as session:
        kept = add_integration(session, ADMIN, "GPTZero school account", now=T0)
        gone = add_integration(session, ADMIN, "Revoked checker", now=T0)
        revoke_integration(session, ADMIN, "Revoked checker", now=T0)
        session.commit()
        stored = [(i.integration.token_hash, i.integration.secret_sealed) for i in (kept, gone)]

    page = client.get("/system-card?lang=en").text
    raw_json = client.get("/system-card.json?lang=en").text
    doc = lxml_html.fromstring(page)
    assert [_text(li) for li in doc.xpath("//ul[@id='integrations']/li")] == ["GPTZero school account"]
    cross = doc.xpath("//section[@id='cross_border']")[0]
    assert cross.get("data-transfers") == "yes" and "GPTZero school account" in _text(cross)
    assert "GPTZero school account" in _text(doc.xpath("//section[@id='sources']")[0])
    card = json.loads(raw_json)
    assert card["data_flow"]["cross_border"]["integrations"] == ["GPTZero school account"]
    assert card["data_flow"]["cross_border"]["transfers"] is True
    for text in (page, raw_json):
        assert "Revoked checker" not in text
        for issued, (token_hash, sealed) in zip((kept, gone), stored, strict=True):
            for secret in (issued.token, issued.secret, token_hash, sealed):
                assert secret not in text


def test_institution_values_read_not_filled_in_until_the_administrator_sets_them(app, client):
    fields = {"system-supplier": "system_card.supplier", "system-institution": "system_card.institution",
              "system-approved_scenario": "system_card.approved_scenario",
              "contact-name": "system_card.responsible_name", "contact-contact": "system_card.responsible_contact"}
    assert set(fields.values()) == set(INSTITUTION_KEYS)
    doc = _page(client)
    for element_id in fields:
        assert len(doc.xpath(f"//dd[@id='{element_id}']/em[contains(@class, 'unfilled')]")) == 1, element_id
    card = _card(client)
    assert card["contact"]["name"] is None and card["system"]["supplier"] is None

    values = {"system_card.supplier": "Synthetic Supplier LLP", "system_card.institution": "Synthetic School No. 7",
              "system_card.approved_scenario": "Order No. 12: grades 8-11, essays only",
              "system_card.responsible_name": "Aigul Testova, deputy director",
              "system_card.responsible_contact": "integrity@school.example.test"}
    for key, value in values.items():
        _set(app, key, value)
    doc = _page(client)
    for element_id, key in fields.items():
        cell = doc.xpath(f"//dd[@id='{element_id}']")[0]
        assert not cell.xpath("./em[contains(@class, 'unfilled')]") and _text(cell) == values[key], element_id
    card = _card(client)
    assert card["contact"] == {**card["contact"], "name": values["system_card.responsible_name"],
                               "contact": values["system_card.responsible_contact"]}
    assert card["system"]["institution"] == values["system_card.institution"]


def test_data_types_follow_the_e_mail_setting_and_storage_names_the_database(app, client):
    before = _card(client)["data_types"]["items"]
    _set(app, "privacy.collect_email", True)
    after = _card(client)["data_types"]["items"]
    assert len(before) == len(after) and sum(a != b for a, b in zip(before, after, strict=True)) == 1
    expected = "PostgreSQL" if TEST_DATABASE_URL else "SQLite"
    assert _page(client).xpath("//section[@id='storage']")[0].get("data-database") == expected
    assert _card(client)["data_flow"]["storage"]["database"] == expected


def test_the_footer_of_every_page_and_the_notice_link_to_the_card(app, client):
    for url, status in (("/", 200), ("/no-such-page", 404), ("/system-card", 200)):
        response = client.get(url)
        assert response.status_code == status
        links = lxml_html.fromstring(response.text).xpath("//footer//a[@href='/system-card']")
        assert len(links) == 1, url
    runtime = app.extensions["adal.runtime"]
    with runtime.session() as session:
        course = make_course(session)
        student = make_user(session)
        enrol(session, student, course)
        publish_test_notice(session)
        session.commit()
        actor = actor_for(student, course)
    with app.test_request_context():
        remember_actor(actor)
        data = dict(flask.session)
    with client.session_transaction() as session:
        session.update(data)
    notice = client.get("/notice")
    assert notice.status_code == 200
    assert lxml_html.fromstring(notice.text).xpath("//main//a[@href='/system-card']")
    assert actor.has(Role.STUDENT)

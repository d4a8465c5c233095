"""The system card (S 6.5) and the data-flow disclosure (S 6.6): a public page, and the same
content as JSON, for anyone who wants to know what Adal is, what it may not be used for, what it
does with whose data, and how to appeal.

What varies between installations is read, never copied into text: the appeal window and the
retention periods from the institution settings, the configured integrations from ``evidence``,
the database kind from the engine, the version from the installed package. What only the
institution can say (its name, the supplier, the responsible person, the approved scenario) comes
from the ``system_card.*`` settings and reads "not yet filled in" until someone fills it in.

It lives in ``plugin.admin`` because it spans every domain (the kernel may not import
``evidence`` or ``appeals``). The card is built once as a plain dict: the page renders it and
``/system-card.json`` returns it, so both always say the same.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlmodel import Session

from appeals.models import APPEAL_GROUNDS
from evidence.models import Integration
from plugin.kernel.i18n import LANGUAGES
from plugin.kernel.settings import SPECS, get_setting
from plugin.kernel.web import db

bp = Blueprint("system_card", __name__)

PRODUCT = "Adal"
PACKAGE = "adal"
#: The sections, in the order the page shows them; the JSON has the same keys.
SECTIONS = ("system", "purpose", "forbidden_uses", "data_types", "quality_measures", "risks", "appeal", "contact",
            "data_flow")
#: The parts of the data-flow disclosure (S 6.6), in order.
FLOW_PARTS = ("categories", "sources", "recipients", "storage", "periods", "cross_border")
#: The settings the institution fills in; each reads "not yet filled in" while empty.
INSTITUTION_KEYS = ("system_card.institution", "system_card.supplier", "system_card.responsible_name",
                    "system_card.responsible_contact", "system_card.approved_scenario")

RETENTION_LABELS = {
    "submissions": _l("Submitted work and its marked copies"),
    "drafts": _l("Drafts"),
    "signals": _l("Detector scores and originality reports"),
    "cases_not_responsible": _l("Cases where the student was found not responsible"),
    "cases_sanctioned": _l("Cases with a sanction"),
    "notices": _l("Notices and acknowledgements"),
    "audit": _l("The audit log"),
}
APPEAL_GROUND_LABELS = {
    "procedure": _l("the procedure was not followed"),
    "new_evidence": _l("new evidence that was not available before"),
    "bias": _l("a commission member was biased or had a conflict of interest"),
    "disproportionate": _l("the sanction is out of proportion to what happened"),
}
DATABASE_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


def package_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def configured_integrations(session: Session) -> list[str]:
    """Names of the active integrations (``adal integration add``), and nothing else of them:
    their tokens and secrets never leave the table."""
    return list(session.scalars(select(Integration.name).where(Integration.active).order_by(Integration.name)))


def _days(days: int) -> str:
    text = ngettext("%(num)d day", "%(num)d days", days)
    if days and days % 365 == 0:
        text += " (" + ngettext("%(num)d year", "%(num)d years", days // 365) + ")"
    return text


def _period_text(category: str, days: int) -> str:
    if days == 0 and category == "cases_not_responsible":
        return _("Deleted once the appeal window has passed")
    if days == 0:
        return _("Not kept: deleted at the next retention run")
    return _days(days)


def retention_periods(session: Session) -> list[dict[str, Any]]:
    """Every retention period the settings define, whatever their shape: a ``retention.*`` key
    holding a map of categories to days, or a ``retention.<category>[_days]`` key holding days.
    Keys of any other shape (a switch, a list) are not periods and are left out."""
    periods: list[dict[str, Any]] = []

    def add(category: str, days: int, label: str) -> None:
        periods.append({"category": category, "label": label, "days": days, "text": _period_text(category, days)})

    for key in sorted(k for k in SPECS if k.startswith("retention.")):
        value = get_setting(session, key)
        if isinstance(value, dict):
            for category, days in value.items():
                if isinstance(days, int) and not isinstance(days, bool):
                    known = RETENTION_LABELS.get(category)
                    add(category, days, str(known) if known else category.replace("_", " "))
        elif isinstance(value, int) and not isinstance(value, bool):
            category = key.removeprefix("retention.").removesuffix("_days")
            add(category, value, str(RETENTION_LABELS.get(category, SPECS[key].help)))
    return periods


def _institution(session: Session) -> dict[str, str | None]:
    values = {}
    for key in INSTITUTION_KEYS:
        value = get_setting(session, key) if key in SPECS else ""
        values[key.removeprefix("system_card.")] = value if isinstance(value, str) and value.strip() else None
    return values


def build_card(session: Session) -> dict[str, Any]:
    """The whole card in the current language, as plain data (``None`` where the institution
    has not filled a value in yet)."""
    given = _institution(session)
    integrations = configured_integrations(session)
    window = int(get_setting(session, "appeal.window_working_days"))
    collect_email = bool(get_setting(session, "privacy.collect_email"))
    dialect = session.get_bind().dialect.name
    listed = ", ".join(integrations)

    data_types = [
        _("From the LMS: the person's name, the LMS's identifier for them, their roles, courses and language."),
        _("E-mail addresses, because the administrator turned this optional field on.") if collect_email
        else _("No e-mail addresses: the administrator has not turned this optional field on."),
        _("Work handed in: files and texts, and the copies Adal marks as AI-made."),
        _("The student's disclosure of AI use: the tools, what they were used for, and the statements."),
        _("Process evidence: drafts asked for and handed in, and records of oral defences."),
        _("Detector scores and originality reports, with the vendor, model version and date."),
        _("Suspicion flags with their grounds, and the commission's case file: statements, votes, decisions, "
          "sanctions and appeals."),
        _("Which version of the notice each person acknowledged, and when."),
        _("The audit log: who changed what, and when."),
    ]
    sources = [
        _("The LMS (Moodle or Canvas) through LTI 1.3: who the person is, their role and course when they open "
          "Adal, and the course's participant list."),
        _("The student: work, disclosures, drafts, statements and appeals."),
        _("The teacher: suspicion flags and their grounds, scores entered by hand, requests for drafts, "
          "oral defence records and grades."),
        _("The commission: decisions, their reasons, sanctions and appeal outcomes."),
        (_("Integrations configured by the administrator post detector and originality results: %(names)s.",
           names=listed) if integrations else _("Integrations: none is configured.")),
    ]
    recipients = [
        _("The LMS gradebook, through LTI Assignment and Grade Services: whether work was handed in, and the "
          "teacher's grade and feedback."),
        _("The teacher of the course: the work handed in and its evidence."),
        _("The commission: the case file of a case referred to it, and nothing else."),
        _("The student: their own work, evidence and case file."),
        (_("Only the integrations the administrator configured: %(names)s. They check work the institution "
           "sends them and post the result back to Adal.", names=listed) if integrations
         else _("No external service: the administrator has configured no integration.")),
    ]
    if integrations:
        cross_border = _("Adal itself sends nothing abroad. The configured integrations (%(names)s) are external "
                         "services: if they are located outside Kazakhstan, the work they check crosses the border. "
                         "The institution's notice and its agreement with each service say where and on what terms.",
                         names=listed)
    else:
        cross_border = _("None. No integration is configured, and Adal sends no data outside the server it "
                         "runs on.")

    card: dict[str, Any] = {
        "lang": str(get_locale()),
        "title": _("System card"),
        "not_filled": _("not yet filled in by the administrator"),
        "system": {
            "title": _("The system"),
            "name": PRODUCT, "version": package_version(),
            "supplier": given["supplier"], "institution": given["institution"],
            "approved_scenario": given["approved_scenario"],
            "labels": {"name": _("Name"), "version": _("Version"), "supplier": _("Supplier"),
                       "institution": _("Educational organisation"),
                       "approved_scenario": _("Approved scenario of use")},
        },
        "purpose": {
            "title": _("Purpose"),
            "paragraphs": [
                _("Adal supports academic integrity when AI is used in education: students disclose how they "
                  "used AI when they hand in work, AI-made files are marked, and suspected violations are "
                  "examined by a commission, with the right to appeal."),
                _("Adal is an auxiliary tool. People take every decision: the teacher raises a suspicion, the "
                  "commission decides, and the student can answer and appeal."),
            ],
        },
        "forbidden_uses": {
            "title": _("Forbidden uses"),
            "items": [
                _("Using a detector score as the sole ground for an accusation. Scores are signals, never proof."),
                _("Covert capture of keystrokes, the screen, the camera or the microphone. Adal has no such "
                  "function, and none may be added around it."),
                _("Automated decisions on findings or sanctions. Only commission members decide, each by their "
                  "own explicit action."),
                _("Sending students' work to external AI models or services, unless the institution configured "
                  "an integration (listed below)."),
                _("Using the data for anything other than academic integrity: advertising, profiling, or ranking "
                  "students or staff."),
            ],
        },
        "data_types": {"title": _("Data processed"), "items": data_types},
        "quality_measures": {
            "title": _("Quality measures"),
            "items": [
                _("Automated tests of every change, against real databases and in a real browser, including "
                  "accessibility checks."),
                _("A hash-chained audit log of every change; the command adal audit verify detects any record "
                  "that was altered or removed."),
                _("Evidence files are stored under their SHA-256 and never overwritten."),
                _("Human review: a teacher raises each flag with stated grounds, a commission with a quorum "
                  "decides, and members with a conflict of interest step aside."),
                _("Every detector score is shown with the vendor, model version, scan date and the warning that "
                  "it is a signal, not proof."),
                _("Monitoring at least twice a year: use, appeals, complaints and incidents, in statistics "
                  "without personal data."),
            ],
        },
        "risks": {
            "title": _("Known risks and how they are reduced"),
            "labels": {"risk": _("Risk"), "mitigation": _("How it is reduced")},
            "items": [
                {"risk": _("AI detectors give false positives: they call human writing machine-made."),
                 "mitigation": _("A score is only a signal; low scores are marked unreliable; a case needs other "
                                 "grounds such as drafts, an oral defence or matching sources.")},
                {"risk": _("Detectors flag people who write in a second language more often."),
                 "mitigation": _("The same rule: never a score alone. Drafts and an oral defence let the student "
                                 "show how the work was made.")},
                {"risk": _("Work in Kazakh and in Russian may be treated unequally."),
                 "mitigation": _("The statistics include a disparity check that compares cases per submission "
                                 "between Kazakh and Russian work, and between courses.")},
                {"risk": _("A commission may decide wrongly."),
                 "mitigation": _("Reasons and evidence are recorded, the student is heard, members with a conflict "
                                 "step aside, and every decision can be appealed.")},
                {"risk": _("Personal data could leak or be kept too long."),
                 "mitigation": _("Only the data needed is collected, access follows each person's role, secrets "
                                 "are encrypted, and expired data is deleted on a schedule.")},
            ],
        },
        "appeal": {
            "title": _("How to appeal"),
            "window_working_days": window,
            "grounds": [{"code": code, "label": str(APPEAL_GROUND_LABELS.get(code, code))} for code in APPEAL_GROUNDS],
            "when": [
                ngettext("The student may appeal within %(num)d working day after the written decision is issued.",
                         "The student may appeal within %(num)d working days after the written decision is "
                         "issued.", window),
                _("Weekends and the institution's public holidays are not counted."),
            ],
            "grounds_intro": _("The appeal is made on the case page in Adal and states its grounds:"),
            "hearing": [
                _("The appeal is heard by commission members who did not take the first decision and have no "
                  "conflict of interest."),
                _("They re-examine the case materials and the reasons for the decision."),
                _("The sanction cannot be increased on appeal: it is upheld, reduced or lifted."),
                _("The outcome is given to the student in writing and kept in the case file."),
            ],
        },
        "contact": {
            "title": _("Responsible person"),
            "name": given["responsible_name"], "contact": given["responsible_contact"],
            "labels": {"name": _("Name and position"), "contact": _("Contact")},
        },
        "data_flow": {
            "title": _("Where your data goes"),
            "categories": {"title": _("Categories of data"), "items": data_types},
            "sources": {"title": _("Where the data comes from"), "items": sources, "integrations": integrations},
            "recipients": {"title": _("Who receives the data"), "items": recipients, "integrations": integrations},
            "storage": {
                "title": _("Where the data is stored"),
                "database": DATABASE_NAMES.get(dialect, dialect),
                "items": [
                    _("On the institution's server that runs Adal, in a %(database)s database.",
                      database=DATABASE_NAMES.get(dialect, dialect)),
                    _("Files are kept in a file store on the same server (or its shared storage), each under its "
                      "SHA-256, never overwritten."),
                    _("Secrets such as integration keys are encrypted."),
                ],
            },
            "periods": {
                "title": _("How long the data is kept"),
                "labels": {"category": _("Category"), "period": _("Period")},
                "items": retention_periods(session),
                "note": _("Open cases and data under a legal hold are kept until the case is closed or the hold is "
                          "lifted. When a period ends, files are deleted and records anonymised; the audit log "
                          "keeps only hashes."),
            },
            "cross_border": {"title": _("Cross-border transfer"), "transfers": bool(integrations),
                             "integrations": integrations, "text": cross_border},
        },
    }
    return card


@bp.get("/system-card")
def page() -> str:
    return render_template("system_card.html", card=build_card(db()), sections=SECTIONS, flow_parts=FLOW_PARTS)


@bp.get("/system-card.json")
def as_json() -> tuple[Response, int]:
    lang = request.args.get("lang")
    if lang is not None and lang not in LANGUAGES:
        return jsonify(error="unknown_language",
                       message=_("Unknown language %(lang)s: use one of %(languages)s.", lang=lang,
                                 languages=", ".join(LANGUAGES))), 400
    with force_locale(lang or str(get_locale())):
        return jsonify(build_card(db())), 200

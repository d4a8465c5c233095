"""Signals about a submission: AI-detector scores and originality (similarity) reports.

A signal is an indicator, never proof (S 2.10б, 3.3ә, 6.11): wherever one is shown it carries the
caveat, its model version and date, and its band; scores below the low band are "low, unreliable"
and get no emphasis. A detector result is never called "AI-written": the detector *estimates a
probability of machine-generated text*. Originality is compared with the threshold of the course's
level (U 5.6) and shown as within or over.

Three ways in, one service: a teacher's manual entry, a teacher's upload of the vendor's JSON, and
the integration API. Services take the session and the actor, check permission, change rows,
audit, never commit.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from attribution.models import Assignment, Submission
from attribution.submissions import FieldErrors, check_drafts_url, degree_level, originality_threshold
from evidence.flags import submission_in_course
from evidence.models import SIGNAL_KINDS, SIGNAL_SOURCES, Flag, Integration, Signal
from evidence.vendors import ParsedReport, VendorFormatError, parse_vendor_report, parse_vendor_value
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.filestore import BlobNotFound, CorruptBlob
from plugin.kernel.runtime import runtime_of
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, Role

#: At or above this a detector score is "high" (GPTZero's own guide reads > 0.8 as very likely);
#: between the low band and this, "medium". Not a setting: it only names a band, it decides nothing.
HIGH_BAND_PERCENT = 80
MAX_LINE = 100
MAX_NAME = 255
MAX_SCAN_ID = 200
MAX_SOURCES = 50
MAX_SOURCE_TITLE = 300
#: A scan "in the future" beyond ordinary clock drift is a typing error or a forged date.
CLOCK_SKEW = timedelta(minutes=5)

CAVEAT = _l("This is a probabilistic signal from an automated detector, not proof. It is never the only ground "
            "for an accusation.")
KIND_TITLES = {"detector": _l("AI detector"), "originality": _l("Originality report")}
SOURCE_TITLES = {"manual": _l("entered by a teacher"), "upload": _l("uploaded vendor report"),
                 "api": _l("sent by an integration")}
BAND_TITLES = {"low": _l("low, unreliable"), "medium": _l("medium"), "high": _l("high")}
LEVEL_TITLES = {"bachelor": _l("Bachelor's"), "master": _l("Master's"), "doctoral": _l("Doctoral"),
                "school": _l("School"), "college": _l("College (TVET)")}


class ScanIdConflict(InvalidInput):
    """The integration already sent this scan id for another submission."""

    status = 409


# -- input -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MatchedSource:
    title: str
    url: str | None
    percent: float


@dataclass(frozen=True)
class SignalInput:
    """One signal as entered or received. ``score`` is a percentage: for a detector, the
    probability the vendor gives that the text is machine-generated; for originality, the share
    of non-original text (copied and AI content, U 5.6)."""

    kind: str
    vendor: str
    product: str
    model_version: str
    score: float
    scanned_at: datetime
    report_sha256: str | None = None
    report_name: str | None = None
    report_url: str | None = None
    matched_sources: tuple[MatchedSource, ...] = ()


def _line(value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text if text and len(text) <= limit and text.isprintable() else None


def validate_signal(data: SignalInput, *, now: datetime) -> dict[str, str]:
    """Field name → translated problem; empty when ``data`` can be stored."""
    errors: dict[str, str] = {}
    if data.kind not in SIGNAL_KINDS:
        errors["kind"] = _("Choose detector or originality.")
    for name, value in (("vendor", data.vendor), ("product", data.product), ("model_version", data.model_version)):
        if _line(value, MAX_LINE) is None:
            errors[name] = _("Give one line of at most %(n)d characters.", n=MAX_LINE)
    score = data.score
    if (isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score)
            or not 0 <= score <= 100):
        errors["score"] = _("Give a percentage from 0 to 100.")
    if not isinstance(data.scanned_at, datetime) or data.scanned_at.tzinfo is None:
        errors["scanned_at"] = _("Give the date and time of the scan with its time zone.")
    elif data.scanned_at > now + CLOCK_SKEW:
        errors["scanned_at"] = _("The date of the scan is in the future.")
    if (data.report_sha256 is None) != (data.report_name is None):
        errors["report"] = _("A report file needs both its fingerprint and its name.")
    elif data.report_sha256 is not None and (
            not isinstance(data.report_sha256, str) or len(data.report_sha256) != 64
            or any(c not in "0123456789abcdef" for c in data.report_sha256)
            or _line(data.report_name, MAX_NAME) is None):
        errors["report"] = _("The report file is not valid.")
    if data.report_url is not None:
        try:
            if not isinstance(data.report_url, str) or check_drafts_url(data.report_url) is None:
                raise ValueError(data.report_url)
        except ValueError:
            errors["report_url"] = _("Give an address starting with http:// or https://.")
    if data.matched_sources:
        problem = _sources_problem(data)
        if problem:
            errors["matched_sources"] = problem
    return errors


def _sources_problem(data: SignalInput) -> str | None:
    if data.kind != "originality":
        return _("Only an originality report lists matched sources.")
    if len(data.matched_sources) > MAX_SOURCES:
        return _("At most %(n)d matched sources.", n=MAX_SOURCES)
    for source in data.matched_sources:
        if _line(source.title, MAX_SOURCE_TITLE) is None:
            return _("Each matched source needs a title of at most %(n)d characters.", n=MAX_SOURCE_TITLE)
        if source.url is not None:
            try:
                if not isinstance(source.url, str) or check_drafts_url(source.url) is None:
                    raise ValueError(source.url)
            except ValueError:
                return _("A matched source's address must start with http:// or https://.")
        percent = source.percent
        if isinstance(percent, bool) or not isinstance(percent, int | float) or not math.isfinite(percent) or not (
                0 <= percent <= 100):
            return _("Each matched source needs a percentage from 0 to 100.")
    return None


def _check_scan_id(vendor_scan_id: str | None) -> str | None:
    if vendor_scan_id is None:
        return None
    clean = _line(vendor_scan_id, MAX_SCAN_ID)
    if clean is None or clean != vendor_scan_id:
        raise FieldErrors({"vendor_scan_id": _("Give the vendor's scan id: one line of at most %(n)d characters.",
                                               n=MAX_SCAN_ID)})
    return clean


# -- recording -------------------------------------------------------------------------------------
def _target(session: Session, actor: Actor, submission_id: int, source: str,
            integration: Integration | None) -> Submission:
    """The submission, if the actor may attach a signal to it; ``NotFound`` otherwise."""
    if source not in SIGNAL_SOURCES:
        raise ValueError(f"unknown signal source {source!r}")
    if source == "api":
        if integration is None or integration.id is None or not integration.active:
            raise ValueError("an API signal needs an active integration")
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise NotFound(_("There is no such submission."))
        return submission
    if integration is not None:
        raise ValueError("only API signals come from an integration")
    if not actor.has(Role.TEACHER):
        raise NotFound(_("There is no such submission."))
    submission, _assignment = submission_in_course(session, actor, submission_id)
    return submission


def _existing(session: Session, submission_id: int, integration: Integration | None,
              vendor_scan_id: str | None) -> Signal | None:
    if vendor_scan_id is None:
        return None
    query = select(Signal).where(Signal.vendor_scan_id == vendor_scan_id)
    if integration is None:
        # Without an integration the database's unique key does not apply (NULLs differ): the
        # same report uploaded twice for one submission is one signal.
        query = query.where(Signal.integration_id.is_(None), Signal.submission_id == submission_id)
    else:
        query = query.where(Signal.integration_id == integration.id)
    found = session.execute(query.order_by(Signal.id).limit(1)).scalar_one_or_none()
    if found is not None and found.submission_id != submission_id:
        raise ScanIdConflict(_("This scan id was already sent for another submission."))
    return found


def record_signal(session: Session, actor: Actor, submission_id: int, data: SignalInput, *, now: datetime,
                  source: str = "manual", integration: Integration | None = None,
                  vendor_scan_id: str | None = None) -> tuple[Signal, bool]:
    """Attach a signal to a submission; returns ``(signal, created)``. Audits ``signal.recorded``.

    A teacher of the course enters it (``manual``) or uploads a report (``upload``); an
    integration sends it (``api``). Idempotent on (integration, ``vendor_scan_id``): the same scan
    again returns the signal already stored, with ``created`` false.

    Raises ``NotFound`` for a submission outside the teacher's course (or none at all),
    ``FieldErrors`` naming each refused field, ``ScanIdConflict`` when the integration sent the
    scan id for another submission. A report file (``report_sha256``) must already be in the store.
    """
    return _record(session, actor, submission_id, data, now=now, source=source, integration=integration,
                   vendor_scan_id=vendor_scan_id, blob=None)


def _record(session: Session, actor: Actor, submission_id: int, data: SignalInput, *, now: datetime, source: str,
            integration: Integration | None, vendor_scan_id: str | None,
            blob: bytes | None) -> tuple[Signal, bool]:
    submission = _target(session, actor, submission_id, source, integration)
    scan_id = _check_scan_id(vendor_scan_id)
    found = _existing(session, submission.id or 0, integration, scan_id)
    if found is not None:
        return found, False
    errors = validate_signal(data, now=now)
    files = runtime_of(session).files
    if not errors and data.report_sha256 is not None and blob is None and not files.exists(data.report_sha256):
        errors["report"] = _("The report file was not received. Attach it again.")
    if errors:
        raise FieldErrors(errors)
    if blob is not None:
        # Stored only now, after every check: a refused report leaves no file behind.
        files.put_bytes(blob)
    signal = Signal(
        submission_id=submission.id, kind=data.kind, source=source, vendor=_line(data.vendor, MAX_LINE),
        product=_line(data.product, MAX_LINE), model_version=_line(data.model_version, MAX_LINE),
        score=round(float(data.score), 2), scanned_at=data.scanned_at, report_sha256=data.report_sha256,
        report_name=_line(data.report_name, MAX_NAME) if data.report_name else None,
        report_url=check_drafts_url(data.report_url) if data.report_url else None,
        matched_sources=json.dumps([{"title": _line(s.title, MAX_SOURCE_TITLE), "url": s.url,
                                     "percent": round(float(s.percent), 2)} for s in data.matched_sources],
                                   ensure_ascii=False),
        integration_id=integration.id if integration else None, vendor_scan_id=scan_id,
        created_by=actor.label, created_at=now)
    try:
        with session.begin_nested():
            session.add(signal)
    except IntegrityError:
        # Another request stored the same scan between our look-up and our insert.
        found = _existing(session, submission.id or 0, integration, scan_id)
        if found is None:
            raise
        return found, False
    audit.record(session, actor, "signal.recorded", now=now, subject=f"signal:{signal.id}",
                 payload={"submission": submission.id, "kind": signal.kind, "source": source,
                          "vendor": signal.vendor, "product": signal.product, "model_version": signal.model_version,
                          "score": signal.score, "integration": integration.name if integration else None,
                          "vendor_scan_id": scan_id, "report_sha256": signal.report_sha256})
    return signal, True


def signal_input_from_report(parsed: ParsedReport, *, scanned_at: datetime | None, report_sha256: str | None,
                             report_name: str | None) -> SignalInput:
    """The signal a parsed vendor report gives. The report's own date wins over ``scanned_at``;
    GPTZero's response has none, so the caller must give it (``FieldErrors`` otherwise)."""
    moment = parsed.scanned_at or scanned_at
    if moment is None:
        raise FieldErrors({"scanned_at": _("The %(vendor)s report does not say when the scan ran: give its date.",
                                           vendor=parsed.vendor_name)})
    return SignalInput(kind="detector", vendor=parsed.vendor_name, product=parsed.product,
                       model_version=parsed.model_version, score=parsed.score, scanned_at=moment,
                       report_sha256=report_sha256, report_name=report_name)


def record_vendor_report(session: Session, actor: Actor, submission_id: int, raw: bytes, *, now: datetime,
                         name: str | None = None, vendor: str | None = None, scanned_at: datetime | None = None,
                         source: str = "upload", integration: Integration | None = None,
                         vendor_scan_id: str | None = None, parsed: ParsedReport | None = None
                         ) -> tuple[Signal, bool]:
    """Record a vendor's AI-detection JSON (GPTZero or Copyleaks) as a detector signal, keeping the
    report itself in the file store for the explanation page. Audits ``signal.recorded``.

    Raises ``VendorFormatError`` (naming the JSON path) for a report Adal cannot read, and
    whatever ``record_signal`` raises; nothing is stored then. ``vendor_scan_id`` is used when the
    report carries none, and must agree with it when it does.
    """
    _target(session, actor, submission_id, source, integration)  # NotFound before reading anything
    report = parsed or parse_vendor_report(raw, vendor)
    scan_id = report.vendor_scan_id
    if vendor_scan_id is not None:
        if scan_id is not None and scan_id != vendor_scan_id:
            raise FieldErrors({"vendor_scan_id": _("It differs from the scan id in the report (%(id)s).",
                                                   id=scan_id)})
        scan_id = vendor_scan_id
    sha = hashlib.sha256(raw).hexdigest()
    label = _line(name, MAX_NAME) if name else None
    data = signal_input_from_report(report, scanned_at=scanned_at, report_sha256=sha,
                                    report_name=label or f"{report.vendor}-report.json")
    return _record(session, actor, submission_id, data, now=now, source=source, integration=integration,
                   vendor_scan_id=scan_id, blob=bytes(raw))


def parse_report_value(value: Any, vendor: str | None = None) -> tuple[ParsedReport, bytes]:
    """A vendor report received as part of a JSON body: the parsed report and the bytes to keep."""
    parsed = parse_vendor_value(value, vendor)
    raw = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    return parsed, raw


# -- who sees what ---------------------------------------------------------------------------------
def _referred(session: Session, submission_id: int) -> bool:
    return bool(session.execute(select(exists().where(Flag.submission_id == submission_id,
                                                      Flag.state == "referred"))).scalar())


def _may_see(session: Session, actor: Actor, submission: Submission, assignment: Assignment) -> bool:
    if actor.has(Role.TEACHER) and actor.course_id is not None and assignment.course_id == actor.course_id:
        return True
    # The student sees signals on their own work once a flag on it went to the commission: before
    # that, a score alone must not frighten anyone (S 3.3ә).
    own = actor.user_id is not None and submission.student_id == actor.user_id
    return own and _referred(session, submission.id or 0)


def visible_signal(session: Session, actor: Actor, signal_id: int) -> tuple[Signal, Submission, Assignment]:
    """A signal the actor may see: a teacher of the course, or the student who owns the work
    once a flag on it is referred. ``NotFound`` for anything else, whether or not it exists."""
    signal = session.get(Signal, signal_id)
    submission = session.get(Submission, signal.submission_id) if signal else None
    assignment = session.get(Assignment, submission.assignment_id) if submission else None
    if signal is None or submission is None or assignment is None or not _may_see(session, actor, submission,
                                                                                  assignment):
        raise NotFound(_("There is no such signal."))
    return signal, submission, assignment


def visible_signals(session: Session, actor: Actor, submission_id: int) -> list[Signal]:
    """The signals of a submission the actor may see, oldest first (empty for a student before
    referral). ``NotFound`` for a submission the actor may not see at all."""
    submission = session.get(Submission, submission_id)
    assignment = session.get(Assignment, submission.assignment_id) if submission else None
    if submission is None or assignment is None:
        raise NotFound(_("There is no such submission."))
    own = actor.user_id is not None and submission.student_id == actor.user_id
    teaches = actor.has(Role.TEACHER) and assignment.course_id == actor.course_id
    if not (own or teaches):
        raise NotFound(_("There is no such submission."))
    if not _may_see(session, actor, submission, assignment):
        return []
    return list(session.execute(select(Signal).where(Signal.submission_id == submission_id)
                                .order_by(Signal.scanned_at, Signal.id)).scalars())


# -- display (pure) --------------------------------------------------------------------------------
def band(signal: Any, low_band_percent: int) -> str:
    """A detector score's band: ``low`` below the low band (shown as "low, unreliable", without
    emphasis), ``high`` from ``HIGH_BAND_PERCENT`` (or the low band, if that is higher), else
    ``medium``. Raises ``ValueError`` for an originality report, which has no band."""
    if signal.kind != "detector":
        raise ValueError("only detector signals have a band")
    score = float(signal.score)
    if score < low_band_percent:
        return "low"
    if score >= max(HIGH_BAND_PERCENT, low_band_percent):
        return "high"
    return "medium"


def originality_status(signal: Any, threshold_percent: int) -> str:
    """``within`` the level's limit of non-original text (U 5.6: "at most"), or ``over`` it."""
    if signal.kind != "originality":
        raise ValueError("only originality reports have a threshold")
    return "over" if float(signal.score) > threshold_percent else "within"


def _decimal(value: float, pattern: str) -> str:
    locale = get_locale()
    return format_decimal(value, format=pattern, locale=str(locale) if locale else "en")


def percent_text(value: float) -> str:
    """A percentage as people here write it: at most two decimals, the locale's decimal sign."""
    return _decimal(round(float(value), 2), "0.##")


def headline(signal: Any) -> str:
    """One sentence saying what the score is, never what it proves."""
    if signal.kind == "detector":
        return _("The detector estimates a %(percent)s %% probability of machine-generated text.",
                 percent=percent_text(signal.score))
    return _("Non-original text (copied and AI content): %(percent)s %% of the work.",
             percent=percent_text(signal.score))


@dataclass(frozen=True)
class SourceLine:
    title: str
    url: str | None
    percent: str  # formatted for the reader's language


@dataclass(frozen=True)
class SignalView:
    """What the signal card shows, worked out once (``signal_view``)."""

    id: int
    kind: str
    kind_title: str
    headline: str
    band: str | None
    band_title: str | None
    low_band: int
    source_title: str
    status: str | None = None  # originality: within / over
    status_text: str | None = None
    threshold: int | None = None
    level_title: str | None = None
    sources: tuple[SourceLine, ...] = field(default_factory=tuple)


def describe(signal: Signal, *, low_band: int, threshold: int, level: str) -> SignalView:
    """Pure: the card's content for ``signal`` under the given thresholds."""
    sources = tuple(SourceLine(str(s.get("title", "")), s.get("url"), percent_text(s.get("percent", 0)))
                    for s in json.loads(signal.matched_sources or "[]"))
    common = {"id": signal.id or 0, "kind": signal.kind, "kind_title": str(KIND_TITLES.get(signal.kind, signal.kind)),
              "headline": headline(signal), "low_band": low_band,
              "source_title": str(SOURCE_TITLES.get(signal.source, signal.source)), "sources": sources}
    if signal.kind == "detector":
        which = band(signal, low_band)
        return SignalView(band=which, band_title=str(BAND_TITLES[which]), **common)
    status = originality_status(signal, threshold)
    level_title = str(LEVEL_TITLES.get(level, level))
    text = (_("Over the limit of %(limit)d %% for %(level)s.", limit=threshold, level=level_title) if status == "over"
            else _("Within the limit of %(limit)d %% for %(level)s.", limit=threshold, level=level_title))
    return SignalView(band=None, band_title=None, status=status, status_text=text, threshold=threshold,
                      level_title=level_title, **common)


def signal_view(session: Session, signal: Signal) -> SignalView:
    """``describe`` with the institution's low band and the course level's originality threshold."""
    submission = session.get(Submission, signal.submission_id)
    assignment = session.get(Assignment, submission.assignment_id) if submission else None
    if assignment is None:
        raise NotFound(_("There is no such signal."))
    return describe(signal, low_band=int(get_setting(session, "detector.low_band_percent")),
                    threshold=originality_threshold(session, assignment), level=degree_level(session, assignment))


def signal_views(session: Session, signals: Sequence[Signal]) -> list[tuple[Signal, SignalView]]:
    return [(signal, signal_view(session, signal)) for signal in signals]


# -- the explanation (S 6.4) -----------------------------------------------------------------------
FACTOR_TITLES = {
    "completely_generated_prob": _l("Probability that the whole document is machine-generated"),
    "average_generated_prob": _l("Average probability over the sentences"),
    "class_ai": _l("Probability of the class “AI”"),
    "class_mixed": _l("Probability of the class “mixed”"),
    "class_human": _l("Probability of the class “human”"),
    "document_classification": _l("The vendor's classification of the document"),
    "sentences_highlighted": _l("Sentences the detector highlighted"),
    "summary_ai": _l("Share of the text the detector classed as machine-generated"),
    "summary_human": _l("Share of the text the detector classed as human"),
    "ai_sections": _l("Sections classed as machine-generated"),
    "ai_words": _l("Words in those sections"),
    "total_words": _l("Words scanned"),
}


@dataclass(frozen=True)
class Explanation:
    """The plain-language explanation of one signal (S 6.4): what it measures, from what, the
    factors the vendor reports, its limits, the model and date, the confidence as the vendor
    gives it, and the thresholds Adal applies."""

    signal: Signal
    view: SignalView
    measures: str
    inputs: list[str]
    factors: list[tuple[str, str]]
    factors_note: str | None
    limits: list[str]
    confidence: list[str]
    thresholds: list[str]


def _stored_report(session: Session, signal: Signal) -> tuple[ParsedReport | None, str | None]:
    if not signal.report_sha256:
        return None, None
    try:
        raw = runtime_of(session).files.read(signal.report_sha256)
    except (BlobNotFound, CorruptBlob):
        return None, _("The stored report could not be read: ask the administrator to run \"adal files verify\".")
    try:
        return parse_vendor_report(raw), None
    except VendorFormatError:
        return None, _("The attached report is not in a format Adal reads (GPTZero or Copyleaks JSON): open it "
                       "to see the vendor's own explanation.")


def explain_signal(session: Session, signal: Signal) -> Explanation:
    """The data for the explanation page of ``signal`` (access is the caller's check)."""
    view = signal_view(session, signal)
    report, note = _stored_report(session, signal)
    factors: list[tuple[str, str]] = []
    confidence: list[str] = []
    if report is not None:
        factors = [(str(FACTOR_TITLES.get(code, code)),
                    f"{percent_text(value)} %" if isinstance(value, float) else value)
                   for code, value in report.factors]
        if report.predicted_class:
            confidence.append(_("Class the vendor predicts: %(name)s.", name=report.predicted_class))
        if report.confidence_category:
            confidence.append(_("Confidence the vendor reports: %(category)s.", category=report.confidence_category))
        if report.confidence_score is not None:
            confidence.append(_("Confidence score the vendor reports: %(score)s (from 0 to 1).",
                                score=_decimal(report.confidence_score, "0.###")))
    if not confidence:
        confidence.append(_("The vendor's report gives no confidence level; the score itself is an estimate, "
                            "not a measurement."))
    if signal.kind == "originality":
        factors += [(source.title, f"{source.percent} %") for source in view.sources]
    if not factors and note is None:
        note = (_("No report from the vendor is attached: Adal knows only the score that was entered.")
                if not signal.report_url else _("The vendor's report is at the address below."))

    if signal.kind == "detector":
        measures = _("An estimate, made by %(vendor)s's model, of how likely it is that the text was generated by "
                     "a language model. It is a probability about the text, not a finding about who wrote it or "
                     "whether a rule was broken.", vendor=signal.vendor)
        inputs = [_("The text of the work as it was sent to %(vendor)s (%(product)s).", vendor=signal.vendor,
                    product=signal.product),
                  _("Nothing else: the detector does not know the assignment, the student's disclosure of AI use, "
                    "their drafts or their earlier work.")]
        limits = [
            _("Detectors make mistakes in both directions: a person's own text can get a high score, and edited "
              "machine-generated text a low one."),
            _("Scores are less reliable for short texts, for people writing in a second language, and for "
              "languages the model was hardly trained on (check whether the vendor supports Kazakh)."),
            _("Language correction, translation tools and set phrases can raise the score of a student's own text."),
            _("The score does not say whether a use of AI was allowed or disclosed: compare it with the student's "
              "disclosure and with the assignment's policy."),
        ]
    else:
        measures = _("The share of the work's text that %(vendor)s found in other sources or judged to be AI "
                     "content. The university's regulation counts both as non-original (U 5.6).",
                     vendor=signal.vendor)
        inputs = [_("The text of the work, compared by %(vendor)s (%(product)s) with the sources it indexes.",
                    vendor=signal.vendor, product=signal.product)]
        limits = [
            _("Matches include quotations and references that are properly cited: check each matched source."),
            _("Set phrases, templates and the assignment's own wording can match."),
            _("The AI-content part of the share comes from a detector and has the limits of any detector score."),
        ]
    limits.append(_("It is a signal, never proof: the teacher checks the work and gathers their own evidence "
                    "(drafts, an oral defence, matching sources) before anything goes to the commission."))
    thresholds = [
        _("Detector scores below %(low)d %% are shown as low and unreliable (the institution's setting).",
          low=view.low_band),
        _("Detector scores from %(high)d %% are shown as high.", high=max(HIGH_BAND_PERCENT, view.low_band)),
    ]
    submission = session.get(Submission, signal.submission_id)
    assignment = session.get(Assignment, submission.assignment_id) if submission else None
    if assignment is not None:
        level = degree_level(session, assignment)
        thresholds.append(_("Non-original text allowed for %(level)s: at most %(limit)d %%.",
                            level=str(LEVEL_TITLES.get(level, level)),
                            limit=originality_threshold(session, assignment)))
    return Explanation(signal=signal, view=view, measures=measures, inputs=inputs, factors=factors,
                       factors_note=note, limits=limits, confidence=confidence, thresholds=thresholds)

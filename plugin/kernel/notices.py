"""The institution's notice to users (S 6.1, B.1), its versions (S 6.10) and acknowledgements (S 6.13).

A version is published one language at a time (``adal notice publish FILE --lang kk``). It
becomes the *current* notice once it exists in Kazakh and Russian (S 6.1б); English is optional.
An acknowledgement records who, which version and when, and nothing more.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Date, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from plugin.kernel import audit
from plugin.kernel.clock import UTCDateTime
from plugin.kernel.errors import InvalidInput
from plugin.kernel.users import Actor

REQUIRED_LANGUAGES = ("kk", "ru")
LANGUAGES = ("kk", "ru", "en")

# S B.1, in its order: every field must be filled.
FIELDS = {
    "purpose": _l("Purpose of processing"),
    "legal_basis": _l("Legal basis"),
    "system": _l("System name, version or model, supplier"),
    "data_categories": _l("Categories of data"),
    "storage": _l("Where the data is stored, and for how long"),
    "recipients": _l("Who receives the data"),
    "cross_border": _l("Cross-border transfer"),
    "human_involvement": _l("Human involvement"),
    "risks_limits": _l("Risks and limits"),
    "rights_appeal": _l("Your rights and the appeal procedure"),
    "contact": _l("Responsible person's contact"),
}
# S 6.9: plain versions for younger learners and for their parents.
ADAPTED = {"minors": _l("For learners under 18"), "parents": _l("For parents")}
MAX_TEXT = 20_000


class NoticeText(SQLModel, table=True):
    __tablename__ = "notice_text"
    __table_args__ = (UniqueConstraint("version", "lang"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    version: int = Field(sa_column=Column(Integer, nullable=False, index=True))
    lang: str = Field(sa_column=Column(String(8), nullable=False))
    effective_date: date = Field(sa_column=Column(Date, nullable=False))
    change_summary: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))  # JSON: FIELDS and ADAPTED
    published_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    published_by: str = Field(sa_column=Column(String(200), nullable=False))


class Acknowledgement(SQLModel, table=True):
    __tablename__ = "notice_acknowledgement"
    __table_args__ = (UniqueConstraint("user_id", "version"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    acknowledged_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


@dataclass(frozen=True)
class Notice:
    version: int
    lang: str
    effective_date: date
    change_summary: str
    fields: dict[str, str]
    adapted: dict[str, str]


def parse_notice(text: str, *, require_adapted: bool) -> tuple[int, date, str, dict[str, str], dict[str, str]]:
    """Read a notice file (TOML). Raises ``InvalidInput`` naming what is missing or wrong.

    ``version`` (whole number), ``date`` (YYYY-MM-DD), ``change_summary``, a ``[notice]`` table
    with every B.1 field, and ``[adapted]`` with ``minors`` and ``parents`` (required for schools
    and colleges).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(_("The notice file is not valid TOML: %(error)s", error=str(exc))) from None
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 100_000:
        raise InvalidInput(_("The notice file needs version = a whole number from 1."))
    effective = data.get("date")
    if isinstance(effective, str):
        try:
            effective = date.fromisoformat(effective)
        except ValueError:
            effective = None
    if not isinstance(effective, date) or isinstance(effective, datetime):
        raise InvalidInput(_("The notice file needs date = YYYY-MM-DD."))
    summary = data.get("change_summary")
    if not isinstance(summary, str) or not summary.strip():
        raise InvalidInput(_("The notice file needs change_summary: what changed in this version."))

    def table(name: str, keys: dict[str, Any], required: bool) -> dict[str, str]:
        section = data.get(name) or {}
        if not isinstance(section, dict):
            raise InvalidInput(_("[%(table)s] must be a table.", table=name))
        out = {}
        for key in keys:
            value = section.get(key)
            if value is None and not required:
                continue
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(_("The notice file has no text for %(field)s in [%(table)s].", field=key,
                                     table=name))
            if len(value) > MAX_TEXT:
                raise InvalidInput(_("%(field)s is longer than %(limit)d characters.", field=key, limit=MAX_TEXT))
            out[key] = value.strip()
        return out

    fields = table("notice", FIELDS, True)
    adapted = table("adapted", ADAPTED, require_adapted)
    return version, effective, summary.strip(), fields, adapted


def publish_notice(session: Session, actor: Actor, text: str, *, lang: str, require_adapted: bool,
                   now: datetime) -> Notice:
    """Store one language of a notice version; audits ``notice.published``.

    Raises ``InvalidInput`` for a bad file, an unknown language, or a version older than the
    current one. Publishing the same version and language again replaces the text (a typo fixed
    before anyone acknowledged it would otherwise need a new version); once someone acknowledged
    the version, it is refused.
    """
    if lang not in LANGUAGES:
        raise InvalidInput(_("The language must be one of: %(options)s", options=", ".join(LANGUAGES)))
    version, effective, summary, fields, adapted = parse_notice(text, require_adapted=require_adapted)
    latest = session.execute(select(func.max(NoticeText.version))).scalar()
    if latest is not None and version < latest:
        raise InvalidInput(_("Version %(version)d is older than the latest published version %(latest)d.",
                             version=version, latest=latest))
    acknowledged = session.execute(select(Acknowledgement.id).where(Acknowledgement.version == version).limit(1))
    if acknowledged.first() is not None:
        raise InvalidInput(_("Version %(version)d has already been acknowledged by users; publish a new version.",
                             version=version))
    body = json.dumps({"fields": fields, "adapted": adapted}, ensure_ascii=False)
    existing = session.execute(select(NoticeText).where(NoticeText.version == version,
                                                        NoticeText.lang == lang)).scalar_one_or_none()
    if existing is None:
        session.add(NoticeText(version=version, lang=lang, effective_date=effective, change_summary=summary, body=body,
                               published_at=now, published_by=actor.label))
    else:
        existing.effective_date, existing.change_summary, existing.body = effective, summary, body
        existing.published_at, existing.published_by = now, actor.label
    session.flush()
    audit.record(session, actor, "notice.published", now=now, subject=f"notice:{version}",
                 payload={"version": version, "lang": lang, "date": effective.isoformat(), "summary": summary})
    return Notice(version, lang, effective, summary, fields, adapted)


def current_version(session: Session) -> int | None:
    """The newest version published in every required language, or ``None``."""
    rows = session.execute(select(NoticeText.version, NoticeText.lang)).all()
    by_version: dict[int, set[str]] = {}
    for version, lang in rows:
        by_version.setdefault(version, set()).add(lang)
    complete = [v for v, langs in by_version.items() if set(REQUIRED_LANGUAGES) <= langs]
    return max(complete) if complete else None


def versions(session: Session) -> list[tuple[int, set[str]]]:
    """Every published version with its languages, newest first (for ``adal notice list``)."""
    by_version: dict[int, set[str]] = {}
    for version, lang in session.execute(select(NoticeText.version, NoticeText.lang)).all():
        by_version.setdefault(version, set()).add(lang)
    return sorted(by_version.items(), reverse=True)


def read_notice(session: Session, version: int, lang: str) -> Notice | None:
    """A version in ``lang``, falling back to kk then ru when that language was not published."""
    for candidate in (lang, "kk", "ru"):
        row = session.execute(select(NoticeText).where(NoticeText.version == version,
                                                       NoticeText.lang == candidate)).scalar_one_or_none()
        if row is not None:
            body = json.loads(row.body)
            return Notice(row.version, row.lang, row.effective_date, row.change_summary, body["fields"],
                          body.get("adapted", {}))
    return None


def history(session: Session, lang: str) -> list[tuple[int, date, str]]:
    """(version, date, change summary) of every version, newest first, in ``lang`` where published."""
    out = []
    for version, _langs in versions(session):
        notice = read_notice(session, version, lang)
        if notice is not None:
            out.append((version, notice.effective_date, notice.change_summary))
    return out


def has_acknowledged(session: Session, user_id: int, version: int) -> bool:
    row = session.execute(select(Acknowledgement.id).where(Acknowledgement.user_id == user_id,
                                                           Acknowledgement.version == version))
    return row.first() is not None


def acknowledge_notice(session: Session, actor: Actor, *, version: int, now: datetime) -> None:
    """Record that the actor read ``version`` (once; a repeat changes nothing). Audits
    ``notice.acknowledged`` the first time. Raises ``InvalidInput`` unless ``version`` is current."""
    if actor.user_id is None:
        raise InvalidInput(_("Only a person signed in from the LMS can acknowledge the notice."))
    if version != current_version(session):
        raise InvalidInput(_("This is not the current version of the notice. Read the current one."))
    if has_acknowledged(session, actor.user_id, version):
        return
    try:
        with session.begin_nested():  # two tabs acknowledging at once: the second finds the first
            session.add(Acknowledgement(user_id=actor.user_id, version=version, acknowledged_at=now))
    except IntegrityError:
        return
    audit.record(session, actor, "notice.acknowledged", now=now, subject=f"notice:{version}",
                     payload={"version": version})

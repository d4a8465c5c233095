"""Institution settings kept in the database, each with a documented default and a validator.

Later issues read them (quorum, holidays, appeal window, thresholds, retention, ...); the CLI
``adal settings list|get|set`` edits them until the admin console exists, and every change is
audited. A key that was never set reads as its default; nothing is written until someone sets it.
"""

from __future__ import annotations

import copy
import json
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, String, Text
from sqlmodel import Field, Session, SQLModel

from plugin.kernel import audit
from plugin.kernel.clock import UTCDateTime
from plugin.kernel.errors import InvalidInput
from plugin.kernel.users import Actor


class Setting(SQLModel, table=True):
    __tablename__ = "setting"

    key: str = Field(sa_column=Column(String(100), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_by: str = Field(sa_column=Column(String(200), nullable=False))


class SettingError(InvalidInput):
    pass


# -- validators: each takes the decoded JSON value and returns the value to store ---------------
def _choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise SettingError(_("must be one of: %(options)s", options=", ".join(options)))
        return str(value)
    return check


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingError(_("must be a whole number from %(low)d to %(high)d", low=low, high=high))
        return value
    return check


def _timezone(value: Any) -> str:
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingError(_("must be an IANA time zone such as Asia/Almaty")) from None
    return str(value)


def _whole(value: Any) -> bool:
    """A JSON whole number: ``True`` and ``1.0`` compare equal to 1 but are not days or levels."""
    return isinstance(value, int) and not isinstance(value, bool)


def _weekdays(value: Any) -> list[int]:
    if not isinstance(value, list) or not value or any(not _whole(d) or d not in range(1, 8) for d in value):
        raise SettingError(_("must be a non-empty list of ISO weekdays, 1 = Monday ... 7 = Sunday"))
    return sorted(set(value))


def _dates(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise SettingError(_("must be a list of dates YYYY-MM-DD"))
    try:
        return sorted({date.fromisoformat(str(v)).isoformat() for v in value})
    except ValueError:
        raise SettingError(_("must be a list of dates YYYY-MM-DD")) from None


def _month_days(value: Any) -> list[str]:
    if not isinstance(value, list) or any(not re.fullmatch(r"\d\d-\d\d", str(v)) for v in value):
        raise SettingError(_("must be a list of dates MM-DD"))
    for v in value:
        try:
            date.fromisoformat(f"2024-{v}")  # a leap year, so 02-29 is accepted
        except ValueError:
            raise SettingError(_("%(day)s is not a day of the year", day=v)) from None
    return sorted(set(value))


def _percent_map(keys: tuple[str, ...]) -> Callable[[Any], dict[str, int]]:
    def check(value: Any) -> dict[str, int]:
        if not isinstance(value, dict) or set(value) != set(keys):
            raise SettingError(_("must give a percentage for each of: %(keys)s", keys=", ".join(keys)))
        return {k: _int_range(0, 100)(value[k]) for k in keys}
    return check


def _day_map(keys: tuple[str, ...]) -> Callable[[Any], dict[str, int]]:
    def check(value: Any) -> dict[str, int]:
        if not isinstance(value, dict) or set(value) != set(keys):
            raise SettingError(_("must give a number of days for each of: %(keys)s", keys=", ".join(keys)))
        return {k: _int_range(0, 36500)(value[k]) for k in keys}
    return check


def _sanctions(value: Any) -> list[dict[str, Any]]:
    if (not isinstance(value, list) or not all(isinstance(row, dict) and _whole(row.get("level")) for row in value)
            or [row["level"] for row in value] != [0, 1, 2, 3]):
        raise SettingError(_("must list the sanction levels 0, 1, 2 and 3 in order, each with a code"))
    for row in value:
        if not isinstance(row.get("code"), str) or not re.fullmatch(r"[a-z_]{2,40}", row["code"]):
            raise SettingError(_("each sanction level needs a code of 2 to 40 lowercase letters and _"))
    return [{"level": row["level"], "code": row["code"]} for row in value]


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingError(_("must be true or false"))
    return value


def _text(limit: int, *, lines: bool = False) -> Callable[[Any], str]:
    """Free text an administrator types (a name, a contact); empty means "not filled in yet"."""
    def check(value: Any) -> str:
        if not isinstance(value, str) or len(value) > limit:
            raise SettingError(_("must be text of at most %(limit)d characters", limit=limit))
        allowed = "\n\r\t" if lines else "\t"
        if any(ord(c) < 32 and c not in allowed for c in value):
            raise SettingError(_("must not contain control characters"))
        return value.replace("\r\n", "\n").strip()
    return check


DEGREE_LEVELS = ("bachelor", "master", "doctoral", "school", "college")
RETENTION_CATEGORIES = ("submissions", "drafts", "signals", "cases_not_responsible", "cases_sanctioned",
                        "notices", "audit")


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: Any
    check: Callable[[Any], Any]
    help: Any  # a lazy translated string


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec("institution.type", "school", _choice("school", "college", "university"),
                    _l("Institution profile: school, college (TVET) or university; it selects which rules apply.")),
        SettingSpec("institution.timezone", "Asia/Almaty", _timezone,
                    _l("Time zone used to show dates and to count deadlines.")),
        SettingSpec("calendar.working_days", [1, 2, 3, 4, 5], _weekdays,
                    _l("Working days of the week (1 = Monday ... 7 = Sunday) for deadlines.")),
        SettingSpec("calendar.fixed_holidays",
                    ["01-01", "01-02", "01-07", "03-08", "03-21", "03-22", "03-23", "05-01", "05-07", "05-09",
                     "07-06", "08-30", "10-25", "12-16"],
                    _month_days, _l("Public holidays that fall on the same day every year (MM-DD).")),
        SettingSpec("calendar.holidays", [], _dates,
                    _l("Other non-working dates (YYYY-MM-DD): moving holidays and transferred days off.")),
        SettingSpec("commission.quorum", 3, _int_range(1, 50),
                    _l("How many commission members must take part for a decision to be valid.")),
        SettingSpec("appeal.window_working_days", 10, _int_range(1, 90),
                    _l("Working days a student has to appeal after a decision is issued.")),
        SettingSpec("case.objection_working_days", 3, _int_range(1, 30),
                    _l("Working days a student has to object to a commission member.")),
        SettingSpec("originality.max_nonoriginal_percent",
                    {"bachelor": 35, "master": 25, "doctoral": 20, "school": 35, "college": 35},
                    _percent_map(DEGREE_LEVELS),
                    _l("Largest share of non-original text (copied and AI content) allowed, by level.")),
        SettingSpec("detector.low_band_percent", 20, _int_range(0, 100),
                    _l("Detector scores below this are shown as low and unreliable.")),
        SettingSpec("sanctions.catalogue",
                    [{"level": 0, "code": "warning"}, {"level": 1, "code": "resubmission"},
                     {"level": 2, "code": "zero_grade_retake"}, {"level": 3, "code": "disciplinary"}],
                    _sanctions, _l("The sanction levels 0 to 3 and what each means at this institution.")),
        SettingSpec("sanctions.level1_deduction_percent", 20, _int_range(0, 100),
                    _l("Level 1: the share of the assignment's maximum points deducted from the grade, in percent.")),
        SettingSpec("sanctions.resubmit_working_days", 10, _int_range(1, 90),
                    _l("Level 1: working days the student has to resubmit the work once the decision is final.")),
        SettingSpec("retention.days",
                    # What each count starts from, and why these defaults: README, "Retention and
                    # data-subject requests"; `adal retention run` applies them.
                    {"submissions": 365, "drafts": 365, "signals": 365, "cases_not_responsible": 0,
                     "cases_sanctioned": 1825, "notices": 1095, "audit": 1825},
                    _day_map(RETENTION_CATEGORIES),
                    _l("How many days each category of data is kept before it is deleted or anonymised.")),
        SettingSpec("privacy.collect_email", False, _boolean,
                    _l("Whether to keep e-mail addresses the LMS sends (off: privacy by default).")),
        # The system card (S 6.5, /system-card): what only the institution can say. Empty until filled in.
        SettingSpec("system_card.institution", "", _text(300),
                    _l("The educational organisation that uses Adal, as shown on the system card.")),
        SettingSpec("system_card.supplier", "", _text(300),
                    _l("Who supplies and maintains this installation of Adal (the system card's supplier).")),
        SettingSpec("system_card.responsible_name", "", _text(300),
                    _l("The responsible person for Adal: name and position, shown on the system card.")),
        SettingSpec("system_card.responsible_contact", "", _text(300),
                    _l("How to reach the responsible person: e-mail, phone or office, shown on the system card.")),
        SettingSpec("system_card.approved_scenario", "", _text(2000, lines=True),
                    _l("The approved scenario of use: the order or policy that allows Adal, and for what.")),
    )
}


def _spec(key: str) -> SettingSpec:
    try:
        return SPECS[key]
    except KeyError:
        raise SettingError(_("unknown setting %(key)s", key=key)) from None


def get_setting(session: Session, key: str) -> Any:
    """The stored value of ``key`` or its default. Raises ``SettingError`` for an unknown key."""
    spec = _spec(key)
    row = session.get(Setting, key)
    # A copy: a caller that changes the list or dict it got must not change the default itself.
    return copy.deepcopy(spec.default) if row is None else json.loads(row.value)


def list_settings(session: Session) -> list[tuple[SettingSpec, Any, bool]]:
    """Every setting as (spec, current value, whether it was changed from the default)."""
    return [(spec, get_setting(session, key), session.get(Setting, key) is not None) for key, spec in SPECS.items()]


def parse_setting_text(key: str, text: str) -> Any:
    """Decode a value typed on the command line: JSON when it parses, else the plain text."""
    _spec(key)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def set_setting(session: Session, actor: Actor, key: str, value: Any, *, now: datetime) -> Any:
    """Validate and store ``value`` for ``key``; writes the audit entry ``settings.changed``.

    Raises ``SettingError`` (nothing changed) for an unknown key or an invalid value.
    """
    spec = _spec(key)
    try:
        clean = spec.check(value)
    except SettingError as exc:
        raise SettingError(f"{key}: {exc}") from None  # the key, then the translated problem
    old = get_setting(session, key)
    row = session.get(Setting, key)
    text = json.dumps(clean, ensure_ascii=False, sort_keys=True)
    if row is None:
        session.add(Setting(key=key, value=text, updated_at=now, updated_by=actor.label))
    else:
        row.value, row.updated_at, row.updated_by = text, now, actor.label
    audit.record(session, actor, "settings.changed", now=now, subject=f"setting:{key}",
                 payload={"key": key, "old": old, "new": clean})
    session.flush()
    return clean

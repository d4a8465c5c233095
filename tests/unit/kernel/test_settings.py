"""Institution settings: defaults, validation of every key, audited changes, and the CLI.

The validators translate their messages with Flask-Babel. Outside an app context ``gettext``
falls back to the untranslated (English) message; inside one, the locale decides. Tests that
commit use the ``app`` fixture (its own database); the validator table runs in the rolled-back
``db_session``.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlmodel import Session

from plugin.config import Config
from plugin.kernel import audit
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput
from plugin.kernel.runtime import Runtime
from plugin.kernel.settings import (
    SPECS,
    Setting,
    SettingError,
    get_setting,
    list_settings,
    parse_setting_text,
    set_setting,
)
from plugin.kernel.users import Actor

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
ADMIN = Actor.system("test-admin")
ADAL = Path(sys.executable).parent / "adal"

ORIGINALITY = {"bachelor": 35, "master": 25, "doctoral": 20, "school": 35, "college": 35}
RETENTION = {"submissions": 1095, "drafts": 365, "signals": 1095, "cases_not_responsible": 0,
             "cases_sanctioned": 1825, "notices": 1825, "audit": 3650}
SANCTIONS = [{"level": 0, "code": "warning"}, {"level": 1, "code": "resubmission"},
             {"level": 2, "code": "zero_grade_retake"}, {"level": 3, "code": "disciplinary"}]


def without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def with_value(mapping: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**mapping, key: value}


# (key, value given, value stored)
GOOD = [
    ("institution.type", "university", "university"),
    ("institution.type", "college", "college"),
    ("institution.timezone", "Asia/Almaty", "Asia/Almaty"),
    ("institution.timezone", "Asia/Aqtobe", "Asia/Aqtobe"),
    ("institution.timezone", "UTC", "UTC"),
    ("calendar.working_days", [5, 1, 3, 1], [1, 3, 5]),
    ("calendar.working_days", [1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7]),
    ("calendar.working_days", [7], [7]),
    ("calendar.fixed_holidays", ["02-29"], ["02-29"]),
    ("calendar.fixed_holidays", ["12-16", "01-01", "01-01"], ["01-01", "12-16"]),
    ("calendar.fixed_holidays", [], []),
    ("calendar.holidays", ["2026-03-23", "2026-01-02", "2026-03-23"], ["2026-01-02", "2026-03-23"]),
    ("calendar.holidays", ["2028-02-29"], ["2028-02-29"]),
    ("calendar.holidays", [], []),
    ("commission.quorum", 1, 1),
    ("commission.quorum", 5, 5),
    ("commission.quorum", 50, 50),
    ("appeal.window_working_days", 1, 1),
    ("appeal.window_working_days", 90, 90),
    ("sanctions.level1_deduction_percent", 0, 0),
    ("sanctions.level1_deduction_percent", 100, 100),
    ("sanctions.resubmit_working_days", 1, 1),
    ("sanctions.resubmit_working_days", 90, 90),
    ("case.objection_working_days", 30, 30),
    ("originality.max_nonoriginal_percent", with_value(ORIGINALITY, "master", 0),
     with_value(ORIGINALITY, "master", 0)),
    ("originality.max_nonoriginal_percent", with_value(ORIGINALITY, "school", 100),
     with_value(ORIGINALITY, "school", 100)),
    ("detector.low_band_percent", 0, 0),
    ("detector.low_band_percent", 100, 100),
    ("sanctions.catalogue", [{"level": 0, "code": "oral_warning"}, {"level": 1, "code": "redo"},
                             {"level": 2, "code": "zero"}, {"level": 3, "code": "expulsion_review"}],
     [{"level": 0, "code": "oral_warning"}, {"level": 1, "code": "redo"},
      {"level": 2, "code": "zero"}, {"level": 3, "code": "expulsion_review"}]),
    ("sanctions.catalogue", [{**row, "note": "extra"} for row in SANCTIONS], SANCTIONS),
    ("retention.days", with_value(RETENTION, "drafts", 0), with_value(RETENTION, "drafts", 0)),
    ("retention.days", with_value(RETENTION, "audit", 36500), with_value(RETENTION, "audit", 36500)),
    ("privacy.collect_email", True, True),
    ("privacy.collect_email", False, False),
    ("system_card.institution", "  Synthetic School No. 7  ", "Synthetic School No. 7"),
    ("system_card.institution", "", ""),
    ("system_card.supplier", "Adal maintainers", "Adal maintainers"),
    ("system_card.responsible_name", "Aigul Testova, deputy director", "Aigul Testova, deputy director"),
    ("system_card.responsible_contact", "integrity@school.example.test", "integrity@school.example.test"),
    ("system_card.approved_scenario", "Order 12\r\nfor grades 8-11\n", "Order 12\nfor grades 8-11"),
    ("system_card.approved_scenario", "x" * 2000, "x" * 2000),
]

BAD = [
    ("institution.type", "academy"),
    ("institution.type", "School"),
    ("institution.type", ""),
    ("institution.type", None),
    ("institution.type", ["school"]),
    ("institution.timezone", "Mars/Base"),
    ("institution.timezone", ""),
    ("institution.timezone", "Asia"),
    ("institution.timezone", "../../etc/passwd"),
    ("institution.timezone", "/etc/localtime"),
    ("institution.timezone", 5),
    ("institution.timezone", None),
    ("calendar.working_days", []),
    ("calendar.working_days", [0]),
    ("calendar.working_days", [8]),
    ("calendar.working_days", [1, "2"]),
    ("calendar.working_days", [True]),
    ("calendar.working_days", [1.0, 2]),
    ("calendar.working_days", "1,2,3"),
    ("calendar.working_days", None),
    ("calendar.fixed_holidays", ["02-30"]),
    ("calendar.fixed_holidays", ["13-01"]),
    ("calendar.fixed_holidays", ["00-10"]),
    ("calendar.fixed_holidays", ["01-32"]),
    ("calendar.fixed_holidays", ["1-1"]),
    ("calendar.fixed_holidays", ["2026-01-01"]),
    ("calendar.fixed_holidays", "01-01"),
    ("calendar.fixed_holidays", None),
    ("calendar.holidays", ["2026-13-01"]),
    ("calendar.holidays", ["2026-02-29"]),
    ("calendar.holidays", ["2026-02-30"]),
    ("calendar.holidays", ["tomorrow"]),
    ("calendar.holidays", "2026-01-01"),
    ("calendar.holidays", None),
    ("commission.quorum", 0),
    ("commission.quorum", 51),
    ("commission.quorum", -1),
    ("commission.quorum", "abc"),
    ("commission.quorum", "3"),
    ("commission.quorum", True),
    ("commission.quorum", 3.0),
    ("commission.quorum", None),
    ("appeal.window_working_days", 0),
    ("appeal.window_working_days", 91),
    ("sanctions.level1_deduction_percent", -1),
    ("sanctions.level1_deduction_percent", 101),
    ("sanctions.resubmit_working_days", 0),
    ("sanctions.resubmit_working_days", 91),
    ("case.objection_working_days", 0),
    ("case.objection_working_days", 31),
    ("originality.max_nonoriginal_percent", without(ORIGINALITY, "doctoral")),
    ("originality.max_nonoriginal_percent", with_value(ORIGINALITY, "phd", 20)),
    ("originality.max_nonoriginal_percent", with_value(ORIGINALITY, "master", 101)),
    ("originality.max_nonoriginal_percent", with_value(ORIGINALITY, "master", -1)),
    ("originality.max_nonoriginal_percent", with_value(ORIGINALITY, "master", True)),
    ("originality.max_nonoriginal_percent", with_value(ORIGINALITY, "master", "25")),
    ("originality.max_nonoriginal_percent", [35, 25, 20, 35, 35]),
    ("detector.low_band_percent", -1),
    ("detector.low_band_percent", 101),
    ("sanctions.catalogue", [SANCTIONS[1], SANCTIONS[0], SANCTIONS[2], SANCTIONS[3]]),
    ("sanctions.catalogue", SANCTIONS[:3]),
    ("sanctions.catalogue", [*SANCTIONS, {"level": 4, "code": "expulsion"}]),
    ("sanctions.catalogue", []),
    ("sanctions.catalogue", [SANCTIONS[0], {"level": True, "code": "resubmission"}, SANCTIONS[2], SANCTIONS[3]]),
    ("sanctions.catalogue", [*SANCTIONS, "warning"]),
    ("sanctions.catalogue", [with_value(SANCTIONS[0], "code", "Warning"), *SANCTIONS[1:]]),
    ("sanctions.catalogue", [with_value(SANCTIONS[0], "code", "w"), *SANCTIONS[1:]]),
    ("sanctions.catalogue", [with_value(SANCTIONS[0], "code", "a" * 41), *SANCTIONS[1:]]),
    ("sanctions.catalogue", [without(SANCTIONS[0], "code"), *SANCTIONS[1:]]),
    ("sanctions.catalogue", {"0": "warning"}),
    ("retention.days", without(RETENTION, "audit")),
    ("retention.days", with_value(RETENTION, "drafts", -1)),
    ("retention.days", with_value(RETENTION, "drafts", 36501)),
    ("retention.days", with_value(RETENTION, "drafts", True)),
    ("privacy.collect_email", "yes"),
    ("privacy.collect_email", "true"),
    ("privacy.collect_email", 1),
    ("privacy.collect_email", None),
    ("system_card.institution", 7),
    ("system_card.institution", None),
    ("system_card.institution", "x" * 301),
    ("system_card.supplier", ["Adal"]),
    ("system_card.responsible_name", "Aigul\nTestova"),
    ("system_card.responsible_contact", "a\x00b"),
    ("system_card.approved_scenario", "x" * 2001),
    ("system_card.approved_scenario", "Order\x1b[31m 12"),
]


def setting_rows(session: Session, key: str | None = None) -> int:
    query = select(func.count()).select_from(Setting)
    if key is not None:
        query = query.where(Setting.key == key)
    return session.execute(query).scalar_one()


def audit_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def test_every_key_is_tested() -> None:
    assert {key for key, _, _ in GOOD} == set(SPECS)
    assert {key for key, _ in BAD} == set(SPECS)


def test_every_default_passes_its_own_validator() -> None:
    for spec in SPECS.values():
        assert spec.check(copy.deepcopy(spec.default)) == spec.default, spec.key


# -- validation (rolled back) ----------------------------------------------------------------
@pytest.mark.parametrize(("key", "value", "stored"), GOOD)
def test_good_values_are_stored_normalised(db_session: Session, key: str, value: Any, stored: Any) -> None:
    assert set_setting(db_session, ADMIN, key, copy.deepcopy(value), now=T0) == stored
    assert get_setting(db_session, key) == stored
    row = db_session.get(Setting, key)
    assert row is not None and json.loads(row.value) == stored


@pytest.mark.parametrize(("key", "value"), BAD)
def test_bad_values_are_refused_and_change_nothing(db_session: Session, key: str, value: Any) -> None:
    before_value, before_rows, before_audit = get_setting(db_session, key), setting_rows(db_session, key), \
        audit_count(db_session)
    with pytest.raises(SettingError):
        set_setting(db_session, ADMIN, key, copy.deepcopy(value), now=T0)
    assert get_setting(db_session, key) == before_value
    assert setting_rows(db_session, key) == before_rows
    assert audit_count(db_session) == before_audit


def test_setting_error_is_invalid_input() -> None:
    assert issubclass(SettingError, InvalidInput)
    assert SettingError("x").status == 400


def test_unknown_key_is_refused(db_session: Session) -> None:
    before = audit_count(db_session)
    for call in (lambda: get_setting(db_session, "commission.size"),
                 lambda: set_setting(db_session, ADMIN, "commission.size", 3, now=T0),
                 lambda: parse_setting_text("commission.size", "3")):
        with pytest.raises(SettingError, match=r"commission\.size"):
            call()
    assert setting_rows(db_session, "commission.size") == 0
    assert audit_count(db_session) == before


def test_messages_name_the_rule() -> None:
    with pytest.raises(SettingError, match="from 1 to 50"):
        SPECS["commission.quorum"].check(0)
    with pytest.raises(SettingError, match="02-30"):
        SPECS["calendar.fixed_holidays"].check(["02-30"])
    with pytest.raises(SettingError, match="doctoral"):
        SPECS["originality.max_nonoriginal_percent"].check(without(ORIGINALITY, "doctoral"))


def test_messages_follow_the_app_locale(app: Flask) -> None:
    with app.app_context():
        with force_locale("en"), pytest.raises(SettingError, match="must be a whole number from 1 to 50"):
            SPECS["commission.quorum"].check(51)
        with force_locale("ru"), pytest.raises(SettingError) as russian:
            SPECS["commission.quorum"].check(51)
    assert "1" in str(russian.value) and "50" in str(russian.value)
    assert "must be" not in str(russian.value)


@pytest.mark.parametrize(
    ("key", "typed", "parsed"),
    [
        ("commission.quorum", "5", 5),
        ("commission.quorum", "abc", "abc"),
        ("institution.timezone", "Asia/Almaty", "Asia/Almaty"),
        ("calendar.fixed_holidays", '["02-29"]', ["02-29"]),
        ("privacy.collect_email", "true", True),
        ("originality.max_nonoriginal_percent", '{"master": 25}', {"master": 25}),
    ],
)
def test_parse_setting_text(key: str, typed: str, parsed: Any) -> None:
    assert parse_setting_text(key, typed) == parsed


# -- committed: defaults, audit trail --------------------------------------------------------
def runtime_of_app(app: Flask) -> Runtime:
    return app.extensions["adal.runtime"]  # type: ignore[no-any-return]


def test_defaults_when_nothing_is_set(app: Flask) -> None:
    with app.app_context(), runtime_of_app(app).session() as session:
        assert setting_rows(session) == 0
        for key, spec in SPECS.items():
            assert get_setting(session, key) == spec.default
        listed = list_settings(session)
    assert [spec.key for spec, _, _ in listed] == list(SPECS)
    assert all(value == spec.default and not changed for spec, value, changed in listed)
    assert get_setting_fresh(app, "commission.quorum") == 3
    assert get_setting_fresh(app, "institution.timezone") == "Asia/Almaty"
    assert get_setting_fresh(app, "privacy.collect_email") is False


def get_setting_fresh(app: Flask, key: str) -> Any:
    with runtime_of_app(app).session() as session:
        return get_setting(session, key)


def test_changing_a_returned_default_does_not_change_the_default(app: Flask) -> None:
    with runtime_of_app(app).session() as session:
        holidays = get_setting(session, "calendar.fixed_holidays")
        holidays.append("04-01")
        get_setting(session, "originality.max_nonoriginal_percent")["master"] = 99
        assert "04-01" not in get_setting(session, "calendar.fixed_holidays")
        assert get_setting(session, "originality.max_nonoriginal_percent")["master"] == 25
    assert "04-01" not in SPECS["calendar.fixed_holidays"].default


def test_successful_set_is_stored_and_audited(app: Flask) -> None:
    runtime = runtime_of_app(app)
    with app.app_context(), runtime.session() as session:
        assert set_setting(session, ADMIN, "commission.quorum", 5, now=T0) == 5
        session.commit()
    with runtime.session() as session:
        assert get_setting(session, "commission.quorum") == 5
        row = session.get(Setting, "commission.quorum")
        assert row is not None
        assert (row.value, row.updated_at, row.updated_by) == ("5", T0, "system:test-admin")
        entries = session.exec(select(AuditEntry)).scalars().all()
        assert len(entries) == 1
        entry = entries[0]
        assert (entry.action, entry.subject, entry.actor, entry.at) == (
            "settings.changed", "setting:commission.quorum", "system:test-admin", T0)
        assert json.loads(entry.payload or "") == {"key": "commission.quorum", "old": 3, "new": 5}
        changed = {spec.key for spec, _, was_changed in list_settings(session) if was_changed}
        assert changed == {"commission.quorum"}
        assert audit.verify(session, runtime.audit).ok
    assert audit.read_external_head(runtime.audit.head_path) == (1, entry.mac)


def test_second_set_updates_the_row_and_records_old_and_new(app: Flask) -> None:
    runtime = runtime_of_app(app)
    later = T0 + timedelta(days=1)
    with runtime.session() as session:
        set_setting(session, ADMIN, "calendar.holidays", ["2026-03-23"], now=T0)
        session.commit()
    with runtime.session() as session:
        set_setting(session, Actor.system("other-admin"), "calendar.holidays", ["2026-05-08", "2026-03-23"],
                    now=later)
        session.commit()
    with runtime.session() as session:
        assert setting_rows(session) == 1
        row = session.get(Setting, "calendar.holidays")
        assert row is not None and (row.updated_at, row.updated_by) == (later, "system:other-admin")
        payloads = [json.loads(e.payload or "") for e in session.exec(select(AuditEntry).order_by(
            AuditEntry.seq)).scalars()]
        assert payloads == [
            {"key": "calendar.holidays", "old": [], "new": ["2026-03-23"]},
            {"key": "calendar.holidays", "old": ["2026-03-23"], "new": ["2026-03-23", "2026-05-08"]},
        ]
        assert audit.verify(session, runtime.audit).ok


def test_refused_set_changes_nothing_even_if_the_caller_commits(app: Flask) -> None:
    runtime = runtime_of_app(app)
    with app.app_context(), runtime.session() as session:
        with pytest.raises(SettingError):
            set_setting(session, ADMIN, "commission.quorum", 51, now=T0)
        with pytest.raises(SettingError):
            set_setting(session, ADMIN, "institution.timezone", "Mars/Base", now=T0)
        session.commit()
    with runtime.session() as session:
        assert setting_rows(session) == 0
        assert audit_count(session) == 0
        assert get_setting(session, "commission.quorum") == 3
    assert not runtime.audit.head_path.exists()


def test_refused_set_after_a_good_one_keeps_the_good_value(app: Flask) -> None:
    runtime = runtime_of_app(app)
    with runtime.session() as session:
        set_setting(session, ADMIN, "commission.quorum", 7, now=T0)
        session.commit()
    with runtime.session() as session:
        with pytest.raises(SettingError):
            set_setting(session, ADMIN, "commission.quorum", True, now=T0)
        session.commit()
    with runtime.session() as session:
        assert get_setting(session, "commission.quorum") == 7
        assert audit_count(session) == 1


# -- the command line ------------------------------------------------------------------------
def adal(config: Config, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAL_")}
    env.update(ADAL_INSTANCE_PATH=str(config.instance_path), ADAL_DATABASE_URL=config.database_url, ADAL_LANG="en")
    return subprocess.run([str(ADAL), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_cli_set_get_refuse_and_list(config: Config) -> None:
    done = adal(config, "settings", "set", "commission.quorum", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "commission.quorum = 5"

    done = adal(config, "settings", "get", "commission.quorum")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"

    done = adal(config, "settings", "set", "commission.quorum", "0")
    assert done.returncode != 0
    assert "commission.quorum" in done.stderr and "1 to 50" in done.stderr

    done = adal(config, "settings", "list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for key, spec in SPECS.items():
        marker = "*" if key == "commission.quorum" else " "
        value = 5 if key == "commission.quorum" else spec.default
        assert f"{marker} {key} = {json.dumps(value, ensure_ascii=False, sort_keys=True)}" in lines

    done = adal(config, "audit", "verify")  # one change, one entry; the refused one left none
    assert done.returncode == 0, done.stderr
    assert "1 entry," in done.stdout

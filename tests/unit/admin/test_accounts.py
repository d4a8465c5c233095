"""Admin accounts: argon2 passwords, TOTP (right, wrong, replayed, drift), single-use recovery
codes, lockout and its expiry, sessions' timeouts, the sealed seed, and the audit entries."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select, text

from plugin.admin.accounts import (
    MAX_FAILURES,
    SEED_PURPOSE,
    LoginRefused,
    check_password,
    check_second_factor,
    create_admin,
    end_session,
    list_admins,
    reset_second_factor,
    session_account,
    unlock_admin,
)
from plugin.admin.models import AdminAccount, AdminRecoveryCode, AdminSession
from plugin.kernel.audit import AuditEntry
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.runtime import runtime_of
from plugin.kernel.users import Actor
from tests.factories import T0

CLI = Actor.system("cli:tester")
PASSWORD = "correct horse battery staple"


def _audit(session, action: str) -> list[AuditEntry]:
    return list(session.execute(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.seq)).scalars())


def _counts(session) -> tuple[int, int, int, int]:
    return tuple(session.execute(select(func.count()).select_from(model)).scalar_one()  # type: ignore[return-value]
                 for model in (AdminAccount, AdminRecoveryCode, AdminSession, AuditEntry))


@pytest.fixture
def enrolled(db_session):
    enrolment = create_admin(db_session, CLI, "Alice", PASSWORD, now=T0)
    return enrolment


def test_create_stores_an_argon2_hash_and_a_sealed_seed(db_session, enrolled):
    account = enrolled.account
    assert account.username == "alice"  # usernames are lowercase
    assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash
    raw = db_session.execute(text("SELECT totp_seed_sealed, password_hash FROM admin_account WHERE id = :id"),
                             {"id": account.id}).one()
    assert enrolled.seed not in raw[0] and raw[0].startswith("v1:")
    assert runtime_of(db_session).box.open_text(raw[0], SEED_PURPOSE) == enrolled.seed
    uri = pyotp.parse_uri(enrolled.uri)
    assert uri.secret == enrolled.seed and uri.name == "alice" and uri.issuer == "Adal"
    assert len(enrolled.recovery_codes) == 10 and len(set(enrolled.recovery_codes)) == 10
    hashes = db_session.execute(select(AdminRecoveryCode.code_hash)).scalars().all()
    assert not any(code.replace("-", "") in h or code in h for code in enrolled.recovery_codes for h in hashes)
    [entry] = _audit(db_session, "admin.created")
    assert entry.actor == "system:cli:tester" and enrolled.seed not in (entry.payload or "")


@pytest.mark.parametrize(("username", "password"), [
    ("", PASSWORD), ("-alice", PASSWORD), ("al ice", PASSWORD), ("a" * 65, PASSWORD), ("алия", PASSWORD),
    ("bob", "short"), ("bob", "x" * 1025),
])
def test_bad_username_or_password_is_refused_and_changes_nothing(db_session, username, password):
    before = _counts(db_session)
    with pytest.raises(InvalidInput):
        create_admin(db_session, CLI, username, password, now=T0)
    assert _counts(db_session) == before


def test_a_taken_username_is_refused(db_session, enrolled):
    before = _counts(db_session)
    with pytest.raises(InvalidInput, match="exists already"):
        create_admin(db_session, CLI, "ALICE", PASSWORD, now=T0)
    assert _counts(db_session) == before


def test_password_right_and_wrong(db_session, enrolled):
    assert check_password(db_session, "alice", PASSWORD, now=T0).id == enrolled.account.id
    with pytest.raises(LoginRefused) as refused:
        check_password(db_session, "alice", PASSWORD + "!", now=T0)
    assert refused.value.reason == "password" and refused.value.status == 401
    with pytest.raises(LoginRefused) as unknown:
        check_password(db_session, "nobody", PASSWORD, now=T0)
    assert unknown.value.reason == "unknown"
    assert str(unknown.value) == str(refused.value)  # one message: it does not tell which usernames exist
    db_session.refresh(enrolled.account)
    assert enrolled.account.failed_attempts == 1
    assert [e.payload for e in _audit(db_session, "admin.password_accepted")]
    failed = _audit(db_session, "admin.login_failed")
    assert [e.actor for e in failed] == ["system:admin:alice", "system:admin-login"]
    assert "nobody" not in (failed[1].payload or "") and PASSWORD not in (failed[0].payload or "")


def test_totp_right_drift_wrong_and_replayed(db_session, enrolled):
    totp = pyotp.TOTP(enrolled.seed)
    account_id = enrolled.account.id
    with pytest.raises(LoginRefused) as wrong:
        check_second_factor(db_session, account_id, "000000" if totp.at(T0) != "000000" else "111111", now=T0)
    assert wrong.value.reason == "code"
    account, token = check_second_factor(db_session, account_id, totp.at(T0), now=T0)
    assert account.id == account_id and len(token) > 30
    with pytest.raises(LoginRefused) as replayed:
        check_second_factor(db_session, account_id, totp.at(T0), now=T0 + timedelta(seconds=5))
    assert replayed.value.reason == "replayed"
    # the previous step's code is earlier than the one used: refused too
    with pytest.raises(LoginRefused):
        check_second_factor(db_session, account_id, totp.at(T0 - timedelta(seconds=30)), now=T0)
    # one step of drift is accepted, two are not
    later = T0 + timedelta(minutes=5)
    with pytest.raises(LoginRefused):
        check_second_factor(db_session, account_id, totp.at(later - timedelta(seconds=60)), now=later)
    check_second_factor(db_session, account_id, totp.at(later - timedelta(seconds=30)), now=later)
    logins = _audit(db_session, "admin.login")
    assert len(logins) == 2 and all(e.actor == "system:admin:alice" for e in logins)
    reasons = [e.payload for e in _audit(db_session, "admin.login_failed")]
    assert any('"replayed"' in (p or "") for p in reasons)


def test_a_recovery_code_works_once(db_session, enrolled):
    code = enrolled.recovery_codes[3]
    check_second_factor(db_session, enrolled.account.id, code.upper().replace("-", " "), now=T0)
    with pytest.raises(LoginRefused):
        check_second_factor(db_session, enrolled.account.id, code, now=T0 + timedelta(minutes=1))
    [used] = _audit(db_session, "admin.recovery_code_used")
    assert '"left":9' in (used.payload or "")
    assert list_admins(db_session, now=T0)[0].recovery_codes_left == 9


def test_lockout_after_five_failures_and_its_expiry(db_session, enrolled):
    for attempt in range(MAX_FAILURES):
        with pytest.raises(LoginRefused) as refused:
            check_password(db_session, "alice", f"wrong {attempt}", now=T0 + timedelta(seconds=attempt))
    assert refused.value.locked_now
    [locked] = _audit(db_session, "admin.locked")
    assert locked.actor == "system:admin:alice"
    # the right password, and then a right code, are refused while locked
    with pytest.raises(LoginRefused) as still:
        check_password(db_session, "alice", PASSWORD, now=T0 + timedelta(minutes=14))
    assert still.value.reason == "locked"
    with pytest.raises(LoginRefused):
        check_second_factor(db_session, enrolled.account.id, pyotp.TOTP(enrolled.seed).at(T0 + timedelta(minutes=14)),
                            now=T0 + timedelta(minutes=14))
    # fifteen minutes later the lock has expired and the count starts again
    after = T0 + timedelta(minutes=15, seconds=5)
    assert check_password(db_session, "alice", PASSWORD, now=after).id == enrolled.account.id
    db_session.refresh(enrolled.account)
    assert enrolled.account.failed_attempts == 0 and enrolled.account.locked_until is None


def test_second_factor_failures_count_towards_the_lockout(db_session, enrolled):
    for attempt in range(MAX_FAILURES):
        with pytest.raises(LoginRefused):
            check_second_factor(db_session, enrolled.account.id, "zzzz-zzzz-zzzz-zzzz",
                                now=T0 + timedelta(seconds=attempt))
    db_session.refresh(enrolled.account)
    assert enrolled.account.locked_until == T0 + timedelta(seconds=MAX_FAILURES - 1, minutes=15)
    unlock_admin(db_session, CLI, "alice", now=T0 + timedelta(minutes=1))
    db_session.refresh(enrolled.account)
    assert enrolled.account.locked_until is None and enrolled.account.failed_attempts == 0
    assert len(_audit(db_session, "admin.unlocked")) == 1
    with pytest.raises(NotFound):
        unlock_admin(db_session, CLI, "nobody", now=T0)


def test_a_known_password_does_not_reset_the_count(db_session, enrolled):
    for attempt in range(MAX_FAILURES - 1):
        with pytest.raises(LoginRefused):
            check_second_factor(db_session, enrolled.account.id, "123", now=T0 + timedelta(seconds=attempt))
    check_password(db_session, "alice", PASSWORD, now=T0 + timedelta(seconds=10))
    with pytest.raises(LoginRefused) as fifth:
        check_second_factor(db_session, enrolled.account.id, "123", now=T0 + timedelta(seconds=11))
    assert fifth.value.locked_now


def test_sessions_idle_absolute_and_logout(db_session, enrolled):
    totp = pyotp.TOTP(enrolled.seed)
    _account, token = check_second_factor(db_session, enrolled.account.id, totp.at(T0), now=T0)
    idle, absolute = timedelta(minutes=30), timedelta(hours=8)
    # active every 29 minutes: alive until the absolute limit
    moment = T0
    while moment + timedelta(minutes=29) <= T0 + absolute:
        moment += timedelta(minutes=29)
        assert session_account(db_session, token, now=moment, idle=idle, absolute=absolute) is not None
    assert session_account(db_session, token, now=T0 + absolute + timedelta(minutes=1), idle=idle,
                           absolute=absolute) is None
    assert '"absolute"' in (_audit(db_session, "admin.session_expired")[0].payload or "")
    # a new session left idle for 31 minutes is over, and stays over
    start = T0 + timedelta(hours=9)
    _account, second = check_second_factor(db_session, enrolled.account.id, totp.at(start), now=start)
    assert session_account(db_session, second, now=start + timedelta(minutes=31), idle=idle, absolute=absolute) is None
    assert session_account(db_session, second, now=start + timedelta(minutes=32), idle=idle, absolute=absolute) is None
    # logout ends a session on the server
    start = T0 + timedelta(hours=10)
    _account, third = check_second_factor(db_session, enrolled.account.id, totp.at(start), now=start)
    end_session(db_session, third, now=start + timedelta(minutes=1))
    assert session_account(db_session, third, now=start + timedelta(minutes=2)) is None
    assert len(_audit(db_session, "admin.logout")) == 1
    assert session_account(db_session, "not-a-token", now=start) is None


def test_reset_second_factor_replaces_seed_codes_and_ends_sessions(db_session, enrolled):
    old_totp = pyotp.TOTP(enrolled.seed)
    _account, token = check_second_factor(db_session, enrolled.account.id, old_totp.at(T0), now=T0)
    fresh = reset_second_factor(db_session, CLI, "alice", now=T0 + timedelta(minutes=1))
    assert fresh.seed != enrolled.seed and set(fresh.recovery_codes).isdisjoint(enrolled.recovery_codes)
    assert session_account(db_session, token, now=T0 + timedelta(minutes=2)) is None
    later = T0 + timedelta(minutes=3)
    with pytest.raises(LoginRefused):
        check_second_factor(db_session, enrolled.account.id, enrolled.recovery_codes[0], now=later)
    with pytest.raises(LoginRefused):
        check_second_factor(db_session, enrolled.account.id, old_totp.at(later), now=later)
    check_second_factor(db_session, enrolled.account.id, pyotp.TOTP(fresh.seed).at(later), now=later)
    assert len(_audit(db_session, "admin.second_factor_reset")) == 1

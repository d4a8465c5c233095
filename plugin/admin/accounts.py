"""Admin accounts: creation, the password and second-factor checks, lockout, sessions.

Signing in takes two steps. ``check_password`` accepts the password; ``check_second_factor``
then accepts a TOTP code (RFC 6238: 30-second steps, 6 digits, one step of clock drift either
way) or one of the account's single-use recovery codes, and opens an ``AdminSession``.

* **Replay.** A TOTP code is accepted once: the account keeps the last accepted time-step and
  refuses that step and every earlier one (one conditional UPDATE, so two requests racing with
  the same code cannot both win). A recovery code is marked used the same way.
* **Lockout.** Every failed attempt, of either step, counts; the fifth within one lock window
  locks the account for 15 minutes (``MAX_FAILURES``, ``LOCK_MINUTES``). A locked account is
  refused before its password is even looked at. Only a complete sign-in, or ``adal admin
  unlock``, sets the count back to zero: a known password alone does not, so it cannot be used
  to keep guessing codes.
* **Sessions** end after ``idle`` without a request (30 minutes by default) and ``absolute`` after
  they began (8 hours), on logout, and when the account's second factor is reset.

Every outcome writes an audit entry under the actor ``system:admin:<username>`` (an unknown
username: ``system:admin-login``); the audit never holds a password, code or seed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlmodel import Session

from plugin.admin.models import AdminAccount, AdminRecoveryCode, AdminSession
from plugin.kernel import audit
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.runtime import runtime_of
from plugin.kernel.users import Actor

SEED_PURPOSE = "admin_totp_seed"
TOTP_ISSUER = "Adal"
TOTP_STEP_SECONDS = 30
TOTP_DRIFT_STEPS = 1
MAX_FAILURES = 5
LOCK_MINUTES = 15
RECOVERY_CODES = 10
PENDING_SECONDS = 300  # between the password and the code
IDLE_MINUTES = 30
ABSOLUTE_HOURS = 8
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Checked when the username is unknown or locked, so that the answer takes as long as for a real one.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class LoginRefused(InvalidInput):
    """A sign-in step failed. ``reason`` is for the audit (``unknown``, ``locked``, ``password``,
    ``code``, ``replayed``, ``expired``); the person sees one message whatever it is, so that it
    does not tell which usernames exist."""

    status = 401

    def __init__(self, reason: str, *, locked_now: bool = False) -> None:
        super().__init__(_("The username, password or code is not right, or the account is locked for %(minutes)d "
                           "minutes after %(attempts)d failed attempts.", minutes=LOCK_MINUTES,
                           attempts=MAX_FAILURES))
        self.reason = reason
        self.locked_now = locked_now


@dataclass(frozen=True)
class Enrolment:
    """What an admin needs once, to set up their authenticator app: never stored in clear."""

    account: AdminAccount
    uri: str
    seed: str
    recovery_codes: list[str]


def admin_label(username: str) -> str:
    return f"admin:{username}"


def actor_for(account: AdminAccount) -> Actor:
    return Actor.system(admin_label(account.username))


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    """Raises ``InvalidInput`` for a password shorter than 12 or longer than 1024 characters."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(_("An admin password has at least %(n)d characters.", n=MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(_("An admin password has at most %(n)d characters.", n=MAX_PASSWORD))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", (code or "").lower())


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))  # 16 * log2(31) > 79 bits
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def seed_of(session: Session, account: AdminAccount) -> str:
    return runtime_of(session).box.open_text(account.totp_seed_sealed, SEED_PURPOSE)


def _enrol(session: Session, account: AdminAccount, *, now: datetime) -> Enrolment:
    """A new seed and new recovery codes for ``account`` (the old codes are deleted)."""
    seed = pyotp.random_base32()
    account.totp_seed_sealed = runtime_of(session).box.seal(seed, SEED_PURPOSE)
    account.last_totp_step = None
    session.flush()
    for old in session.execute(select(AdminRecoveryCode).where(AdminRecoveryCode.account_id == account.id)).scalars():
        session.delete(old)
    session.flush()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        session.add(AdminRecoveryCode(account_id=account.id, code_hash=_digest(normalise_code(code)), created_at=now))
    session.flush()
    uri = pyotp.TOTP(seed).provisioning_uri(name=account.username, issuer_name=TOTP_ISSUER)
    return Enrolment(account=account, uri=uri, seed=seed, recovery_codes=codes)


def create_admin(session: Session, actor: Actor, username: str, password: str, *, now: datetime) -> Enrolment:
    """A new admin account with a fresh TOTP seed and 10 recovery codes; audits ``admin.created``.

    Raises ``InvalidInput`` for a username that is not 1–64 lowercase Latin letters, digits, dots,
    hyphens or underscores (starting with a letter or digit), one already taken, or a password
    outside 12–1024 characters.
    """
    clean = normalise_username(username)
    if not _USERNAME.fullmatch(clean):
        raise InvalidInput(_("An admin's username is 1 to 64 Latin letters, digits, dots, hyphens or underscores, "
                             "starting with a letter or digit."))
    check_password_policy(password)
    if find_admin(session, clean) is not None:
        raise InvalidInput(_("An admin named %(name)s exists already.", name=clean))
    account = AdminAccount(username=clean, password_hash=hash_password(password), totp_seed_sealed="",
                           created_at=now, created_by=actor.label)
    session.add(account)
    session.flush()
    enrolment = _enrol(session, account, now=now)
    audit.record(session, actor, "admin.created", now=now, subject=f"admin:{account.id}",
                 payload={"username": clean})
    return enrolment


def find_admin(session: Session, username: str) -> AdminAccount | None:
    return session.execute(select(AdminAccount).where(AdminAccount.username == normalise_username(username))
                           ).scalar_one_or_none()


def _named(session: Session, username: str) -> AdminAccount:
    account = find_admin(session, username)
    if account is None:
        raise NotFound(_("There is no admin named %(name)s.", name=normalise_username(username)))
    return account


@dataclass(frozen=True)
class AdminListing:
    account: AdminAccount
    recovery_codes_left: int
    open_sessions: int


def list_admins(session: Session, *, now: datetime) -> list[AdminListing]:
    """Every admin by username, with unused recovery codes and sessions still open."""
    codes = dict(session.execute(select(AdminRecoveryCode.account_id, func.count()).where(
        AdminRecoveryCode.used_at.is_(None)).group_by(AdminRecoveryCode.account_id)).all())
    sessions = dict(session.execute(select(AdminSession.account_id, func.count()).where(
        AdminSession.ended_at.is_(None)).group_by(AdminSession.account_id)).all())
    return [AdminListing(account, int(codes.get(account.id, 0)), int(sessions.get(account.id, 0)))
            for account in session.execute(select(AdminAccount).order_by(AdminAccount.username)).scalars()]


def is_locked(account: AdminAccount, now: datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


def unlock_admin(session: Session, actor: Actor, username: str, *, now: datetime) -> AdminAccount:
    """Lift a lockout and forget the failed attempts; audits ``admin.unlocked``. Raises ``NotFound``."""
    account = _named(session, username)
    account.failed_attempts, account.locked_until = 0, None
    session.flush()
    audit.record(session, actor, "admin.unlocked", now=now, subject=f"admin:{account.id}",
                 payload={"username": account.username})
    return account


def reset_second_factor(session: Session, actor: Actor, username: str, *, now: datetime) -> Enrolment:
    """A new TOTP seed and new recovery codes (the old ones stop working), and every open session
    of the account ends; audits ``admin.second_factor_reset``. Raises ``NotFound``."""
    account = _named(session, username)
    enrolment = _enrol(session, account, now=now)
    _end_sessions(session, account, now=now, reason="reset")
    audit.record(session, actor, "admin.second_factor_reset", now=now, subject=f"admin:{account.id}",
                 payload={"username": account.username})
    return enrolment


def reset_password(session: Session, actor: Actor, username: str, password: str, *, now: datetime) -> AdminAccount:
    """A new password (used by ``adal demo``, which shows it); audits ``admin.password_reset``."""
    check_password_policy(password)
    account = _named(session, username)
    account.password_hash = hash_password(password)
    session.flush()
    audit.record(session, actor, "admin.password_reset", now=now, subject=f"admin:{account.id}",
                 payload={"username": account.username})
    return account


# -- signing in -------------------------------------------------------------------------------
_A = AdminAccount.__table__
_R = AdminRecoveryCode.__table__


def _fail(session: Session, account: AdminAccount, reason: str, *, step: str, now: datetime,
          address: str | None) -> LoginRefused:
    """Count a failed attempt (one UPDATE, so parallel guesses all count), lock on the fifth,
    audit ``admin.login_failed`` (and ``admin.locked``); returns the error to raise."""
    count = session.execute(update(_A).where(_A.c.id == account.id)
                            .values(failed_attempts=_A.c.failed_attempts + 1)
                            .returning(_A.c.failed_attempts)).scalar_one()
    actor = actor_for(account)
    audit.record(session, actor, "admin.login_failed", now=now, subject=f"admin:{account.id}",
                 payload={"step": step, "reason": reason, "failed_attempts": count, "address": address})
    locked_now = count >= MAX_FAILURES
    if locked_now:
        until = now + timedelta(minutes=LOCK_MINUTES)
        session.execute(update(_A).where(_A.c.id == account.id).values(locked_until=until))
        audit.record(session, actor, "admin.locked", now=now, subject=f"admin:{account.id}",
                     payload={"minutes": LOCK_MINUTES, "after_failures": count})
    session.expire(account)
    return LoginRefused(reason, locked_now=locked_now)


def _refuse_locked(session: Session, account: AdminAccount, *, step: str, now: datetime,
                   address: str | None) -> LoginRefused:
    audit.record(session, actor_for(account), "admin.login_failed", now=now, subject=f"admin:{account.id}",
                 payload={"step": step, "reason": "locked", "address": address})
    return LoginRefused("locked")


def _lift_expired_lock(session: Session, account: AdminAccount, now: datetime) -> None:
    if account.locked_until is not None and account.locked_until <= now:
        account.locked_until, account.failed_attempts = None, 0
        session.flush()


def check_password(session: Session, username: str, password: str, *, now: datetime,
                   address: str | None = None) -> AdminAccount:
    """The first step: the account whose password this is. Audits ``admin.password_accepted`` or
    ``admin.login_failed``. Raises ``LoginRefused`` (its failure counted and audited: the caller
    must commit even so)."""
    account = find_admin(session, username)
    if account is None:
        _verify(_DUMMY_HASH, password)
        audit.record(session, "system:admin-login", "admin.login_failed", now=now,
                     payload={"step": "password", "reason": "unknown", "address": address})
        raise LoginRefused("unknown")
    _lift_expired_lock(session, account, now)
    if is_locked(account, now):
        _verify(_DUMMY_HASH, password)
        raise _refuse_locked(session, account, step="password", now=now, address=address)
    if not _verify(account.password_hash, password):
        raise _fail(session, account, "password", step="password", now=now, address=address)
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
        session.flush()
    audit.record(session, actor_for(account), "admin.password_accepted", now=now, subject=f"admin:{account.id}",
                 payload={"address": address})
    return account


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def totp_step(now: datetime) -> int:
    return int(now.timestamp()) // TOTP_STEP_SECONDS


def current_code(seed: str, now: datetime) -> str:
    """The code an authenticator app shows at ``now`` (the demo page shows it)."""
    return pyotp.TOTP(seed).at(now)


def _matching_step(seed: str, code: str, now: datetime) -> int | None:
    totp = pyotp.TOTP(seed)
    here = totp_step(now)
    for step in range(here - TOTP_DRIFT_STEPS, here + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_second_factor(session: Session, account_id: int, code: str, *, now: datetime,
                        address: str | None = None) -> tuple[AdminAccount, str]:
    """The second step: a TOTP code or an unused recovery code. On success the failed attempts are
    forgotten, a session opens, and ``admin.login`` is audited (``admin.recovery_code_used`` too);
    returns the account and the session's token for the browser. Raises ``LoginRefused`` (counted
    and audited: the caller must commit even so)."""
    account = session.get(AdminAccount, account_id)
    if account is None:
        raise LoginRefused("unknown")
    _lift_expired_lock(session, account, now)
    if is_locked(account, now):
        raise _refuse_locked(session, account, step="second_factor", now=now, address=address)
    given = normalise_code(code)
    method = "totp"
    if re.fullmatch(r"\d{6}", given):
        step = _matching_step(seed_of(session, account), given, now)
        if step is None:
            raise _fail(session, account, "code", step="second_factor", now=now, address=address)
        won = session.execute(update(_A).where(
            _A.c.id == account.id, (_A.c.last_totp_step.is_(None)) | (_A.c.last_totp_step < step))
            .values(last_totp_step=step)).rowcount
        if won != 1:
            raise _fail(session, account, "replayed", step="second_factor", now=now, address=address)
    else:
        method = "recovery_code"
        used = session.execute(update(_R).where(
            _R.c.account_id == account.id, _R.c.code_hash == _digest(given), _R.c.used_at.is_(None))
            .values(used_at=now)).rowcount if given else 0
        if used != 1:
            raise _fail(session, account, "code", step="second_factor", now=now, address=address)
    session.execute(update(_A).where(_A.c.id == account.id).values(failed_attempts=0, locked_until=None))
    session.expire(account)
    token = secrets.token_urlsafe(32)
    row = AdminSession(account_id=account.id, token_hash=_digest(token), started_at=now, last_seen_at=now)
    session.add(row)
    session.flush()
    actor = actor_for(account)
    if method == "recovery_code":
        left = session.execute(select(func.count()).select_from(AdminRecoveryCode).where(
            AdminRecoveryCode.account_id == account.id, AdminRecoveryCode.used_at.is_(None))).scalar_one()
        audit.record(session, actor, "admin.recovery_code_used", now=now, subject=f"admin:{account.id}",
                     payload={"left": int(left)})
    audit.record(session, actor, "admin.login", now=now, subject=f"admin:{account.id}",
                 payload={"method": method, "session": row.id, "address": address})
    return account, token


def session_account(session: Session, token: str, *, now: datetime, idle: timedelta = timedelta(minutes=IDLE_MINUTES),
                    absolute: timedelta = timedelta(hours=ABSOLUTE_HOURS)) -> AdminAccount | None:
    """The account signed in with ``token``, its last request moved to ``now``; ``None`` for an
    unknown or ended session. A session idle longer than ``idle`` or older than ``absolute`` is
    ended here (audited ``admin.session_expired``)."""
    row = session.execute(select(AdminSession).where(AdminSession.token_hash == _digest(token or ""),
                                                     AdminSession.ended_at.is_(None))).scalar_one_or_none()
    if row is None:
        return None
    account = session.get(AdminAccount, row.account_id)
    if account is None:
        return None
    reason = "idle" if now - row.last_seen_at > idle else "absolute" if now - row.started_at > absolute else None
    if reason is not None:
        row.ended_at, row.end_reason = now, reason
        session.flush()
        audit.record(session, actor_for(account), "admin.session_expired", now=now, subject=f"admin:{account.id}",
                     payload={"session": row.id, "reason": reason})
        return None
    row.last_seen_at = now
    session.flush()
    return account


def end_session(session: Session, token: str, *, now: datetime) -> None:
    """Logout: the session ends (audited ``admin.logout``); an unknown or ended one is ignored."""
    row = session.execute(select(AdminSession).where(AdminSession.token_hash == _digest(token or ""),
                                                     AdminSession.ended_at.is_(None))).scalar_one_or_none()
    if row is None:
        return
    row.ended_at, row.end_reason = now, "logout"
    session.flush()
    account = session.get(AdminAccount, row.account_id)
    label = actor_for(account) if account is not None else "system:admin-login"
    audit.record(session, label, "admin.logout", now=now, subject=f"admin:{row.account_id}",
                 payload={"session": row.id})


def _end_sessions(session: Session, account: AdminAccount, *, now: datetime, reason: str) -> None:
    for row in session.execute(select(AdminSession).where(AdminSession.account_id == account.id,
                                                          AdminSession.ended_at.is_(None))).scalars():
        row.ended_at, row.end_reason = now, reason
    session.flush()

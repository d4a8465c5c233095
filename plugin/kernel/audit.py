"""The tamper-evident audit log: an append-only, hash-chained, keyed (HMAC) journal.

Entry *n* stores the SHA-256 of its payload and ``mac_n = HMAC(audit_key, [n, mac_{n-1},
payload_hash, time, actor, action, subject])``. Without the audit key (kept in the instance folder,
never in the database) nobody can edit, insert, reorder or delete an entry and recompute a chain
that verifies. Deleting the *last* entries is caught by the head (sequence number + MAC), which is
written outside the database after every commit that appended. Retention may erase a payload: its
hash stays, so the chain still verifies; verification asks for the ``audit.payload_erased`` entry
that records each erasure, so a payload removed behind Adal's back is caught.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import CheckConstraint, Column, Integer, String, Text, bindparam, insert, update
from sqlmodel import Field, Session, SQLModel, select

from plugin.kernel.clock import UTCDateTime, iso
from plugin.kernel.runtime import AuditKeyring, runtime_of
from plugin.kernel.users import Actor

GENESIS = "0" * 64
log = logging.getLogger("adal.audit")
_PENDING = "adal.audit_head_pending"


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (CheckConstraint("seq > 0", name="seq_positive"),)

    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    action: str = Field(sa_column=Column(String(100), nullable=False, index=True))
    subject: str | None = Field(default=None, sa_column=Column(String(200), nullable=True, index=True))
    payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    payload_hash: str = Field(sa_column=Column(String(64), nullable=False))
    prev_mac: str = Field(sa_column=Column(String(64), nullable=False))
    mac: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class AuditHead(SQLModel, table=True):
    """One row: the last sequence number and MAC. Appends lock it, so the chain never forks."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    mac: str = Field(sa_column=Column(String(64), nullable=False))


# Built once: the audit append runs in every request that changes something.
_ADVANCE_HEAD = (update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
                 .values(seq=AuditHead.__table__.c.seq + 1)
                 .returning(AuditHead.__table__.c.seq, AuditHead.__table__.c.mac))
_INSERT_ENTRY = insert(AuditEntry.__table__)
_SET_HEAD_MAC = (update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
                 .values(mac=bindparam("mac")))


def canonical_payload(payload: dict[str, Any] | None) -> str:
    return json.dumps(payload or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def payload_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compute_mac(key: bytes, *, seq: int, prev_mac: str, payload_hash: str, at: datetime, actor: str,
                action: str, subject: str | None) -> str:
    message = json.dumps([seq, prev_mac, payload_hash, iso(at), actor, action, subject],
                         ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def record(session: Session, actor: Actor | str, action: str, *, now: datetime,
           subject: str | None = None, payload: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the change).

    Raises ``ValueError`` for an action or actor label with control characters.
    """
    actor_label = actor.label if isinstance(actor, Actor) else actor
    for text in (actor_label, action, subject or ""):
        if not text.isprintable():  # no control characters, line or paragraph separators
            raise ValueError("audit labels must be single-line printable text")
    keyring = runtime_of(session).audit
    # Advancing the head first takes its row lock (PostgreSQL) or the write lock (SQLite) before
    # anything else, so concurrent appends queue up instead of forking the chain. The head's mac
    # is not touched yet, so RETURNING gives the previous entry's MAC.
    advanced = session.execute(_ADVANCE_HEAD).first()
    if advanced is None:  # a database made without the migration's head row
        session.execute(insert(AuditHead.__table__).values(id=1, seq=0, mac=GENESIS))
        advanced = session.execute(_ADVANCE_HEAD).one()
    seq, prev_mac = int(advanced[0]), str(advanced[1])
    text = canonical_payload(payload)
    digest = payload_digest(text)
    mac = compute_mac(keyring.key, seq=seq, prev_mac=prev_mac, payload_hash=digest, at=now,
                      actor=actor_label, action=action, subject=subject)
    entry = AuditEntry(seq=seq, at=now, actor=actor_label, action=action, subject=subject,
                       payload=text, payload_hash=digest, prev_mac=prev_mac, mac=mac)
    session.execute(_INSERT_ENTRY, {"seq": seq, "at": now, "actor": actor_label, "action": action,
                                    "subject": subject, "payload": text, "payload_hash": digest,
                                    "prev_mac": prev_mac, "mac": mac})
    session.execute(_SET_HEAD_MAC, {"mac": mac})
    session.info[_PENDING] = (seq, mac)
    return entry  # a detached record of what was written


def erase_payload(session: Session, actor: Actor | str, seq: int, *, reason: str, now: datetime) -> None:
    """Erase an entry's payload for retention, keeping its hash; audited as ``audit.payload_erased``.

    Raises ``LookupError`` when there is no entry ``seq``.
    """
    entry = session.get(AuditEntry, seq)
    if entry is None:
        raise LookupError(f"no audit entry #{seq}")
    if entry.payload is not None:
        entry.payload, entry.erased_at = None, now
        record(session, actor, "audit.payload_erased", now=now, subject=f"audit:{seq}", payload={"reason": reason})


# -- the head kept outside the database ------------------------------------------------------
def _head_seal(key: bytes, seq: int, mac: str) -> str:
    return hmac.new(key, json.dumps(["head", seq, mac]).encode("utf-8"), hashlib.sha256).hexdigest()


def read_external_head(path: Path, key: bytes | None = None) -> tuple[int, str] | None:
    """(seq, mac) from the head file, or None when there is none.

    With ``key``, the file's seal is checked too: someone who can write the database and this
    file, but lacks the key, cannot move the head back to hide deleted entries. Raises
    ``ValueError`` for an unreadable or unsealed file.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    seq, mac = int(data["seq"]), str(data["mac"])
    if key is not None and not hmac.compare_digest(str(data.get("seal", "")), _head_seal(key, seq, mac)):
        raise ValueError("the head record's seal does not match")
    return seq, mac


def write_external_head(path: Path, key: bytes, seq: int, mac: str) -> None:
    """Advance the head file to (seq, mac) unless it already records a later entry.

    Several workers commit concurrently and may reach this out of order; a lock file and the
    "only forward" rule keep the file at the highest committed entry.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = read_external_head(path)
        except (ValueError, KeyError, TypeError):
            current = None  # unreadable: verification reports it; a valid head replaces it
        if current is not None and current[0] >= seq:
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"seq": seq, "mac": mac, "seal": _head_seal(key, seq, mac)}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


def publish_head_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released: nothing is committed until the outer transaction is
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        keyring = runtime_of(session).audit
        try:
            write_external_head(keyring.head_path, keyring.key, *pending)
        except OSError:
            # The change is already committed; failing the request now would only hide that.
            # `adal audit verify` reports the head record as behind until the next append.
            log.exception("could not write the audit head record %s", keyring.head_path)


def forget_head_after_rollback(session: Session, _previous_transaction: object) -> None:
    session.info.pop(_PENDING, None)


# -- verification ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    problem: str | None = None
    bad_seq: int | None = None
    note: str | None = None


def _entries(session: Session) -> Iterator[AuditEntry]:
    yield from session.exec(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(1000)


def verify(session: Session, keyring: AuditKeyring) -> Verification:
    """Check the whole chain; stop at the first bad entry and name it."""
    prev, expected, count = GENESIS, 1, 0
    without_payload: list[int] = []  # entries whose payload is gone; each needs an erasure record
    erasures: set[int] = set()
    for entry in _entries(session):
        count += 1
        if entry.seq != expected:
            return Verification(False, count, f"entry #{expected} is missing or out of place (found #{entry.seq})",
                                expected)
        if entry.prev_mac != prev:
            return Verification(False, count, f"entry #{entry.seq} does not follow entry #{entry.seq - 1}",
                                entry.seq)
        mac = compute_mac(keyring.key, seq=entry.seq, prev_mac=entry.prev_mac, payload_hash=entry.payload_hash,
                          at=entry.at, actor=entry.actor, action=entry.action, subject=entry.subject)
        if not hmac.compare_digest(mac, entry.mac):
            return Verification(False, count, f"entry #{entry.seq} was altered (its MAC does not match)", entry.seq)
        if entry.payload is not None and payload_digest(entry.payload) != entry.payload_hash:
            return Verification(False, count, f"entry #{entry.seq} has a payload that does not match its hash",
                                entry.seq)
        if entry.payload is None:
            without_payload.append(entry.seq)
        erased = (entry.subject or "").removeprefix("audit:")
        if entry.action == "audit.payload_erased" and erased.isascii() and erased.isdecimal():
            erasures.add(int(erased))
        prev, expected = entry.mac, expected + 1
    unexplained = [seq for seq in without_payload if seq not in erasures]
    if unexplained:
        return Verification(False, count, f"entry #{unexplained[0]} lost its payload without an erasure record",
                            unexplained[0])
    last = expected - 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq, head.mac) != (last, prev):
        return Verification(False, count, f"the database head says #{head.seq} but the chain ends at #{last}",
                            last + 1)
    try:
        external = read_external_head(keyring.head_path, keyring.key)
    except (ValueError, KeyError, TypeError):
        return Verification(False, count, f"the head record {keyring.head_path} is unreadable or its seal "
                            "does not match", None)
    if external is None:
        if count:
            return Verification(False, count, f"the head record {keyring.head_path} is missing", None)
        return Verification(True, 0)
    ext_seq, ext_mac = external
    if ext_seq > last:
        return Verification(False, count, f"entries #{last + 1}..#{ext_seq} were deleted "
                            f"(the head record says the log reached #{ext_seq})", last + 1)
    if ext_seq:
        entry = session.get(AuditEntry, ext_seq)
        if entry is None or not hmac.compare_digest(entry.mac, ext_mac):
            return Verification(False, count, f"entry #{ext_seq} does not match the head record", ext_seq)
    note = None
    if ext_seq < last:
        # Entries past the head that verify with the key were written by Adal; the head file
        # lags only when a process died between its commit and the head write.
        note = f"the head record is {last - ext_seq} entries behind; they verify with the key"
    return Verification(True, count, note=note)

"""Secrets in the database are hashed or sealed, never kept in clear.

Every column whose name suggests a secret must be in ``PROTECTED`` (with how it is protected) or
in ``NOT_SECRET`` (with why the name misleads): a new unexplained secret-like column fails. Then
the services that issue secrets are run and every stored value is checked against its claimed
protection, and no secret handed out appears in clear anywhere in the database."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import SQLModel

from evidence.integrations import add_integration
from evidence.integrations import token_digest as integration_digest
from lti.dynreg import create_registration_link
from lti.keys import signing_key
from plugin.admin.accounts import create_admin
from plugin.kernel.runtime import runtime_of
from plugin.kernel.users import Actor
from plugin.migrations import load_all_models
from tests.factories import T0

#: Name parts that suggest a secret (column names are split on "_").
SECRET_WORDS = {"secret", "secrets", "token", "tokens", "password", "passwd", "passphrase", "pwd", "seed", "private",
                "credential", "credentials", "otp", "totp", "hotp", "recovery", "salt", "key", "apikey", "pin", "mfa"}
SHA256, ARGON2ID = "sha256", "argon2id"

#: (table, column) -> (protection, purpose for sealed values). "sha256": the hex SHA-256 of a random
#: value of at least 80 bits (a guess is hopeless, so no slow hash is needed); "argon2id": a
#: password chosen by a person; "sealed": AES-256-GCM under the instance's data key
#: (``plugin.kernel.crypto.SecretBox``) with the purpose bound as associated data, for secrets that
#: must be read back.
PROTECTED: dict[tuple[str, str], tuple[str, str | None]] = {
    ("admin_account", "password_hash"): (ARGON2ID, None),
    ("admin_account", "totp_seed_sealed"): ("sealed", "admin_totp_seed"),  # read back to check codes
    ("admin_recovery_code", "code_hash"): (SHA256, None),  # listed though its name does not match
    ("admin_session", "token_hash"): (SHA256, None),  # the browser holds the token
    ("integration", "token_hash"): (SHA256, None),  # the bearer token
    ("integration", "secret_sealed"): ("sealed", "integration_secret"),  # read back to check HMACs
    ("lti_tool_key", "private_key_sealed"): ("sealed", "lti.tool_private_key"),  # signs our JWTs
    ("lti_login_state", "storage_secret_hash"): (SHA256, None),  # Platform Storage browser proof
    ("lti_registration_link", "token_hash"): (SHA256, None),  # one-time dynamic-registration link
}
#: Names that look secret but are not, and why.
NOT_SECRET: dict[tuple[str, str], str] = {
    ("admin_account", "last_totp_step"): "the time step of the last accepted code, against replay",
    ("lti_platform", "auth_token_url"): "the platform's public OAuth token endpoint",
    ("notification", "key"): "what a reminder is about (case:12:appeal_window_closing), one per person",
    ("setting", "key"): "a setting's name",
    ("submission", "idempotency_key"): "a form's random id against double submission, grants nothing",
}


def _secret_like(name: str) -> bool:
    parts = set(name.lower().split("_"))
    return bool(parts & SECRET_WORDS) or any(w in name.lower() for w in ("password", "secret", "token"))


def _secret_like_columns() -> set[tuple[str, str]]:
    load_all_models()
    return {(table.name, column.name) for table in SQLModel.metadata.sorted_tables for column in table.columns
            if _secret_like(column.name)}


def test_every_secret_like_column_is_explained():
    found = _secret_like_columns()
    unexplained = found - set(PROTECTED) - set(NOT_SECRET)
    assert not unexplained, (f"columns that look like secrets with no stated protection: {sorted(unexplained)}; "
                             "hash or seal them, then list them in PROTECTED (or NOT_SECRET, saying why)")
    columns = {(table.name, column.name) for table in SQLModel.metadata.sorted_tables for column in table.columns}
    stale = (set(PROTECTED) | set(NOT_SECRET)) - columns
    assert not stale, f"listed columns that no longer exist: {sorted(stale)}"


def test_a_new_plain_secret_column_would_fail():
    for name in ("api_token", "smtp_password", "client_secret", "webhook_key", "totp_seed", "private_key_pem"):
        assert _secret_like(name), name
    for name in ("title", "submitted_at", "score", "display_name"):
        assert not _secret_like(name), name


def test_issued_secrets_are_stored_only_as_claimed(db_session):
    actor = Actor.system("test")
    issued = add_integration(db_session, actor, "Synthetic detector", now=T0)
    enrolment = create_admin(db_session, actor, "synthetic.admin", "correct horse battery staple", now=T0)
    link = create_registration_link(db_session, actor, now=T0, valid_for=timedelta(days=1))
    _kid, private_pem = signing_key(db_session, now=T0)
    db_session.flush()
    box = runtime_of(db_session).box

    tables = {table.name: table for table in SQLModel.metadata.sorted_tables}
    checked = 0
    for (table_name, column_name), (protection, purpose) in PROTECTED.items():
        column = tables[table_name].c[column_name]
        for value in db_session.execute(select(column).where(column.is_not(None))).scalars():
            checked += 1
            if protection == SHA256:
                assert re.fullmatch(r"[0-9a-f]{64}", value), (table_name, column_name)
            elif protection == ARGON2ID:
                assert value.startswith("$argon2id$"), (table_name, column_name)
            else:
                assert value.startswith("v1:"), (table_name, column_name)
                box.open(value, purpose or "")  # opens under its purpose, and only that
    assert checked >= 8

    row = db_session.execute(select(tables["integration"])).mappings().one()
    assert row["token_hash"] == integration_digest(issued.token)
    assert box.open_text(row["secret_sealed"], "integration_secret") == issued.secret

    # No secret handed out is anywhere in the database in clear.
    clear = [issued.token, issued.secret, enrolment.seed, *enrolment.recovery_codes, link.rsplit("/", 1)[-1],
             private_pem.decode().splitlines()[1]]
    dump = "\n".join(repr(tuple(r)) for table in tables.values() for r in db_session.execute(select(table)).all())
    for value in clear:
        assert value and value not in dump


def test_configuration_secrets_come_from_the_instance_folder_never_the_repository(tmp_path):
    """The three keys are created in the instance folder (0600) on first run, or read from it; none
    has a default in the code, none is printed by the configuration's repr."""
    from plugin.config import KEY_FILES, load_config

    instance = tmp_path / "instance"
    config = load_config({"ADAL_INSTANCE_PATH": str(instance)})
    for field, filename in KEY_FILES.items():
        path = instance / filename
        assert path.stat().st_mode & 0o777 == 0o600, filename
        assert bytes.fromhex(path.read_text().strip()) == getattr(config, field)
        assert getattr(config, field).hex() not in repr(config)
    again = load_config({"ADAL_INSTANCE_PATH": str(instance)})
    assert (again.secret_key, again.audit_key, again.data_key) == (config.secret_key, config.audit_key,
                                                                   config.data_key)
    other = load_config({"ADAL_INSTANCE_PATH": str(tmp_path / "other")})
    assert other.secret_key != config.secret_key  # generated per installation, not a shipped default


def test_the_configurations_repr_keeps_passwords_out_of_logs_and_tracebacks(tmp_path):
    from plugin.config import load_config

    config = load_config({"ADAL_INSTANCE_PATH": str(tmp_path / "instance"),
                          "ADAL_DATABASE_URL": "postgresql://adal:db-pass-1@db.example.test/adal",
                          "ADAL_REDIS_URL": "redis://:redis-pass-2@cache.example.test:6379/0",
                          "ADAL_SMTP_HOST": "mail.example.test", "ADAL_SMTP_USER": "adal",
                          "ADAL_SMTP_PASSWORD": "smtp-pass-3", "ADAL_MAIL_FROM": "adal@example.test"}, testing=True)
    shown = repr(config)
    assert "mail.example.test" in shown  # the rest is still there to read
    for secret in ("db-pass-1", "redis-pass-2", "smtp-pass-3"):
        assert secret not in shown

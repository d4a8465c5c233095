"""Settings of one Adal installation, read from ``ADAL_*`` environment variables.

Every setting has an embedded default so that a fresh checkout runs with no configuration:
SQLite and the file store live in the instance folder, and the three keys are generated there on
first run. Institution settings that an administrator edits (quorum, holidays, thresholds, ...)
are not here: they live in the database (``plugin.kernel.settings``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: The keys generated on first run. Each is a file in the instance folder, readable by the
#: service account only; none is ever written to the repository or the database.
KEY_FILES = {
    "secret_key": "secret.key",  # Flask session signing
    "audit_key": "audit.key",  # HMAC of the audit chain
    "data_key": "data.key",  # encryption of secrets that must live in the database
}


class ConfigError(RuntimeError):
    """A setting has a value Adal cannot use; the message names the variable."""


@dataclass(frozen=True)
class Config:
    instance_path: Path
    database_url: str = field(repr=False)  # may carry a password: kept out of logs and tracebacks
    redis_url: str | None = field(repr=False)
    file_store_path: Path
    audit_head_path: Path
    base_url: str | None
    frame_ancestors: tuple[str, ...]
    max_upload_bytes: int
    proxy_fix_hops: int
    secret_key: bytes = field(repr=False)
    audit_key: bytes = field(repr=False)
    data_key: bytes = field(repr=False)
    testing: bool = False
    # Content Credentials (C2PA), optional: see ``content_credentials_files``.
    c2pa_cert_path: Path | None = None
    c2pa_key_path: Path | None = None
    c2pa_trust_anchors_path: Path | None = None
    c2pa_tsa_url: str | None = None
    # "inline": the stamped copy of a submission is made in the request; "background": after the
    # response, by `adal jobs run --watch` (which `adal serve` starts beside the web workers).
    copy_mode: str = "inline"
    # Outgoing mail for reminders (``ADAL_SMTP_*``, ``ADAL_MAIL_FROM``): none unless a host is set.
    smtp: SmtpConfig | None = None
    # Rate limits that differ from the defaults (``plugin.kernel.ratelimit.DEFAULT_RATES``):
    # bucket -> (requests, per seconds), from ``ADAL_RATE_*``; shared through Redis when set.
    rate_limits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    rate_limit_prefix: str = "adal:rl"  # Redis key prefix (tests give each run its own)
    # The admin console's sessions end after this long without a request, and this long after sign-in.
    admin_idle_minutes: int = 30
    admin_session_hours: int = 8


def _choice(env: Mapping[str, str], name: str, options: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in options:
        raise ConfigError(f"{name} must be one of {', '.join(options)}, got {raw!r}")
    return raw


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


#: bucket (``plugin.kernel.ratelimit``) -> the variable that overrides its rate, as "REQUESTS/SECONDS"
RATE_LIMIT_VARIABLES = {
    "lti_user": "ADAL_RATE_LTI_USER",
    "lti_platform": "ADAL_RATE_LTI_PLATFORM",
    "api_token": "ADAL_RATE_API_TOKEN",
    "admin_login_account": "ADAL_RATE_ADMIN_ACCOUNT",
    "admin_login_address": "ADAL_RATE_ADMIN_ADDRESS",
}


def _rate_limits(env: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    found = {}
    for bucket, name in RATE_LIMIT_VARIABLES.items():
        raw = (env.get(name) or "").strip()
        if not raw:
            continue
        count, _slash, seconds = raw.partition("/")
        try:
            rate = (int(count), int(seconds))
        except ValueError:
            rate = (0, 0)
        if rate[0] < 1 or rate[1] < 1:
            raise ConfigError(f"{name} must be REQUESTS/SECONDS, like 30/60, got {raw!r}")
        found[bucket] = rate
    return found


def _read_or_create_key(path: Path) -> bytes:
    """Return the key stored at ``path``, creating a random 32-byte key (hex) if absent.

    Created with O_EXCL and mode 0600 so that two processes starting at once agree on one key.
    """
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except ValueError:
        raise ConfigError(f"{path} does not hold a hex key; restore it from your backup") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_or_create_key(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # starttls | tls | none
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)


SMTP_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def _smtp(env: Mapping[str, str]) -> SmtpConfig | None:
    """The mail server, when ``ADAL_SMTP_HOST`` is set; ``ADAL_MAIL_FROM`` is then required."""
    host = (env.get("ADAL_SMTP_HOST") or "").strip()
    if not host:
        return None
    security = _choice(env, "ADAL_SMTP_SECURITY", tuple(SMTP_DEFAULT_PORTS), "starttls")
    sender = (env.get("ADAL_MAIL_FROM") or "").strip()
    if "@" not in sender:
        raise ConfigError("ADAL_MAIL_FROM must be the address reminders come from, e.g. adal@school.example.kz "
                          "(needed when ADAL_SMTP_HOST is set)")
    port = _int(env, "ADAL_SMTP_PORT", SMTP_DEFAULT_PORTS[security], minimum=1)
    if port > 65535:
        raise ConfigError(f"ADAL_SMTP_PORT must be at most 65535, got {port}")
    user = env.get("ADAL_SMTP_USER") or None
    if user and security == "none":
        raise ConfigError("ADAL_SMTP_USER is set but ADAL_SMTP_SECURITY=none would send the password unencrypted; "
                          "use starttls or tls")
    return SmtpConfig(host=host, port=port, security=security, sender=sender, user=user,
                      password=env.get("ADAL_SMTP_PASSWORD") or None)


def _instance_path(env: Mapping[str, str]) -> Path:
    return Path(env.get("ADAL_INSTANCE_PATH") or "instance").resolve()


@dataclass(frozen=True)
class ContentCredentialsFiles:
    """Where the C2PA signing certificate chain, its private key and the trust anchors are, and
    the timestamp authority (``ADAL_C2PA_TSA_URL``, no default) that dates the signatures."""

    cert: Path | None
    key: Path | None
    trust_anchors: Path | None
    tsa_url: str | None = None


#: (variable, file in ``<instance>/c2pa/`` used when the variable is unset and the file exists)
C2PA_FILES = {"cert": ("ADAL_C2PA_CERT", "chain.pem"), "key": ("ADAL_C2PA_KEY", "key.pem"),
              "trust_anchors": ("ADAL_C2PA_TRUST_ANCHORS", "trust-anchors.pem")}


def content_credentials_files(env: Mapping[str, str] | None = None) -> ContentCredentialsFiles:
    """The Content Credentials files: each ``ADAL_C2PA_*`` variable, else its file in the instance
    folder's ``c2pa/`` when that exists. Checks that named files exist and that the certificate
    and the key come together; reads nothing else and creates nothing (``adal stamp`` and
    ``adal inspect`` need no installation). Raises ``ConfigError``."""
    env = os.environ if env is None else env
    folder = _instance_path(env) / "c2pa"
    found: dict[str, Path | None] = {}
    for name, (variable, default) in C2PA_FILES.items():
        raw = env.get(variable)
        if raw:
            path = Path(raw).expanduser().resolve()
            if not path.is_file():
                raise ConfigError(f"{variable} names {path}, which is not a file")
            found[name] = path
        else:
            found[name] = folder / default if (folder / default).is_file() else None
    if (found["cert"] is None) != (found["key"] is None):
        have, missing = ("cert", "key") if found["key"] is None else ("key", "cert")
        raise ConfigError(f"Content Credentials need both a certificate chain and its private key: {found[have]} "
                          f"is there, but no {C2PA_FILES[missing][1]} (set {C2PA_FILES[missing][0]})")
    tsa_url = env.get("ADAL_C2PA_TSA_URL") or None
    if tsa_url and not tsa_url.startswith(("https://", "http://")):
        raise ConfigError(f"ADAL_C2PA_TSA_URL must be the http(s) URL of an RFC 3161 timestamp authority, "
                          f"got {tsa_url!r}")
    return ContentCredentialsFiles(**found, tsa_url=tsa_url)


def load_config(env: Mapping[str, str] | None = None, **overrides: object) -> Config:
    """Build the configuration from ``env`` (default: the process environment).

    Creates the instance folder and the keys on first use. ``overrides`` replace fields
    after loading (tests use them).
    """
    env = os.environ if env is None else env
    instance = _instance_path(env)
    instance.mkdir(parents=True, exist_ok=True)
    c2pa = content_credentials_files(env)
    database_url = env.get("ADAL_DATABASE_URL") or f"sqlite:///{instance / 'adal.sqlite3'}"
    ancestors = tuple(a for a in (env.get("ADAL_FRAME_ANCESTORS") or "").split() if a)
    for origin in ancestors:
        if not (origin.startswith(("https://", "http://")) or origin == "'self'"):
            raise ConfigError(f"ADAL_FRAME_ANCESTORS holds {origin!r}; list LMS origins like https://lms.example.kz")
    base_url = (env.get("ADAL_BASE_URL") or "").rstrip("/") or None
    if base_url and not base_url.startswith(("https://", "http://")):
        raise ConfigError(f"ADAL_BASE_URL must start with https:// (got {base_url!r})")
    keys = {name: _read_or_create_key(instance / filename) for name, filename in KEY_FILES.items()}
    config = Config(
        instance_path=instance,
        database_url=database_url,
        redis_url=env.get("ADAL_REDIS_URL") or None,
        file_store_path=Path(env.get("ADAL_FILE_STORE_PATH") or instance / "files").resolve(),
        audit_head_path=Path(env.get("ADAL_AUDIT_HEAD_PATH") or instance / "audit-head.json").resolve(),
        base_url=base_url,
        frame_ancestors=ancestors,
        max_upload_bytes=_int(env, "ADAL_MAX_UPLOAD_MB", 50, minimum=1) * 1024 * 1024,
        proxy_fix_hops=_int(env, "ADAL_PROXY_FIX", 0),
        **keys,
        c2pa_cert_path=c2pa.cert,
        c2pa_key_path=c2pa.key,
        c2pa_trust_anchors_path=c2pa.trust_anchors,
        c2pa_tsa_url=c2pa.tsa_url,
        copy_mode=_choice(env, "ADAL_COPY_MODE", ("inline", "background"), "inline"),
        smtp=_smtp(env),
        rate_limits=_rate_limits(env),
        admin_idle_minutes=_int(env, "ADAL_ADMIN_IDLE_MINUTES", 30, minimum=1),
        admin_session_hours=_int(env, "ADAL_ADMIN_SESSION_HOURS", 8, minimum=1),
    )
    if overrides:
        from dataclasses import replace

        config = replace(config, **overrides)  # type: ignore[arg-type]
    return config

"""LTI registrations, deployments, the tool's own keys and the one-time login states."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from plugin.kernel.clock import UTCDateTime


class Platform(SQLModel, table=True):
    """An LMS registration: one issuer and client id (a Moodle tool, a Canvas developer key)."""

    __tablename__ = "lti_platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    issuer: str = Field(sa_column=Column(String(255), nullable=False, index=True))
    client_id: str = Field(sa_column=Column(String(255), nullable=False))
    auth_login_url: str = Field(sa_column=Column(String(1000), nullable=False))
    auth_token_url: str = Field(sa_column=Column(String(1000), nullable=False))
    keyset_url: str = Field(sa_column=Column(String(1000), nullable=False))
    auth_audience: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    # Off by default: a launch from a deployment nobody registered is refused.
    auto_register_deployments: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Deployment(SQLModel, table=True):
    __tablename__ = "lti_deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    platform_id: int = Field(
        sa_column=Column(Integer, ForeignKey("lti_platform.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    deployment_id: str = Field(sa_column=Column(String(255), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ToolKey(SQLModel, table=True):
    """Adal's signing key pair. The private key is sealed under the data-encryption key.

    The newest active key signs; after ``adal keys rotate`` the old one stays in the JWKS until
    ``published_until`` so that platforms holding a cached JWKS still verify what it signed.
    """

    __tablename__ = "lti_tool_key"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    kid: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    private_key_sealed: str = Field(sa_column=Column(Text, nullable=False))
    public_jwk: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    retired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    published_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class LoginState(SQLModel, table=True):
    """One OIDC login: the state and nonce Adal issued, kept server-side until used or expired."""

    __tablename__ = "lti_login_state"

    state: str = Field(sa_column=Column(String(64), primary_key=True))
    nonce: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    platform_id: int = Field(
        sa_column=Column(Integer, ForeignKey("lti_platform.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    target_link_uri: str = Field(sa_column=Column(String(1000), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # What the platform sent at login, to start the same launch again in a new window when the
    # browser blocks cookies in the LMS's frame.
    login_hint: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    message_hint: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    deployment_hint: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    # LTI Platform Storage: where the platform keeps data for us, and the hash of the secret we
    # put there (the proof, instead of a cookie, that the launch comes back to the same browser).
    storage_target: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    storage_secret_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class ContextServices(SQLModel, table=True):
    """The LTI Advantage services a platform offered for a course, as its latest launch said."""

    __tablename__ = "lti_context_service"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    platform_id: int = Field(
        sa_column=Column(Integer, ForeignKey("lti_platform.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    lineitems_url: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    ags_scopes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # space-separated
    memberships_url: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class RegistrationLink(SQLModel, table=True):
    """A one-time link for LTI Dynamic Registration; only its hash is stored."""

    __tablename__ = "lti_registration_link"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    platform_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("lti_platform.id", ondelete="SET NULL"), nullable=True)
    )

"""The mail port over SMTP (stdlib ``smtplib`` and ``email.message``).

The app factory builds ``SmtpMail`` from the configuration (``ADAL_SMTP_*``) and wires it into
``runtime.ports.mail_impl`` only when a host is set; the kernel never reads the configuration.
Security is ``starttls`` (upgrade a plain connection, the usual port 587), ``tls`` (implicit
TLS, port 465) or ``none`` (a relay on the same machine only). A failure raises ``MailError``
naming the server's answer; the caller decides whether to retry.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import formatdate

from plugin.kernel.ports import MailMessage

SECURITY = ("starttls", "tls", "none")


class MailError(RuntimeError):
    """The message was not accepted by the mail server (nothing is known to have been sent)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str  # the From address
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 20.0

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise ValueError(f"security must be one of {', '.join(SECURITY)}")
        if not self.host or not self.sender or "@" not in self.sender:
            raise ValueError("an SMTP host and a From address are needed")


def build_message(message: MailMessage, sender: str) -> EmailMessage:
    """The e-mail as sent: plain text, UTF-8, and a Message-ID derived from the idempotency key,
    so a retry of the same reminder carries the same id (mail systems may drop the duplicate)."""
    # Long lines allowed in headers: CPython's folding of encoded words drops the space at a fold
    # ("комиссия сізге" arrived as "комиссиясізге"); the body is quoted-printable whatever this says.
    email = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rsplit("@", 1)[1]
    email["Message-ID"] = f"<{hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:40]}@{domain}>"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to reminders
    email.set_content(message.body_text, charset="utf-8", cte="quoted-printable")  # replaces Content-* headers
    if message.language:
        email["Content-Language"] = message.language
    return email


class SmtpMail:
    """``MailPort`` over SMTP: one connection per message (reminders are few, run from cron)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: MailMessage) -> None:
        s = self.settings
        email = build_message(message, s.sender)
        context = ssl.create_default_context()
        try:
            if s.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=context)
                if s.user:
                    client.login(s.user, s.password or "")
                refused = client.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"{s.host}:{s.port}: {exc}") from None
        if refused:
            raise MailError(f"{s.host}:{s.port} refused {', '.join(refused)}")

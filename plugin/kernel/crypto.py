"""Encryption of the few secrets that must live in the database (tool private keys, integration
secrets, TOTP seeds), under the instance's data-encryption key, which never enters the database.

AES-256-GCM with a random nonce; the *purpose* is bound as associated data so that a ciphertext
copied from one column into another (say a TOTP seed into an integration secret) does not open.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v1:"


class SecretError(ValueError):
    """A sealed secret could not be opened: wrong key, wrong purpose, or tampered text."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the data-encryption key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes | str, purpose: str) -> str:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, data, purpose.encode("utf-8"))
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, token: str, purpose: str) -> bytes:
        if not token.startswith(_PREFIX):
            raise SecretError("not a sealed secret")
        try:
            raw = base64.urlsafe_b64decode(token[len(_PREFIX) :].encode("ascii"))
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode("utf-8"))
        except (InvalidTag, ValueError) as exc:
            raise SecretError("sealed secret does not open with this key and purpose") from exc

    def open_text(self, token: str, purpose: str) -> str:
        return self.open(token, purpose).decode("utf-8")

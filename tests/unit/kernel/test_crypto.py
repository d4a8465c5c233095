"""Secrets sealed under the data-encryption key: they open only with the same key and purpose."""

from __future__ import annotations

import base64

import pytest

from plugin.kernel.crypto import SecretBox, SecretError

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
TEXT = "Құпия кілт: Әділет Тестова, ғашық, таңғы, өмір, ұлы, үміт, шаһар — 2026"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(KEY)


def test_round_trip_of_kazakh_text(box: SecretBox) -> None:
    token = box.seal(TEXT, "totp_seed")
    assert box.open_text(token, "totp_seed") == TEXT
    assert box.open(token, "totp_seed") == TEXT.encode("utf-8")


def test_round_trip_of_bytes(box: SecretBox) -> None:
    secret = bytes(range(256))
    assert box.open(box.seal(secret, "tool_private_key"), "tool_private_key") == secret


def test_empty_secret(box: SecretBox) -> None:
    assert box.open_text(box.seal("", "integration_secret"), "integration_secret") == ""


def test_a_new_box_with_the_same_key_opens_it(box: SecretBox) -> None:
    token = box.seal(TEXT, "totp_seed")
    assert SecretBox(bytes(KEY)).open_text(token, "totp_seed") == TEXT


def test_sealed_text_hides_the_plaintext(box: SecretBox) -> None:
    token = box.seal(TEXT, "totp_seed")
    assert token.startswith("v1:")
    assert token.isascii()
    assert TEXT not in token
    for word in TEXT.split():
        assert word not in token
    raw = base64.urlsafe_b64decode(token[3:])
    assert TEXT.encode("utf-8") not in raw
    assert len(raw) == 12 + len(TEXT.encode("utf-8")) + 16  # nonce + ciphertext + tag


def test_two_seals_of_the_same_text_differ(box: SecretBox) -> None:
    first, second = box.seal(TEXT, "totp_seed"), box.seal(TEXT, "totp_seed")
    assert first != second
    assert base64.urlsafe_b64decode(first[3:])[:12] != base64.urlsafe_b64decode(second[3:])[:12]
    assert box.open_text(first, "totp_seed") == box.open_text(second, "totp_seed") == TEXT


def test_wrong_purpose_does_not_open(box: SecretBox) -> None:
    token = box.seal(TEXT, "totp_seed")
    with pytest.raises(SecretError):
        box.open(token, "integration_secret")
    with pytest.raises(SecretError):
        box.open(token, "")


def test_wrong_key_does_not_open(box: SecretBox) -> None:
    token = box.seal(TEXT, "totp_seed")
    with pytest.raises(SecretError):
        SecretBox(OTHER_KEY).open(token, "totp_seed")


def _flip(token: str, position: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token[3:]))
    raw[position] ^= 0x01
    return "v1:" + base64.urlsafe_b64encode(bytes(raw)).decode("ascii")


@pytest.mark.parametrize("position", [0, 11, 12, 20, -1])  # nonce, first ciphertext byte, middle, tag
def test_tampered_token_does_not_open(box: SecretBox, position: int) -> None:
    token = box.seal(TEXT, "totp_seed")
    tampered = _flip(token, position)
    assert tampered != token
    with pytest.raises(SecretError):
        box.open(tampered, "totp_seed")


def test_truncated_token_does_not_open(box: SecretBox) -> None:
    token = box.seal(TEXT, "totp_seed")
    raw = base64.urlsafe_b64decode(token[3:])
    shortened = "v1:" + base64.urlsafe_b64encode(raw[:-1]).decode("ascii")
    with pytest.raises(SecretError):
        box.open(shortened, "totp_seed")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "hello",
        TEXT,
        "v2:" + "A" * 40,
        "v1:",
        "v1:!!!!",
        "v1:" + base64.urlsafe_b64encode(b"short").decode("ascii"),
        "v1:" + base64.urlsafe_b64encode(bytes(12)).decode("ascii"),
        "v1:" + base64.urlsafe_b64encode(bytes(40)).decode("ascii"),
        "v1:Әділет",
    ],
)
def test_non_tokens_raise_secret_error(box: SecretBox, token: str) -> None:
    with pytest.raises(SecretError):
        box.open(token, "totp_seed")


def test_secret_error_is_a_value_error() -> None:
    assert issubclass(SecretError, ValueError)


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(31), bytes(33), bytes(64)])
def test_key_must_be_32_bytes(key: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SecretBox(key)

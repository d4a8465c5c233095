"""Broken and hostile PDFs: each refused with a one-line StampError, quickly, with no output."""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path

import pytest

from attribution.pdf import inspect_pdf, stamp_pdf
from attribution.provenance import (
    EncryptedFile,
    HostileFile,
    Limits,
    Provenance,
    StampError,
    UnsupportedFile,
    atomic_output,
)
from tests.unit.attribution.pdf_samples import HOSTILE

PROVENANCE = Provenance("ChatGPT", "GPT-4o", "2024-08-06", dt.date(2025, 3, 14))
EXPECTED = {
    "encrypted": EncryptedFile,
    "reference-loop": HostileFile,
    "over-limits": HostileFile,
    "truncated": UnsupportedFile,
    "broken-xref": UnsupportedFile,
    "garbage-after-header": UnsupportedFile,
    "missing-root": UnsupportedFile,
    "zero-pages": UnsupportedFile,
    "not-pdf": UnsupportedFile,
}
CASES = [pytest.param(kind, data, id=f"{kind}/{name}") for kind, make in HOSTILE.items() for name, data in make()]


def test_every_class_has_at_least_four_files() -> None:
    assert set(HOSTILE) == set(EXPECTED)
    for kind in HOSTILE:
        assert sum(1 for case in CASES if case.values[0] == kind) >= 4, kind


@pytest.mark.parametrize(("kind", "data"), CASES)
def test_refused_with_one_line_and_no_output(tmp_path: Path, kind: str, data: bytes) -> None:
    src = tmp_path / "upload.pdf"
    src.write_bytes(data)
    dest = tmp_path / "stamped.pdf"

    started = time.monotonic()
    with pytest.raises(StampError) as refused, atomic_output(dest) as out:
        stamp_pdf(src, out, PROVENANCE, "kk", Limits())
    assert time.monotonic() - started < 2

    error = refused.value
    message = str(error)
    assert isinstance(error, EXPECTED[kind]), message
    assert message.startswith("upload.pdf: ")
    assert "\n" not in message and len(message) < 300
    assert error.__cause__ is None and error.__suppress_context__  # nothing chained into a traceback
    if kind == "encrypted":
        assert message.endswith("encrypted PDF: remove the password first")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload.pdf"]

    buffer = io.BytesIO()
    with pytest.raises(EXPECTED[kind]):
        stamp_pdf(src, buffer, PROVENANCE, "kk", Limits())
    assert buffer.getvalue() == b""


@pytest.mark.parametrize(("kind", "data"), CASES)
def test_inspect_refuses_the_same_files(tmp_path: Path, kind: str, data: bytes) -> None:
    src = tmp_path / "upload.pdf"
    src.write_bytes(data)
    started = time.monotonic()
    with pytest.raises(EXPECTED[kind]) as refused:
        inspect_pdf(src, Limits())
    assert time.monotonic() - started < 2
    assert "\n" not in str(refused.value)


def test_unreadable_path_is_a_stamp_error(tmp_path: Path) -> None:
    with pytest.raises(StampError, match="cannot read"):
        stamp_pdf(tmp_path / "missing.pdf", io.BytesIO(), PROVENANCE, "kk", Limits())
    with pytest.raises(StampError):
        inspect_pdf(tmp_path, Limits())

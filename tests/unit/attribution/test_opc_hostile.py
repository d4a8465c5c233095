"""Hostile and broken OPC packages (attribution/opc.py): each sample of the generated corpus is refused
with a one-line StampError, quickly, within bounded memory, and no output file is left behind."""

from __future__ import annotations

import io
import random
import re
import tempfile
import time
import tracemalloc
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from attribution.opc import inspect_opc, main_part_kind, stamp_opc
from attribution.provenance import (
    EncryptedFile,
    HostileFile,
    Limits,
    Provenance,
    StampError,
    UnsupportedFile,
    atomic_output,
)
from tests.unit.attribution.opc_samples import MAKERS, Hostile, hostile_corpus, read_members, zip_bytes

PROVENANCE = Provenance(service="ChatGPT", model="GPT-4o", model_version="2024-08-06",
                        generation_date=date(2025, 3, 14), responsible="Дана Ержанқызы")
CLASSES = {"zip bomb", "huge member", "XXE", "billion laughs", "missing content types", "missing main part",
           "truncated zip", "non-zip", "path traversal", "absolute path", "deep XML", "OLE", "duplicate names"}
SECONDS = 2.0
PEAK_BYTES = 64 * 1024 * 1024  # Python-side allocations while refusing one file


def _build_corpus() -> list[Hostile]:
    with tempfile.TemporaryDirectory() as folder:
        base = {kind: maker(Path(folder) / f"base.{kind}").read_bytes() for kind, maker in MAKERS.items()}
    return hostile_corpus(base)


CORPUS = _build_corpus()


def _refusal(action: object, expected: type[Exception]) -> tuple[StampError, float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(expected) as caught:
            action()  # type: ignore[operator]
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return caught.value, elapsed, peak  # type: ignore[return-value]


def _check_message(error: StampError, path: Path) -> None:
    message = str(error)
    assert isinstance(error, StampError)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"{path.name}: ") and len(message) < 320


def test_corpus_has_every_class_at_least_four_times() -> None:
    counts = Counter(sample.group for sample in CORPUS)
    assert set(counts) == CLASSES
    assert min(counts.values()) >= 4, counts
    assert len({(sample.group, sample.name) for sample in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("sample", CORPUS, ids=[f"{s.group}: {s.name}" for s in CORPUS])
def test_hostile_package_is_refused(sample: Hostile, tmp_path: Path) -> None:
    path = tmp_path / f"sample{sample.suffix}"
    path.write_bytes(sample.data)
    dest = tmp_path / "stamped.docx"

    def stamp() -> None:
        with atomic_output(dest) as out:
            stamp_opc(path, out, PROVENANCE, "kk", sample.limits)

    error, elapsed, peak = _refusal(stamp, sample.expected)
    _check_message(error, path)
    assert elapsed < SECONDS and peak < PEAK_BYTES, (elapsed, peak)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no output, no temporary file

    error, elapsed, peak = _refusal(lambda: inspect_opc(path, sample.limits), sample.expected)
    _check_message(error, path)
    assert elapsed < SECONDS and peak < PEAK_BYTES, (elapsed, peak)

    # Sniffing reads only the container and [Content_Types].xml: it refuses what it sees, and what
    # lies in other parts is refused by stamping and inspecting (above).
    started = time.perf_counter()
    outcome: str | StampError
    try:
        outcome = main_part_kind(path, sample.limits)
    except StampError as refused:
        outcome = refused
    assert time.perf_counter() - started < SECONDS
    if isinstance(outcome, StampError):
        assert isinstance(outcome, sample.expected)
        _check_message(outcome, path)
    else:
        assert outcome in ("docx", "pptx", "xlsx")
    assert path.read_bytes() == sample.data


def test_refusals_of_ole_files_say_encrypted_or_legacy(tmp_path: Path) -> None:
    ole = [sample for sample in CORPUS if sample.group == "OLE"]
    assert {sample.expected for sample in ole} == {EncryptedFile, UnsupportedFile}
    for sample in ole:
        path = tmp_path / f"ole{sample.suffix}"
        path.write_bytes(sample.data)
        with pytest.raises(StampError, match=r": encrypted or legacy Office file \(") as caught:
            main_part_kind(path)
        assert type(caught.value) is sample.expected


def _mangle_xml(members: dict[str, bytes], rng: random.Random) -> dict[str, bytes]:
    """Structural damage to one or two XML parts: an element, an attribute or a value gone or changed."""
    members = dict(members)
    names = [name for name in members if name.endswith((".xml", ".rels")) and len(members[name]) < 50_000]
    for _ in range(rng.randint(1, 2)):
        name = rng.choice(names)
        text = members[name].decode()
        pattern = rng.choice([r"<[A-Za-z][^<>]*/>", r' [A-Za-z:]+="[^"]*"', r'="[^"]*"', r"<[A-Za-z:]+"])
        found = list(re.finditer(pattern, text))
        if found:
            match = rng.choice(found)
            swap = rng.choice(["", '="x"', '="-1"', '="../x"', '="rId1"', "<p:sp", "<w:p", "<Override"])
            text = text[: match.start()] + (swap if swap.startswith(text[match.start()]) else "") + text[match.end():]
        members[name] = text.encode()
    if rng.random() < 0.15:
        members.pop(rng.choice(sorted(members)))
    return members


def test_mangled_packages_raise_nothing_but_stamp_errors(tmp_path: Path) -> None:
    """A seeded fuzz: damaged XML parts and flipped bytes give a stamped file or a StampError, never
    another exception."""
    with tempfile.TemporaryDirectory() as folder:
        base = {kind: maker(Path(folder) / f"base.{kind}").read_bytes() for kind, maker in MAKERS.items()}
    members = {kind: read_members(data) for kind, data in base.items()}
    rng = random.Random(20250314)
    outcomes = Counter()
    for round_ in range(240):
        kind = rng.choice(sorted(base))
        if round_ % 2:
            data = zip_bytes(_mangle_xml(members[kind], rng))
        else:
            flipped = bytearray(base[kind])
            for _ in range(rng.randint(1, 6)):
                flipped[rng.randrange(len(flipped))] = rng.randrange(256)
            data = bytes(flipped)
        path = tmp_path / f"mangled.{kind}"
        path.write_bytes(data)
        out = io.BytesIO()
        for action in ("stamp", "inspect"):
            try:
                if action == "stamp":
                    stamp_opc(path, out, PROVENANCE, "en", Limits())
                    with zipfile.ZipFile(out) as archive:
                        assert archive.testzip() is None
                else:
                    inspect_opc(path, Limits())
                outcomes["done"] += 1
            except StampError as error:
                _check_message(error, path)
                outcomes["refused"] += 1
    assert outcomes["done"] > 50 and outcomes["refused"] > 50, outcomes


def test_limits_are_configurable(tmp_path: Path) -> None:
    source = MAKERS["docx"](tmp_path / "ordinary.docx")
    assert main_part_kind(source, Limits()) == "docx"
    with pytest.raises(HostileFile, match=r"zip members, over the limit of 5$"):
        main_part_kind(source, Limits(max_members=5))
    with pytest.raises(HostileFile, match=r"declares .* over the limit of 1000 bytes for an XML part$"):
        inspect_opc(source, Limits(max_xml_part_bytes=1000))
    with pytest.raises(HostileFile, match=r"over the limit of 100000 bytes$"):
        main_part_kind(source, Limits(max_member_bytes=100_000))
    with pytest.raises(HostileFile, match=r"nested deeper than 3 levels"):
        inspect_opc(source, Limits(max_xml_depth=3))
    with pytest.raises(HostileFile, match=r"more than 50000 bytes in all"):
        main_part_kind(source, Limits(max_total_uncompressed=50_000))


def test_a_directory_or_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFile, match="is a directory"):
        main_part_kind(tmp_path)
    with pytest.raises(StampError, match="cannot read it"):
        main_part_kind(tmp_path / "absent.docx")

"""Images, video and MP3: XMP (and EXIF, ID3) written by exiftool/mutagen, read back by us and by
a separate exiftool process."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from attribution.media import (
    CONFIG_FILE,
    ExifTool,
    inspect_media,
    media_kind,
    stamp_media,
    synthetic_label,
)
from attribution.provenance import (
    TRAINED_ALGORITHMIC_MEDIA,
    HostileFile,
    Limits,
    Provenance,
    StampError,
    UnsupportedFile,
    atomic_output,
)
from tests.unit.attribution.media_samples import (
    IMAGE_FORMATS,
    MDAT_PAYLOAD,
    SUFFIX,
    broken_video,
    chunk_offset,
    image,
    mp3,
    pixels,
    video,
)

PROVENANCE = Provenance(
    service="ChatGPT",
    model="GPT-4o",
    model_version="1.50",  # exiftool prints it as a number: it must come back as written
    generation_date=dt.date(2025, 3, 14),
    responsible="Айгүл Сәрсенова",
    tasks=("жоспар құру\nекінші жол: ғылыми әдебиет", "grammar"),
)
LIMITS = Limits()
KINDS = ("jpeg", "png", "webp", "tiff", "mp4", "mov", "mp3")


@pytest.fixture(scope="module")
def session() -> Iterator[ExifTool]:
    if shutil.which("exiftool") is None:
        pytest.fail("exiftool is missing: apt-get install libimage-exiftool-perl (scripts/setup does)")
    with ExifTool() as tool:
        yield tool


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Temporary files go to a directory of their own, which must be empty after every test."""
    directory = tmp_path / "tmpdir"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory
    assert list(directory.iterdir()) == []


def sample(kind: str) -> bytes:
    if kind in IMAGE_FORMATS:
        return image(kind)
    return mp3() if kind == "mp3" else video(kind)


def stamp(tmp_path: Path, session: ExifTool, data: bytes, name: str, provenance: Provenance = PROVENANCE,
          **options) -> Path:
    src = tmp_path / name
    src.write_bytes(data)
    dest = tmp_path / f"stamped{src.suffix}"
    with atomic_output(dest) as out:
        stamp_media(src, out, provenance, "kk", LIMITS, exiftool=session, **options)
    assert src.read_bytes() == data
    return dest


def exiftool_json(path: Path, *, config: bool = True) -> dict[str, object]:
    args = ["exiftool", *(["-config", str(CONFIG_FILE)] if config else []), "-j", "-G1", "-a", str(path)]
    done = subprocess.run(args, capture_output=True, check=True)
    assert b"Warning" not in done.stderr
    return json.loads(done.stdout, parse_float=str, parse_int=str)[0]  # "1.50" is printed as a number


def id3_texts(path: Path) -> list[str]:
    """Every ID3 TXXX frame as exiftool shows it, "(Name) value" ( -G4 numbers the copies)."""
    done = subprocess.run(["exiftool", "-j", "-a", "-G4", "-ID3:UserDefinedText", str(path)], capture_output=True,
                          check=True)
    return sorted(value for key, value in json.loads(done.stdout)[0].items() if key.endswith("UserDefinedText"))


def expected_tags(kind: str) -> dict[str, str]:
    tags = {f"XMP-adal:{name.replace('-', '')}": value for name, value in PROVENANCE.fields().items()}
    tags |= {"XMP-xmp:CreatorTool": PROVENANCE.creator_tool, "XMP-iptcExt:DigitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
             "XMP-iptcExt:AISystemUsed": "GPT-4o"}
    if kind in IMAGE_FORMATS:
        tags["IFD0:Software"] = PROVENANCE.creator_tool
    return tags


# -- what a file is ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_media_kind_by_content(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "no-extension"
    path.write_bytes(sample(kind))
    assert media_kind(path) == kind


@pytest.mark.parametrize("data", [b"just text, named .png", b"%PDF-1.7\n", b"PK\x03\x04", b""])
def test_media_kind_none(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(data)
    assert media_kind(path) is None


# -- round trips -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(tmp_path: Path, session: ExifTool, kind: str) -> None:
    original = sample(kind)
    dest = stamp(tmp_path, session, original, f"work{SUFFIX[kind]}")
    report = inspect_media(dest, LIMITS, exiftool=session)
    assert report.kind == kind
    assert report.fields == PROVENANCE.fields()
    assert "\n" in report.fields["Tasks"] and "ғылыми" in report.fields["Tasks"]
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert (report.ai_system_used, report.ai_system_version_used) == ("GPT-4o", "1.50")
    assert report.has_ai_provenance and report.notes == []

    shown = exiftool_json(dest)  # an independent exiftool process with our config
    for tag, value in expected_tags(kind).items():
        assert shown[tag] == value, tag
    assert shown["XMP-iptcExt:AISystemVersionUsed"] == "1.50"

    stamped = dest.read_bytes()
    if kind in IMAGE_FORMATS:
        assert pixels(stamped) == pixels(original)
    elif kind == "mp3":
        assert stamped.endswith(original) and stamped.startswith(b"ID3\x04")
        assert shown["ID3v2_4:EncoderSettings"] == PROVENANCE.creator_tool
        assert id3_texts(dest) == sorted(f"({name}) {value}" for name, value in PROVENANCE.fields().items())
    else:  # the media data is untouched and the chunk offset follows it wherever moov went
        assert stamped.count(MDAT_PAYLOAD) == 1
        assert chunk_offset(stamped) == stamped.index(MDAT_PAYLOAD)


def test_plain_exiftool_shows_our_namespace(tmp_path: Path, session: ExifTool) -> None:
    """Without our config exiftool still shows every property: the XMP carries its namespaces."""
    dest = stamp(tmp_path, session, image("png"), "plain.png")
    shown = exiftool_json(dest, config=False)
    assert shown["XMP-adal:AIGenerated"] == "Yes"
    assert shown["XMP-adal:Tasks"] == PROVENANCE.fields()["Tasks"]
    assert shown["XMP-iptcExt:AISystemUsed"] == "GPT-4o"
    assert shown["XMP-iptcExt:DigitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA


@pytest.mark.parametrize(("lang", "kind", "text"), [
    ("kk", "png", "СИНТЕТИКАЛЫҚ СУРЕТ, ЖИ көмегімен жасалған: ChatGPT, GPT-4o 1.50, 14.03.2025."),
    ("kk", "mp3", "СИНТЕТИКАЛЫҚ АУДИО, ЖИ көмегімен жасалған: ChatGPT, GPT-4o 1.50, 14.03.2025."),
    ("kk", "video", "СИНТЕТИКАЛЫҚ ВИДЕО, ЖИ көмегімен жасалған: ChatGPT, GPT-4o 1.50, 14.03.2025."),
    ("ru", "image", "СИНТЕТИЧЕСКОЕ ИЗОБРАЖЕНИЕ, создано с помощью ИИ: ChatGPT, GPT-4o 1.50, 14.03.2025."),
    ("ru", "audio", "СИНТЕТИЧЕСКОЕ АУДИО, создано с помощью ИИ: ChatGPT, GPT-4o 1.50, 14.03.2025."),
    ("en", "mov", "SYNTHETIC VIDEO, made with AI: ChatGPT, GPT-4o 1.50, 14.03.2025."),
])
def test_synthetic_label(lang: str, kind: str, text: str) -> None:
    assert synthetic_label(PROVENANCE, lang, kind) == text


def test_synthetic_label_bad_lang() -> None:
    with pytest.raises(StampError, match="--lang"):
        synthetic_label(PROVENANCE, "de", "image")


@pytest.mark.parametrize("kind", ["jpeg", "mp4", "mp3"])
def test_synthetic_stored_and_restamp_replaces(tmp_path: Path, session: ExifTool, kind: str) -> None:
    first = stamp(tmp_path, session, sample(kind), f"a{SUFFIX[kind]}", synthetic=True)
    report = inspect_media(first, LIMITS, exiftool=session)
    assert report.fields["SyntheticLabel"] == synthetic_label(PROVENANCE, "kk", kind)
    plain = Provenance(service="Gemini", model="Imagen", model_version="3", generation_date=dt.date(2026, 1, 2))
    second = tmp_path / f"b{SUFFIX[kind]}"
    with atomic_output(second) as out:
        stamp_media(first, out, plain, "kk", LIMITS, exiftool=session)
    report = inspect_media(second, LIMITS, exiftool=session)
    assert report.fields == plain.fields()  # ResponsibleContact, Tasks and SyntheticLabel are gone
    shown = exiftool_json(second)
    assert shown["XMP-adal:Service"] == "Gemini" and "XMP-adal:SyntheticLabel" not in shown
    if kind == "mp3":
        assert id3_texts(second) == sorted(f"({name}) {value}" for name, value in plain.fields().items())


# -- names, warnings, hostile files --------------------------------------------------------------
@pytest.mark.parametrize("name", ["-o.png", "-@.png", "-config.png", "line\nbreak.png"])
def test_names_that_look_like_options(tmp_path: Path, session: ExifTool, name: str) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    src = folder / name
    data = image("png")
    src.write_bytes(data)
    dest = folder / "out.png"
    with atomic_output(dest) as out:
        stamp_media(src, out, PROVENANCE, "kk", LIMITS, exiftool=session)
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, "out.png"])
    assert src.read_bytes() == data
    assert inspect_media(dest, LIMITS, exiftool=session).fields == PROVENANCE.fields()
    assert inspect_media(src, LIMITS, exiftool=session).fields == {}


def test_warning_is_a_failure(tmp_path: Path) -> None:
    """Without our definitions exiftool warns ("Tag 'XMP-adal:…' is not defined") and still
    writes the rest with exit status 0: that must not pass as a stamp."""
    config = tmp_path / "empty.config"
    config.write_text("1;\n")
    src = tmp_path / "a.png"
    src.write_bytes(image("png"))
    out = io.BytesIO()
    with ExifTool(config_file=config) as bare, pytest.raises(StampError, match=r"warned.*not defined"):
        stamp_media(src, out, PROVENANCE, "kk", LIMITS, exiftool=bare)
    assert out.getvalue() == b""


def test_silently_skipped_tag_is_a_failure(tmp_path: Path, session: ExifTool) -> None:
    """exiftool drops EXIF for an MP4 without a word: the read-back check catches it."""
    path = tmp_path / "v.mp4"
    path.write_bytes(video())
    with pytest.raises(StampError, match="EXIF:Software did not survive"):
        session.write(path, {"EXIF:Software": "Adal"})


@pytest.mark.parametrize(("name", "data", "error", "message"), [
    ("truncated.png", image("png")[:60], StampError, "Corrupted PNG"),
    ("text.png", b"this is a text file, not a picture\n", UnsupportedFile, "not a JPEG, PNG"),
    ("empty.jpg", b"", UnsupportedFile, "empty"),
    ("broken.mp4", broken_video(), StampError, "Truncated 'moov' atom"),
    ("noise.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 16 + b"no audio here" * 10, StampError,
     "not a readable MP3"),
])
def test_hostile(tmp_path: Path, session: ExifTool, name: str, data: bytes, error: type[Exception],
                 message: str) -> None:
    src = tmp_path / name
    src.write_bytes(data)
    out = io.BytesIO()
    with pytest.raises(error, match=message):
        stamp_media(src, out, PROVENANCE, "kk", LIMITS, exiftool=session)
    assert out.getvalue() == b""
    assert src.read_bytes() == data


def test_over_the_size_limit(tmp_path: Path, session: ExifTool) -> None:
    src = tmp_path / "big.png"
    src.write_bytes(image("png"))
    with pytest.raises(HostileFile, match="ADAL_STAMP_MAX_FILE_MB"):
        stamp_media(src, io.BytesIO(), PROVENANCE, "kk", Limits(max_file_bytes=10), exiftool=session)


def test_inspect_unstamped_and_broken(tmp_path: Path, session: ExifTool) -> None:
    clean = tmp_path / "clean.png"
    clean.write_bytes(image("png"))
    report = inspect_media(clean, LIMITS, exiftool=session)
    assert not report.has_ai_provenance and report.notes == ["no XMP metadata"]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(broken_video())
    report = inspect_media(broken, LIMITS, exiftool=session)
    assert report.fields == {} and any("moov" in note for note in report.notes)


def test_own_session_is_closed(tmp_path: Path) -> None:
    """Without a session, stamp_media starts exiftool for the one file and stops it."""
    src = tmp_path / "a.webp"
    src.write_bytes(image("webp"))
    out = io.BytesIO()
    stamp_media(src, out, PROVENANCE, "en", LIMITS, synthetic=True)
    dest = tmp_path / "b.webp"
    dest.write_bytes(out.getvalue())
    assert exiftool_json(dest)["XMP-adal:SyntheticLabel"].startswith("SYNTHETIC IMAGE, made with AI: ChatGPT")

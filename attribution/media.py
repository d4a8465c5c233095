"""Images (JPEG, PNG, WebP, TIFF), video (MP4, MOV) and MP3: AI provenance as metadata (S C.3).

Images and video are written by exiftool in ``-stay_open`` mode (pyexiftool), with
``attribution/exiftool.config`` loaded on every start: it defines Adal's XMP namespace and the
IPTC 2025.1 ``AISystemUsed``/``AISystemVersionUsed``, which Debian's exiftool 12.57 lacks. A stamp
writes ``XMP-xmp:CreatorTool``, ``XMP-iptcExt:DigitalSourceType`` = trainedAlgorithmicMedia,
``XMP-iptcExt:AISystemUsed``/``AISystemVersionUsed`` (model, version), ``XMP-adal:*`` (one per
``Provenance.fields()`` entry; ``XMP-adal:SyntheticLabel`` for synthetic media) and, for images,
``EXIF:Software``. Fields from an earlier stamp that the new one lacks are removed.

Values travel in a UTF-8 JSON file (``-json=FILE``) in a private temporary directory, never on
exiftool's line-based argument protocol, so newlines and Kazakh letters survive. exiftool skips a
tag it cannot write without complaint (exit status 0), so every stamp is read back and compared;
a difference, a non-zero status or any ``Warning`` on stderr fails the stamp. exiftool edits in
place: it works on a private copy, which is streamed to ``out`` only when everything checked out.

MP3 (exiftool cannot write it) goes through mutagen: an ID3v2.4 ``TXXX`` frame per field,
``TSSE`` = creator tool, and the XMP packet (built by exiftool as an XMP file) in a ``PRIV``
frame with owner ``XMP``, which exiftool and other XMP readers show.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from attribution.provenance import (
    FIELD_NAMES,
    LANGUAGES,
    TRAINED_ALGORITHMIC_MEDIA,
    HostileFile,
    Limits,
    Provenance,
    Report,
    StampError,
    UnsupportedFile,
    xmp_name,
)

CONFIG_FILE = Path(__file__).with_name("exiftool.config")
SUFFIXES = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "tiff": ".tif", "mp4": ".mp4", "mov": ".mov",
            "mp3": ".mp3"}
IMAGES = ("jpeg", "png", "webp", "tiff")
VIDEOS = ("mp4", "mov")
# Every adal:* property the config defines: Provenance.fields() names without '-', and ours.
ADAL_PROPERTIES = ("CreatorTool", "AIGenerated", "Service", "Model", "ModelVersion", "GenerationDate",
                   "ResponsibleContact", "Tasks", "SyntheticLabel")
SYNTHETIC_LABEL = "SyntheticLabel"
_EMPTY_XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
              b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              b"</rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>")


# -- what a file is ------------------------------------------------------------------------------
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def media_kind(path: Path) -> str | None:
    """'jpeg', 'png', 'webp', 'tiff', 'mp4', 'mov' or 'mp3' by the first bytes; None otherwise."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head[4:8] in _QUICKTIME_ATOMS and len(head) >= 8:
        return "mov"
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
                                   and (head[1] >> 1) & 3 == 1):
        return "mp3"  # an ID3v2 tag, or an MPEG audio frame header with layer III
    return None


def _category(kind: str) -> str:
    if kind in IMAGES or kind == "image":
        return "image"
    if kind in VIDEOS or kind == "video":
        return "video"
    if kind in ("mp3", "audio"):
        return "audio"
    raise StampError(f"unknown media kind {kind!r}")


# -- the synthetic-media label (S C.3) -------------------------------------------------------------
_SYNTHETIC = {
    "kk": ("СИНТЕТИКАЛЫҚ {what}, ЖИ көмегімен жасалған: {service}, {model}, {date}.",
           {"image": "СУРЕТ", "audio": "АУДИО", "video": "ВИДЕО"}),
    "ru": ("СИНТЕТИЧЕСКОЕ {what}, создано с помощью ИИ: {service}, {model}, {date}.",
           {"image": "ИЗОБРАЖЕНИЕ", "audio": "АУДИО", "video": "ВИДЕО"}),
    "en": ("SYNTHETIC {what}, made with AI: {service}, {model}, {date}.",
           {"image": "IMAGE", "audio": "AUDIO", "video": "VIDEO"}),
}


def synthetic_label(provenance: Provenance, lang: str, kind: str) -> str:
    """The S C.3 label for synthetic media; ``kind`` is 'image', 'audio', 'video' or a media kind."""
    if lang not in LANGUAGES:
        raise StampError(f"--lang must be one of {', '.join(LANGUAGES)}")
    template, names = _SYNTHETIC[lang]
    return template.format(what=names[_category(kind)], service=provenance.service,
                           model=provenance.model_and_version, date=provenance.date_dmy)


# -- the exiftool process --------------------------------------------------------------------------
class ExifTool:
    """One exiftool process (``-stay_open``) with Adal's config, for one file or a whole batch.
    Close it with ``close()`` (or use it as a context manager)."""

    def __init__(self, *, executable: str | None = None, config_file: Path = CONFIG_FILE) -> None:
        import exiftool  # pyexiftool

        self._exiftool = exiftool
        self._helper = exiftool.ExifToolHelper(
            executable=executable or "exiftool", config_file=str(config_file), common_args=["-G1", "-n"],
            encoding="utf-8", check_execute=False, auto_start=False,
        )

    def __enter__(self) -> ExifTool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._helper.terminate()

    def run(self, *args: str) -> tuple[int, str, str]:
        """(exit status, stdout, stderr). No argument may hold a newline: exiftool's argument
        protocol is one per line."""
        if any("\n" in arg or "\r" in arg for arg in args):
            raise StampError("internal error: a newline in an exiftool argument")
        try:
            self._helper.run()
            stdout = self._helper.execute(*args)
        except FileNotFoundError:
            raise StampError("exiftool is missing: apt-get install libimage-exiftool-perl") from None
        except self._exiftool.exceptions.ExifToolException as exc:
            raise StampError(f"exiftool failed ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") \
                from None
        return self._helper.last_status or 0, stdout, self._helper.last_stderr or ""

    def read(self, path: Path) -> dict[str, str]:
        """Every tag exiftool reads in ``path``, by ``Group1:Name``; values as exiftool wrote them."""
        status, stdout, stderr = self.run("-j", "-a", _arg_path(path))
        if status != 0 or not stdout.strip():
            raise StampError(f"{path.name}: exiftool cannot read it ({_first_message(stderr, path)})")
        data = json.loads(stdout, parse_float=str, parse_int=str)  # keep "1.50" as written
        return {key: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                for key, value in data[0].items()}

    def write(self, path: Path, tags: dict[str, str], delete: tuple[str, ...] = (), *, name: str = "") -> None:
        """Set ``tags`` and remove ``delete`` in ``path`` in place, then check by reading back.
        Raises ``StampError`` on an error, any warning, or a tag that did not arrive."""
        name = name or path.name
        with _private_dir() as private:
            values = private / "tags.json"
            values.write_text(json.dumps([{"SourceFile": "*", **tags}], ensure_ascii=False), encoding="utf-8")
            args = [f"-{tag}=" for tag in delete]
            status, _stdout, stderr = self.run(*args, f"-json={values}", "-overwrite_original", _arg_path(path))
        if status != 0 or "Error" in stderr:
            raise StampError(f"{name}: exiftool cannot write it ({_first_message(stderr, path)})")
        if "Warning" in stderr:
            raise StampError(f"{name}: exiftool warned while writing ({_first_message(stderr, path)})")
        found = self.read(path)
        for tag, value in tags.items():
            got = found.get(_read_name(tag))
            if got != value:
                shown = "nothing" if got is None else repr(got[:60])
                raise StampError(f"{name}: {tag} did not survive writing (exiftool kept {shown})")
        for tag in delete:
            if _read_name(tag) in found:
                raise StampError(f"{name}: {tag} could not be removed")


def _read_name(tag: str) -> str:
    return "IFD0:Software" if tag == "EXIF:Software" else tag


def _arg_path(path: Path) -> str:
    """An absolute path: never read as an option, whatever the file is called."""
    return os.path.abspath(path)


def _first_message(stderr: str, path: Path) -> str:
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith(("Error", "Warning")):
            line = line.split(" - " + _arg_path(path))[0]
            return line[:160]
    return stderr.strip().splitlines()[0][:160] if stderr.strip() else "no reason given"


@contextmanager
def _private_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="adal-media-") as name:  # mode 0700
        yield Path(name)


@contextmanager
def _session(exiftool: ExifTool | None) -> Iterator[ExifTool]:
    if exiftool is not None:
        yield exiftool
        return
    with ExifTool() as own:
        yield own


def _checked(path: Path, limits: Limits) -> str:
    path = Path(path)
    if path.is_dir():
        raise UnsupportedFile(f"{path.name} is a directory, not a file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StampError(f"{path.name}: cannot read it ({exc.strerror})") from None
    if size == 0:
        raise UnsupportedFile(f"{path.name} is empty (0 bytes)")
    if size > limits.max_file_bytes:
        raise HostileFile(f"{path.name} is {size // (1024 * 1024)} MB; the limit is "
                          f"{limits.max_file_bytes // (1024 * 1024)} MB (ADAL_STAMP_MAX_FILE_MB)")
    kind = media_kind(path)
    if kind is None:
        raise UnsupportedFile(f"{path.name} is not a JPEG, PNG, WebP, TIFF, MP4, MOV or MP3 file")
    return kind


# -- stamping --------------------------------------------------------------------------------------
def media_tags(provenance: Provenance, kind: str, label: str | None = None) -> dict[str, str]:
    """The exiftool tags (``Group:Name``) a stamp writes into a file of ``kind``."""
    tags = {
        "XMP-xmp:CreatorTool": provenance.creator_tool,
        "XMP-iptcExt:DigitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "XMP-iptcExt:AISystemUsed": provenance.model,
        "XMP-iptcExt:AISystemVersionUsed": provenance.model_version,
    }
    tags.update({f"XMP-adal:{xmp_name(name)}": value for name, value in provenance.fields().items()})
    if label is not None:
        tags[f"XMP-adal:{SYNTHETIC_LABEL}"] = label
    if kind in IMAGES:
        tags["EXIF:Software"] = provenance.creator_tool
    return tags


def stamp_media(src: Path, out: BinaryIO, provenance: Provenance, lang: str, limits: Limits, *,
                synthetic: bool = False, exiftool: ExifTool | None = None) -> None:
    """Write a copy of ``src`` carrying ``provenance`` into ``out``; nothing is written to ``out``
    unless the stamp was read back intact. Raises ``StampError`` (subclasses) with one line."""
    src = Path(src)
    kind = _checked(src, limits)
    if lang not in LANGUAGES:
        raise StampError(f"--lang must be one of {', '.join(LANGUAGES)}")
    label = synthetic_label(provenance, lang, kind) if synthetic else None
    tags = media_tags(provenance, kind, label)
    delete = tuple(f"XMP-adal:{name}" for name in ADAL_PROPERTIES if f"XMP-adal:{name}" not in tags)
    with _session(exiftool) as session, _private_dir() as private:
        work = private / f"media{SUFFIXES[kind]}"
        shutil.copyfile(src, work)
        if kind == "mp3":
            _stamp_mp3(session, work, private, provenance, tags, delete, src.name)
        else:
            session.write(work, tags, delete, name=src.name)
        with open(work, "rb") as handle:
            shutil.copyfileobj(handle, out, 1024 * 1024)


def _stamp_mp3(session: ExifTool, work: Path, private: Path, provenance: Provenance, tags: dict[str, str],
               delete: tuple[str, ...], name: str) -> None:
    from mutagen import MutagenError
    from mutagen.id3 import ID3, PRIV, TSSE, TXXX, ID3NoHeaderError
    from mutagen.mp3 import MP3

    try:
        MP3(work)  # finds the MPEG frames: refuses what is not audio
        try:
            id3 = ID3(work)
        except ID3NoHeaderError:
            id3 = ID3()
    except (MutagenError, ValueError, OSError) as exc:
        raise StampError(f"{name}: not a readable MP3 file ({str(exc).splitlines()[0][:120]})") from None
    old_packets = [frame for frame in id3.getall("PRIV") if frame.owner == "XMP"]
    packet = private / "packet.xmp"
    packet.write_bytes(old_packets[0].data if old_packets else _EMPTY_XMP)
    session.write(packet, {tag: value for tag, value in tags.items() if tag.startswith("XMP-")}, delete,
                  name=name)
    id3.delall("PRIV:XMP")
    for frame in old_packets:
        id3.delall(frame.HashKey)
    id3.add(PRIV(owner="XMP", data=packet.read_bytes()))
    for field_name in (*FIELD_NAMES, SYNTHETIC_LABEL):
        id3.delall(f"TXXX:{field_name}")
    for tag, value in tags.items():
        if tag.startswith("XMP-adal:"):
            field_name = tag.split(":", 1)[1]
            field_name = "AI-Generated" if field_name == "AIGenerated" else field_name
            id3.add(TXXX(encoding=3, desc=field_name, text=[value]))
    id3.delall("TSSE")
    id3.add(TSSE(encoding=3, text=[provenance.creator_tool]))
    try:
        id3.save(work, v2_version=4)
    except (MutagenError, OSError) as exc:
        raise StampError(f"{name}: cannot write its ID3 tag ({str(exc).splitlines()[0][:120]})") from None
    found = session.read(work)
    for tag, value in tags.items():
        if tag.startswith("XMP-") and found.get(tag) != value:
            raise StampError(f"{name}: {tag} did not survive writing the ID3 tag")


# -- reading back ----------------------------------------------------------------------------------


def inspect_media(path: Path, limits: Limits, *, exiftool: ExifTool | None = None) -> Report:
    """What AI provenance ``path`` carries, as exiftool (with Adal's config) reads it."""
    path = Path(path)
    kind = _checked(path, limits)
    with _session(exiftool) as session, _readable(path) as readable:
        found = session.read(readable)
    report = Report(kind=kind)
    for name in FIELD_NAMES:
        value = found.get(f"XMP-adal:{xmp_name(name)}")
        if value is not None:
            report.fields[name] = value
    if f"XMP-adal:{SYNTHETIC_LABEL}" in found:
        report.fields[SYNTHETIC_LABEL] = found[f"XMP-adal:{SYNTHETIC_LABEL}"]
    report.digital_source_type = found.get("XMP-iptcExt:DigitalSourceType")
    report.ai_system_used = found.get("XMP-iptcExt:AISystemUsed")
    report.ai_system_version_used = found.get("XMP-iptcExt:AISystemVersionUsed")
    report.c2pa_manifest = any(key.split(":")[0].startswith(("JUMBF", "C2PA")) for key in found)
    if not any(key.startswith("XMP-") for key in found):
        report.notes.append("no XMP metadata")
    report.notes.extend(f"exiftool: {value}" for key, value in found.items() if key.endswith(":Warning"))
    return report


@contextmanager
def _readable(path: Path) -> Iterator[Path]:
    """``path``, or a link to it in a private directory when its name holds a line break."""
    if "\n" not in str(path) and "\r" not in str(path):
        yield path
        return
    with _private_dir() as private:
        link = private / f"media{path.suffix if path.suffix[1:].isascii() and path.suffix[1:].isalnum() else ''}"
        link.symlink_to(os.path.abspath(path))
        yield link

"""What AI provenance a file carries (S C.3, C.4, 6.3) and the pieces every format shares: the
fields, Adal's XMP namespace, the visible labels, the limits on hostile input, content sniffing
and atomic output. One module per format family (``opc``, ``pdf``) builds on this.

Adal's XMP namespace is ``http://ns.adal.kz/provenance/1.0/`` (prefix ``adal``). Its properties,
all simple text: ``AIGenerated`` ("Yes"), ``Service``, ``Model``, ``ModelVersion``,
``GenerationDate`` (YYYY-MM-DD), ``ResponsibleContact``, ``Tasks`` (the declared tasks, "; "-
separated), ``CreatorTool``. The same names (with ``AI-Generated`` for the first) are used for
OPC custom properties and PDF Info keys, so that every ordinary tool shows them alike.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

ADAL_NS = "http://ns.adal.kz/provenance/1.0/"
ADAL_PREFIX = "adal"
IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CREATOR_TOOL = "Adal AI provenance stamp"
LANGUAGES = ("kk", "ru", "en")


class StampError(Exception):
    """A file Adal will not stamp or read, with a one-line reason for the user. Nothing was written."""


class UnsupportedFile(StampError):
    pass


class HostileFile(StampError):
    """Over a limit, or built to harm the reader (zip bomb, XXE, path traversal, reference loop)."""


class EncryptedFile(StampError):
    pass


@dataclass(frozen=True)
class Provenance:
    """The S C.3 fields. ``tasks`` are the declared uses of AI (for submissions)."""

    service: str
    model: str
    model_version: str
    generation_date: date
    responsible: str | None = None
    tasks: tuple[str, ...] = ()
    creator_tool: str = CREATOR_TOOL

    def __post_init__(self) -> None:
        for name in ("service", "model", "model_version"):
            value = getattr(self, name)
            if not value or not value.strip() or len(value) > 200 or any(ord(c) < 32 for c in value):
                raise StampError(f"--{name.replace('_', '-')} must be one line of 1 to 200 characters")
        if self.responsible is not None and (len(self.responsible) > 200 or "\n" in self.responsible):
            raise StampError("--responsible must be one line of at most 200 characters")

    @property
    def model_and_version(self) -> str:
        return f"{self.model} {self.model_version}"

    @property
    def date_dmy(self) -> str:
        """Dates in labels are written dd.mm.yyyy (S 2)."""
        return self.generation_date.strftime("%d.%m.%Y")

    def fields(self) -> dict[str, str]:
        """The metadata fields, by the names S C.3 gives them."""
        values = {
            "CreatorTool": self.creator_tool,
            "AI-Generated": "Yes",
            "Service": self.service,
            "Model": self.model,
            "ModelVersion": self.model_version,
            "GenerationDate": self.generation_date.isoformat(),
        }
        if self.responsible:
            values["ResponsibleContact"] = self.responsible
        if self.tasks:
            values["Tasks"] = "; ".join(self.tasks)
        return values


#: Every name ``Provenance.fields()`` can give, in its order (the optional ones included).
FIELD_NAMES = ("CreatorTool", "AI-Generated", "Service", "Model", "ModelVersion", "GenerationDate",
               "ResponsibleContact", "Tasks")


def xmp_name(field_name: str) -> str:
    """``AI-Generated`` → ``AIGenerated``: the adal:* XMP property for a field name."""
    return field_name.replace("-", "")


# -- visible labels ------------------------------------------------------------------------------
# The kk texts are the standard's own (S C.3, C.4), verbatim; ru and en are our translations. They
# go into documents in the language asked for, whatever the interface language is.
_LINE = {
    "kk": "ЖИ көмегімен жасалған материалдар бар: {service}, {model}, күні: {date}. Жауапты тұлға: {person}.",
    "ru": "Содержит материалы, созданные с помощью ИИ: {service}, {model}, дата: {date}. Ответственное лицо: {person}.",
    "en": "Contains material made with the help of AI: {service}, {model}, date: {date}. Responsible person: {person}.",
}
_NO_PERSON = {"kk": "көрсетілмеген", "ru": "не указано", "en": "not given"}
_SLIDE_TITLE = {"kk": "ЖИ қолдану", "ru": "Использование ИИ", "en": "Use of AI"}
_SLIDE_ROWS = {
    "kk": ("Құрал", "Модель", "Тапсырмалар", "Ықпал ету дәрежесі", "Қосымша (промпт үлгілері)", "Күні"),
    "ru": ("Инструмент", "Модель", "Задачи", "Степень влияния", "Приложение (примеры промптов)", "Дата"),
    "en": ("Tool", "Model", "Tasks", "Degree of influence", "Appendix (sample prompts)", "Date"),
}
_NOT_STATED = {"kk": "көрсетілмеген", "ru": "не указано", "en": "not stated"}


def _lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise StampError(f"--lang must be one of {', '.join(LANGUAGES)}")
    return lang


def label_line(provenance: Provenance, lang: str = "kk") -> str:
    """The visible C.3 line for the title page or under the heading."""
    lang = _lang(lang)
    return _LINE[lang].format(service=provenance.service, model=provenance.model_and_version,
                              date=provenance.date_dmy, person=provenance.responsible or _NO_PERSON[lang])


@dataclass(frozen=True)
class SlideText:
    title: str
    rows: tuple[tuple[str, str], ...]


def ai_use_slide(provenance: Provenance, lang: str = "kk", *, influence: str | None = None,
                 appendix: str | None = None) -> SlideText:
    """The C.4 «ЖИ қолдану» slide: tool, model, tasks, degree of influence, link to an appendix."""
    lang = _lang(lang)
    names = _SLIDE_ROWS[lang]
    missing = _NOT_STATED[lang]
    values = (provenance.service, provenance.model_and_version, "; ".join(provenance.tasks) or missing,
              influence or missing, appendix or missing, provenance.date_dmy)
    return SlideText(_SLIDE_TITLE[lang], tuple(zip(names, values, strict=True)))


# -- limits on hostile input ---------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """Defaults are generous for real coursework and tight for bombs; each is an environment
    variable (``ADAL_STAMP_MAX_FILE_MB`` ...), read by the CLI."""

    max_file_bytes: int = 512 * 1024 * 1024
    max_total_uncompressed: int = 1024 * 1024 * 1024
    max_member_bytes: int = 256 * 1024 * 1024
    max_xml_part_bytes: int = 64 * 1024 * 1024
    max_compression_ratio: int = 200
    max_members: int = 20_000
    max_xml_depth: int = 256
    max_pdf_objects: int = 2_000_000
    # Pixels of an image Adal decodes to draw on (the visible band, counted with the band); the
    # metadata-only stamp never decodes pixels.
    max_image_pixels: int = 80_000_000


# -- content sniffing ----------------------------------------------------------------------------
OPC_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.ms-word.document.macroEnabled.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
}
EXTENSIONS = {".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx", ".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg",
              ".png": "png", ".webp": "webp", ".tif": "tiff", ".tiff": "tiff", ".mp4": "mp4", ".m4v": "mp4",
              ".mov": "mov", ".mp3": "mp3"}
MEDIA_KINDS = ("jpeg", "png", "webp", "tiff", "mp4", "mov", "mp3")


def sniff(path: Path, limits: Limits | None = None) -> str:
    """'pdf', 'docx', 'pptx', 'xlsx' or a media kind by content. Raises ``StampError`` otherwise."""
    if path.is_dir():
        raise UnsupportedFile(f"{path.name} is a directory, not a file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError as exc:
        raise StampError(f"{path.name}: cannot read it ({exc.strerror})") from None
    if not head:
        raise UnsupportedFile(f"{path.name} is empty (0 bytes)")
    if head.startswith(b"PK\x03\x04"):  # first: a zip may well hold "%PDF-" in its first kilobyte
        from attribution.opc import main_part_kind  # the OPC module knows its container

        return main_part_kind(path, limits or Limits())
    if b"%PDF-" in head:  # readers accept junk before the header within the first 1024 bytes
        return "pdf"
    from attribution.media import media_kind  # images, video, audio: by their magic bytes

    kind = media_kind(path)
    if kind is not None:
        return kind
    raise UnsupportedFile(f"{path.name} is not a PDF, DOCX, PPTX, XLSX, image, video or MP3 file")


def check_extension(path: Path, kind: str) -> None:
    """A file whose name says one type and whose content is another is refused, not guessed."""
    expected = EXTENSIONS.get(path.suffix.lower())
    same = {expected, kind} <= {"mp4", "mov"}  # one container format, two names
    if path.suffix and expected != kind and path.suffix.lower() in EXTENSIONS and not same:
        raise UnsupportedFile(f"{path.name} says {path.suffix} but its content is {kind.upper()}")


# -- atomic output -------------------------------------------------------------------------------
@contextmanager
def atomic_output(dest: Path) -> Iterator[BinaryIO]:
    """A file object whose content appears at ``dest`` only if the block finishes; no temporary
    file is left behind either way. ``dest`` is never a file being read (checked by the caller)."""
    dest = Path(dest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent or Path("."))
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass
class ContentCredentials:
    """A C2PA manifest store as c2pa validated it (``attribution.credentials``).

    ``state``: 'trusted' (intact, signer chains to a configured trust anchor), 'valid' (intact,
    signer not in the trust list), 'invalid' (the file or manifest changed after signing, or the
    signature does not verify) or 'unreadable'. ``organization`` is the signer's organisation;
    ``action``/``digital_source_type`` the action that says how AI took part; ``adal`` Adal's own
    ``kz.adal.provenance`` assertion; ``errors`` c2pa's failure codes with their explanations.
    """

    state: str
    signer: str | None = None
    organization: str | None = None
    signed_at: str | None = None
    generator: str | None = None
    action: str | None = None
    digital_source_type: str | None = None
    ai: bool = False
    adal: dict[str, str] = field(default_factory=dict)
    manifests: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.state in ("trusted", "valid")


@dataclass
class Report:
    """What ``inspect`` found in a file."""

    kind: str
    fields: dict[str, str] = field(default_factory=dict)
    digital_source_type: str | None = None
    ai_system_used: str | None = None
    ai_system_version_used: str | None = None
    visible_label: str | None = None
    c2pa_manifest: bool = False
    notes: list[str] = field(default_factory=list)
    content_credentials: ContentCredentials | None = None  # None: no manifest, or a kind c2pa cannot read

    @property
    def has_ai_provenance(self) -> bool:
        credentials = self.content_credentials
        return (self.fields.get("AI-Generated") == "Yes" or self.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
                or (credentials is not None and credentials.intact and credentials.ai))



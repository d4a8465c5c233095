"""What a handed-in file is, by its content, not its name (the submission form's check).

Beyond what stamping knows (PDF, DOCX, PPTX, XLSX, images, video, MP3), students hand in ODT,
plain text and source code, and code as ZIP archives. Archives are stored, never unpacked by
Adal, so only their central directory is read (a bomb inside is harmless here).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from flask_babel import gettext as _

from attribution.provenance import EXTENSIONS, HostileFile, Limits, StampError, sniff
from plugin.kernel.errors import InvalidInput

# Text and code: the name says which language; the content must be text.
TEXT_EXTENSIONS = frozenset({
    ".txt", ".md", ".csv", ".tex", ".py", ".java", ".c", ".h", ".cpp", ".hpp", ".cs", ".js", ".ts", ".html",
    ".css", ".sql", ".json", ".xml", ".yaml", ".yml", ".go", ".rs", ".kt", ".swift", ".php", ".rb", ".ipynb",
    ".r", ".m", ".sh", ".pas", ".dart",
})
ARCHIVE_EXTENSIONS = frozenset({".zip"})
ODF_TYPES = {"application/vnd.oasis.opendocument.text": "odt",
             "application/vnd.oasis.opendocument.presentation": "odp",
             "application/vnd.oasis.opendocument.spreadsheet": "ods"}
ACCEPTED_KINDS = ("docx", "pdf", "pptx", "xlsx", "odt", "odp", "ods", "jpeg", "png", "webp", "tiff", "mp4", "mov",
                  "mp3", "text", "zip")
#: For the file input's ``accept`` attribute: a hint to the browser only; the content decides.
ACCEPT_ATTRIBUTE = ",".join(sorted({*EXTENSIONS, *TEXT_EXTENSIONS, *ARCHIVE_EXTENSIONS, ".odt", ".odp", ".ods"}))
MAX_ARCHIVE_MEMBERS = 10_000


def _zip_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) > MAX_ARCHIVE_MEMBERS:
                raise InvalidInput(_("The archive holds more than %(n)d files.", n=MAX_ARCHIVE_MEMBERS))
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size < 200:
                    kind = ODF_TYPES.get(archive.read("mimetype").decode("ascii", "replace").strip())
                    if kind:
                        return kind
            return "zip"
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None


def _is_text(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(head) - 4:
            try:
                head.decode("cp1251")  # older Russian text files
            except UnicodeDecodeError:
                return False
    return True


def detect_kind(path: Path, name: str, limits: Limits | None = None) -> str:
    """The kind of an uploaded file (one of ``ACCEPTED_KINDS``). ``name`` is the name the browser
    sent: its extension must agree with the content. Raises ``InvalidInput`` with a message for
    the student: empty, unknown type, or a name that says something else."""
    suffix = Path(name).suffix.lower()
    if path.stat().st_size == 0:
        raise InvalidInput(_("%(name)s is empty (0 bytes).", name=name))
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            kind = sniff(path, limits)
        except HostileFile as exc:
            raise InvalidInput(_("%(name)s was refused: %(reason)s", name=name, reason=str(exc))) from None
        except StampError:
            kind = _zip_kind(path) or ""
        if not kind:
            raise InvalidInput(_("%(name)s looks like an archive but cannot be read.", name=name))
        expected = EXTENSIONS.get(suffix) or {".zip": "zip", ".odt": "odt", ".odp": "odp", ".ods": "ods"}.get(suffix)
        if expected != kind:
            raise InvalidInput(_("%(name)s is named as %(ext)s but its content is %(kind)s.", name=name,
                                 ext=suffix or "?", kind=kind.upper()))
        return kind
    try:
        kind = sniff(path, limits)
    except StampError:
        kind = "text" if suffix in TEXT_EXTENSIONS and _is_text(path) else ""
    if not kind:
        raise InvalidInput(_("%(name)s is not a file type this form accepts (documents, presentations, "
                             "spreadsheets, images, text, code or ZIP archives).", name=name))
    if kind == "text":
        return kind
    expected = EXTENSIONS.get(suffix)
    if expected != kind and {expected, kind} != {"mp4", "mov"}:
        raise InvalidInput(_("%(name)s is named as %(ext)s but its content is %(kind)s.", name=name,
                             ext=suffix or "?", kind=kind.upper()))
    return kind

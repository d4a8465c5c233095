"""Staff tools on the web: mark uploaded files as made with AI, or show what AI provenance a file
carries (S C.3, 6.3). The pages are ``attribution.tools_views``; the work is ``stamping``'s.

Uploads are untrusted. Each is copied into a private working directory under a fixed name
(``upload`` plus the browser's extension when it is a plain one, so that ``check_extension``
refuses a name that lies about the content exactly as the CLI does); the browser's file name is
shown on pages and, cleaned, gives the download's name, and is never part of a path. The working
directory is removed when the request ends, whatever happens; the answer is streamed from a file
that is already unlinked, so nothing stays behind even if the browser goes away mid-download.

Several files come back as one ZIP. When some fail, the result page lists each failure with its
reason and offers the ZIP of the others once, through a file kept in ``downloads/`` for at most
``PENDING_LIFETIME`` (removed when fetched, or by the next request after it expired).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlmodel import Session

from attribution.provenance import (
    LANGUAGES,
    TRAINED_ALGORITHMIC_MEDIA,
    EncryptedFile,
    HostileFile,
    Limits,
    Provenance,
    Report,
    StampError,
    check_extension,
    sniff,
)
from attribution.stamping import inspect_file, stamp_file
from plugin.kernel.settings import get_setting

#: Files in one request: enough for a lesson's materials, few enough to answer in seconds.
MAX_FILES = 50
MAX_FIELD = 200  # as Provenance allows
MAX_TASKS = 20
PENDING_LIFETIME = timedelta(hours=1)
ZIP_NAME = "ai-stamped.zip"
DOWNLOADS = "downloads"
_WORK_PREFIX = "adal-tools-"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_PLAIN_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")
# Windows reserved device names: a download saved under one of these would not open there.
_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


@dataclass(frozen=True)
class Upload:
    """One uploaded file: ``name`` as the browser sent it (shown, never a path) and its bytes."""

    name: str
    stream: BinaryIO


@dataclass(frozen=True)
class StampFields:
    """The form, checked: what every file of the request is stamped with."""

    provenance: Provenance
    lang: str
    synthetic: bool


@dataclass(frozen=True)
class Failure:
    """A file that was refused: its name, a translated reason, and the stamping module's own line
    (English, technical) when there is one."""

    name: str
    reason: str
    detail: str | None = None


@dataclass
class StampResult:
    """``file`` is the answer to send now (the stamped file, or the ZIP of all), already unlinked;
    the caller closes it. Otherwise ``failures`` say why, and ``pending`` is the one-time token
    of a ZIP of the files that were stamped, if any were."""

    stamped: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    file: BinaryIO | None = None
    download_name: str | None = None
    size: int = 0
    pending: str | None = None


@dataclass(frozen=True)
class Inspection:
    name: str
    sha256: str
    size: int
    report: Report | None = None
    failure: Failure | None = None


class _Refused(Exception):
    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


# -- the form --------------------------------------------------------------------------------------
def institution_today(session: Session, now: datetime) -> date:
    """Today where the institution is (``institution.timezone``): the form's default date."""
    return now.astimezone(ZoneInfo(get_setting(session, "institution.timezone"))).date()


def _iso_date(text: str) -> date | None:
    """YYYY-MM-DD only (``date.fromisoformat`` also takes week dates and compact forms)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _one_line(text: str, *, required: bool) -> str | None:
    """The problem with a one-line field, or None."""
    if not text:
        return _("Fill in this field.") if required else None
    if len(text) > MAX_FIELD or any(ord(c) < 32 or ord(c) == 127 for c in text):
        return _("Write one line of at most %(num)d characters.", num=MAX_FIELD)
    return None


def parse_stamp_form(form: Mapping[str, str], *, file_count: int, today: date) -> tuple[StampFields | None,
                                                                                       dict[str, str]]:
    """Check the stamp form. Returns the fields, or None and a translated problem per field name
    (``files``, ``service``, ``model``, ``model_version``, ``generation_date``, ``responsible``,
    ``tasks``, ``lang``)."""
    errors: dict[str, str] = {}
    if file_count == 0:
        errors["files"] = _("Choose at least one file.")
    elif file_count > MAX_FILES:
        errors["files"] = ngettext("Choose at most %(num)d file at a time.", "Choose at most %(num)d files at a time.",
                                   MAX_FILES)
    values = {name: (form.get(name) or "").strip() for name in ("service", "model", "model_version", "responsible")}
    for name, required in (("service", True), ("model", True), ("model_version", True), ("responsible", False)):
        problem = _one_line(values[name], required=required)
        if problem:
            errors[name] = problem
    generation_date = _iso_date((form.get("generation_date") or "").strip())
    if generation_date is None:
        errors["generation_date"] = _("Give the date as year, month and day (YYYY-MM-DD).")
    elif generation_date > today:
        errors["generation_date"] = _("The date cannot be in the future.")
    tasks = tuple(line.strip() for line in (form.get("tasks") or "").splitlines() if line.strip())
    if len(tasks) > MAX_TASKS or any(_one_line(task, required=True) for task in tasks):
        errors["tasks"] = _("Write at most %(count)d tasks, one per line, each at most %(num)d characters.",
                            count=MAX_TASKS, num=MAX_FIELD)
    lang = form.get("lang") or ""
    if lang not in LANGUAGES:
        errors["lang"] = _("Choose Kazakh, Russian or English.")
    if errors:
        return None, errors
    assert generation_date is not None
    provenance = Provenance(service=values["service"], model=values["model"], model_version=values["model_version"],
                            generation_date=generation_date, responsible=values["responsible"] or None, tasks=tasks)
    return StampFields(provenance=provenance, lang=lang, synthetic=form.get("synthetic") == "1"), errors


# -- names -----------------------------------------------------------------------------------------
def _base_name(name: str) -> str:
    # Some browsers send the whole client path; only its last part is the file's name.
    return unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]


def upload_suffix(name: str) -> str:
    """The extension the browser's name gives, lowercased, when it is a plain one; else ''."""
    suffix = PurePosixPath(_base_name(name)).suffix.lower()
    return suffix if _PLAIN_SUFFIX.fullmatch(suffix) else ""


def download_name(name: str, kind: str) -> str:
    """``Эссе 1.docx`` → ``Эссе_1.ai-stamped.docx``, as ``stamping.default_output`` names outputs.

    Not werkzeug's ``secure_filename``: it keeps ASCII only, so a Kazakh or Russian name would
    lose every letter (and ``Есеп.docx`` its extension too). Letters and digits of any script,
    ``-``, ``_`` and inner dots are kept; the rest becomes ``_``; a name is never a path.
    """
    base = _base_name(name)
    suffix = upload_suffix(name)
    stem = base[: -len(suffix)] if suffix else base
    clean = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:100].rstrip("._-")
    if not clean or clean.split(".")[0].lower() in _DEVICES:
        clean = f"file_{clean}" if clean else "file"
    return f"{clean}.ai-stamped{suffix or '.' + kind}"


class _UniqueNames:
    """Two uploads called ``a.docx`` become ``a.ai-stamped.docx`` and ``a.ai-stamped-2.docx``."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(self, name: str) -> str:
        candidate, number = name, 1
        stem, dot, suffix = name.rpartition(".")
        while candidate.lower() in self._seen:
            number += 1
            candidate = f"{stem}-{number}{dot}{suffix}"
        self._seen.add(candidate.lower())
        return candidate


# -- reasons ---------------------------------------------------------------------------------------
def _detail(exc: StampError, disk_name: str, shown: str) -> str:
    """The stamping module's line, speaking of the user's file rather than our working copy."""
    return str(exc).replace(disk_name, shown)


def _reason(exc: StampError, *, reading: bool) -> str:
    if isinstance(exc, EncryptedFile):
        return _("The file is protected by a password. Remove the password and try again.")
    if isinstance(exc, HostileFile):
        return _("Adal refused the file for safety: it is over a size limit, or built in a way that could "
                 "harm the programs that read it.")
    if reading:
        return _("Adal could not read the file: it seems damaged.")
    return _("Adal could not mark the file: it seems damaged, or it is built in a way Adal cannot change "
             "safely.")


def _checked_kind(src: Path, shown: str, limits: Limits) -> str:
    """The kind by content, as ``stamp_file`` will find it, with a translated reason if refused."""
    if src.stat().st_size == 0:
        raise _Refused(_("The file is empty."))
    try:
        kind = sniff(src, limits)
    except (EncryptedFile, HostileFile) as exc:
        raise _Refused(_reason(exc, reading=True), _detail(exc, src.name, shown)) from None
    except StampError as exc:
        raise _Refused(_("Adal does not mark this kind of file. It marks PDF, DOCX, PPTX and XLSX documents, "
                         "JPEG, PNG, WebP and TIFF images, MP4 and MOV video and MP3 audio."),
                       _detail(exc, src.name, shown)) from None
    try:
        check_extension(src, kind)
    except StampError:
        raise _Refused(_("The name ends in %(suffix)s, but the content is %(kind)s. Rename the file or choose "
                         "the right one.", suffix=src.suffix, kind=kind.upper())) from None
    return kind


# -- the working directory -------------------------------------------------------------------------
@contextmanager
def _work_dir(work_root: Path) -> Iterator[Path]:
    work_root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=_WORK_PREFIX, dir=work_root) as name:  # mode 0700
        yield Path(name)


def _save(upload: Upload, folder: Path) -> tuple[Path, str, int]:
    """Copy an upload to ``folder/upload<suffix>``; returns the path, its SHA-256 and size."""
    path = folder / f"upload{upload_suffix(upload.name)}"
    digest, size = hashlib.sha256(), 0
    with open(path, "xb") as out:
        while chunk := upload.stream.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return path, digest.hexdigest(), size


def _opened_unlinked(path: Path) -> tuple[BinaryIO, int]:
    """An open handle on ``path`` and its size; the name is gone as soon as the directory is."""
    handle = open(path, "rb")  # noqa: SIM115 -- returned to the caller, who closes it after sending
    return handle, os.fstat(handle.fileno()).st_size


def sweep(work_root: Path, *, now: datetime, older_than: timedelta = PENDING_LIFETIME) -> int:
    """Remove what a killed process or an unfetched download left under ``work_root`` longer ago
    than ``older_than``. Returns how many entries went. Only Adal's own names are touched."""
    cutoff = (now - older_than).timestamp()
    removed = 0
    downloads = work_root / DOWNLOADS
    candidates = [p for p in (work_root.iterdir() if work_root.is_dir() else ()) if p.name.startswith(_WORK_PREFIX)]
    candidates += [p for p in (downloads.iterdir() if downloads.is_dir() else ())
                   if _TOKEN.fullmatch(p.name.removesuffix(".zip")) or p.name.startswith(".taken-")]
    for path in candidates:
        try:
            if path.lstat().st_mtime >= cutoff:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
        except FileNotFoundError:
            continue  # another request swept it first
    return removed


def _keep(path: Path, work_root: Path) -> str:
    downloads = work_root / DOWNLOADS
    downloads.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    os.replace(path, downloads / f"{token}.zip")
    return token


def take_pending(work_root: Path, token: str | None, *, now: datetime) -> tuple[BinaryIO, int] | None:
    """The ZIP kept under ``token``, opened and already removed (a second take finds nothing), or
    None if there is none, it expired, or the token is not one of ours."""
    if not token or not _TOKEN.fullmatch(token):
        return None
    sweep(work_root, now=now)
    kept = work_root / DOWNLOADS / f"{token}.zip"
    taken = kept.with_name(f".taken-{secrets.token_hex(8)}")
    try:
        os.rename(kept, taken)  # atomic: of two requests for one token, one wins
    except FileNotFoundError:
        return None
    try:
        return _opened_unlinked(taken)
    finally:
        taken.unlink()


def discard_pending(work_root: Path, token: str | None) -> None:
    """Remove a kept ZIP nobody will fetch (its session asked for another)."""
    if token and _TOKEN.fullmatch(token):
        (work_root / DOWNLOADS / f"{token}.zip").unlink(missing_ok=True)


# -- the two services ------------------------------------------------------------------------------
def stamp_uploads(uploads: Sequence[Upload], fields: StampFields, *, work_root: Path, now: datetime,
                  limits: Limits | None = None) -> StampResult:
    """Stamp every upload with ``fields``; see ``StampResult`` for the answer.

    Each file is refused or stamped on its own (one exiftool process for all of them); a refused
    file gets a translated reason. Nothing stays under ``work_root`` but a pending ZIP when some
    files failed and others did not. Raises only on an unexpected error, after cleaning up.
    """
    from attribution.media import ExifTool

    limits = limits or Limits()
    sweep(work_root, now=now)
    result = StampResult()
    done: list[tuple[str, Path]] = []
    unique = _UniqueNames()
    with _work_dir(work_root) as work:
        with ExifTool() as exiftool:  # started only when the first image, video or MP3 needs it
            for index, upload in enumerate(uploads):
                folder = work / str(index)
                folder.mkdir()
                src, _sha, _size = _save(upload, folder)
                try:
                    kind = _checked_kind(src, upload.name, limits)
                    name = unique(download_name(upload.name, kind))
                    dest = folder / f"stamped{PurePosixPath(name).suffix}"
                    stamp_file(src, dest, fields.provenance, lang=fields.lang, limits=limits,
                               synthetic=fields.synthetic, exiftool=exiftool)
                except _Refused as refused:
                    result.failures.append(Failure(upload.name, refused.reason, refused.detail))
                except StampError as exc:
                    result.failures.append(Failure(upload.name, _reason(exc, reading=False),
                                                   _detail(exc, src.name, upload.name)))
                else:
                    done.append((name, dest))
        result.stamped = [name for name, _path in done]
        if not done:
            return result
        if len(uploads) == 1:
            answer, result.download_name = done[0][1], done[0][0]
        else:
            answer, result.download_name = work / "stamped.zip", ZIP_NAME
            with zipfile.ZipFile(answer, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, path in done:
                    archive.write(path, arcname=name)
        if result.failures:
            result.pending = _keep(answer, work_root)
            return result
        result.file, result.size = _opened_unlinked(answer)
    return result


def inspect_upload(upload: Upload, *, work_root: Path, now: datetime, limits: Limits | None = None) -> Inspection:
    """What AI provenance one uploaded file carries; nothing of it stays under ``work_root``."""
    limits = limits or Limits()
    sweep(work_root, now=now)
    with _work_dir(work_root) as work:
        src, sha256, size = _save(upload, work)
        try:
            _checked_kind(src, upload.name, limits)
            report = inspect_file(src, limits=limits)
        except _Refused as refused:
            return Inspection(upload.name, sha256, size, failure=Failure(upload.name, refused.reason, refused.detail))
        except StampError as exc:
            return Inspection(upload.name, sha256, size, failure=Failure(
                upload.name, _reason(exc, reading=True), _detail(exc, src.name, upload.name)))
    return Inspection(upload.name, sha256, size, report=report)


# -- what a report says, for people ----------------------------------------------------------------
def _field_labels() -> dict[str, str]:
    return {
        "AI-Generated": _("Made with AI"),
        "Service": _("AI service"),
        "Model": _("Model"),
        "ModelVersion": _("Model version"),
        "GenerationDate": _("Date of generation"),
        "ResponsibleContact": _("Responsible person"),
        "Tasks": _("Tasks AI was used for"),
        "SyntheticLabel": _("Synthetic media label"),
        "CreatorTool": _("Creator tool"),
    }


def report_rows(report: Report) -> list[tuple[str, str]]:
    """(translated label, value) for every field the report holds, in a stable order."""
    labels = _field_labels()
    rows: list[tuple[str, str]] = []
    ordered = [name for name in labels if name in report.fields]
    ordered += sorted(name for name in report.fields if name not in labels)  # a newer stamp's fields
    for name in ordered:
        value = report.fields[name]
        if name == "AI-Generated" and value == "Yes":
            value = _("Yes")
        elif name == "GenerationDate" and (day := _iso_date(value)) is not None:
            value = day.strftime("%d.%m.%Y")  # dates are written dd.mm.yyyy (S 2)
        rows.append((labels.get(name, name), value))
    if report.digital_source_type:
        shown = report.digital_source_type
        if shown == TRAINED_ALGORITHMIC_MEDIA:
            shown = _("made by a trained AI model (%(code)s)", code="trainedAlgorithmicMedia")
        rows.append((_("IPTC digital source type"), shown))
    if report.ai_system_used:
        rows.append((_("AI system (IPTC)"), f"{report.ai_system_used} {report.ai_system_version_used or ''}".strip()))
    rows.append((_("Content Credentials (C2PA) manifest"), _("present") if report.c2pa_manifest else _("none")))
    return rows

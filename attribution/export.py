"""DOCX → PDF that keeps AI provenance (S 6.3б: provenance is preserved on export).

LibreOffice's PDF export drops a DOCX's custom properties (only author and keywords survive), so
the PDF it makes is re-stamped with the fields read from the DOCX. The visible label, being a
paragraph of the document, is converted with the text.

LibreOffice runs headless in a private temporary directory (mode 0700) holding a copy of the
input under a plain name, the output, and a profile of its own (``-env:UserInstallation``):
concurrent conversions never share a profile, which LibreOffice locks, and nothing is written to
the user's home. The profile blocks linked images (fetched by URL otherwise) and macros. It runs
in a session of its own, killed as a whole on timeout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from datetime import date
from pathlib import Path

from attribution.provenance import (
    LANGUAGES,
    Limits,
    Provenance,
    Report,
    StampError,
    UnsupportedFile,
    atomic_output,
    label_line,
)

SOFFICE_PACKAGE = "libreoffice-writer-nogui"
DEFAULT_TIMEOUT = 120.0
# The private profile's settings. LibreOffice fetches images a document links to by URL while it
# converts (measured: a GET per linked image), which would let a document report where and when it
# was opened, or reach addresses inside the school's network; BlockUntrustedRefererLinks stops
# that. Macros never run.
_PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks"
 oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution"
 oor:op="fuse"><value>true</value></prop></item>
</oor:items>
"""


class ConverterMissing(StampError):
    """LibreOffice (``soffice``) is not installed."""


class NoProvenance(StampError):
    """The DOCX carries no (complete) Adal provenance to keep; ``reason`` says what is missing."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} carries no complete Adal provenance ({reason}); stamp it first")
        self.reason = reason


def default_pdf_output(src: Path) -> Path:
    """``essay.ai-stamped.docx`` → ``essay.ai-stamped.pdf``, beside it."""
    src = Path(src)
    return src.with_suffix(".pdf") if src.suffix else src.with_name(src.name + ".pdf")


def provenance_of(report: Report, name: str) -> tuple[Provenance, str]:
    """The provenance a stamped file's report carries and the language of its visible label.
    Raises ``NoProvenance`` when Adal's fields are absent or incomplete."""
    fields = report.fields
    if fields.get("AI-Generated") != "Yes":
        raise NoProvenance(name, "no AI-Generated: Yes field")
    missing = [key for key in ("Service", "Model", "ModelVersion", "GenerationDate") if not fields.get(key)]
    if missing:
        raise NoProvenance(name, f"no {', '.join(missing)}")
    try:
        when = date.fromisoformat(fields["GenerationDate"])
    except ValueError:
        raise NoProvenance(name, f"GenerationDate {fields['GenerationDate']!r} is not a date") from None
    tasks = tuple(fields["Tasks"].split("; ")) if fields.get("Tasks") else ()
    extra = {"creator_tool": fields["CreatorTool"]} if fields.get("CreatorTool") else {}
    provenance = Provenance(service=fields["Service"], model=fields["Model"], model_version=fields["ModelVersion"],
                            generation_date=when, responsible=fields.get("ResponsibleContact"), tasks=tasks,
                            **extra)
    lang = next((lang for lang in LANGUAGES if report.visible_label == label_line(provenance, lang)), "kk")
    return provenance, lang


def find_soffice(executable: str | None = None) -> str:
    found = shutil.which(executable or "soffice")
    if found is None:
        raise ConverterMissing(f"LibreOffice is missing (no soffice): apt-get install {SOFFICE_PACKAGE}")
    return found


def convert_to_pdf(src: Path, out_dir: Path, *, soffice: str | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> Path:
    """LibreOffice's PDF of ``src``, written in ``out_dir`` (a private directory the caller owns).
    Raises ``StampError`` when LibreOffice is missing, fails, or takes longer than ``timeout``."""
    program = find_soffice(soffice)
    work = out_dir / "in"
    work.mkdir()
    source = work / "document.docx"  # a plain name: LibreOffice reads no option or URL in it
    shutil.copyfile(src, source)
    profile = out_dir / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE_SETTINGS, encoding="utf-8")
    result_dir = out_dir / "out"
    command = [program, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible", "--nologo",
               "--norestore", "--nolockcheck", "--nodefault", "--convert-to", "pdf:writer_pdf_Export",
               "--outdir", str(result_dir), str(source)]
    env = {**os.environ, "HOME": str(out_dir), "TMPDIR": str(out_dir)}
    # S603: a fixed argument list, the program found on PATH, the only file name one we chose
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,  # noqa: S603
                          stderr=subprocess.PIPE, env=env, cwd=out_dir, start_new_session=True) as process:
        try:
            _stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise StampError(f"{src.name}: LibreOffice took more than {timeout:g} s; stopped") from None
        except BaseException:
            _kill(process)
            raise
        finally:
            _kill_leftovers(process)
    result = result_dir / "document.pdf"
    if process.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
        reason = next((line.strip() for line in stderr.decode("utf-8", "replace").splitlines()
                       if line.strip() and "javaldx" not in line), f"exit status {process.returncode}")
        raise StampError(f"{src.name}: LibreOffice could not convert it ({reason[:160]})")
    return result


def _kill(process: subprocess.Popen[bytes]) -> None:
    _kill_leftovers(process)
    process.wait()


def _kill_leftovers(process: subprocess.Popen[bytes]) -> None:
    """soffice is a launcher: whatever it started in its session goes with it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def export_pdf(src: Path, dest: Path, *, limits: Limits | None = None, soffice: str | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> Report:
    """Convert the Adal-stamped DOCX ``src`` to a PDF at ``dest`` carrying the same provenance
    fields, and return the PDF's report. ``dest`` appears whole or not at all; raises
    ``StampError`` (``NoProvenance``, ``ConverterMissing`` ...) with one line otherwise."""
    from attribution.stamping import inspect_file, stamp_file

    limits = limits or Limits()
    src, dest = Path(src), Path(dest)
    if not src.exists():
        raise StampError(f"{src.name}: no such file")
    if dest.exists() and os.path.samefile(src, dest):
        raise StampError(f"{src.name}: the output would overwrite the original; choose another name")
    if dest.is_dir():
        raise StampError(f"{dest}: is a directory")
    report = inspect_file(src, limits=limits)  # all of the DOCX's limits are checked here
    if report.kind != "docx":
        raise UnsupportedFile(f"{src.name} is {report.kind.upper()}; export-pdf converts DOCX files")
    provenance, lang = provenance_of(report, src.name)
    find_soffice(soffice)  # before any work
    with tempfile.TemporaryDirectory(prefix="adal-export-") as name:
        private = Path(name)
        converted = convert_to_pdf(src, private, soffice=soffice, timeout=timeout)
        stamped = private / "stamped.pdf"
        stamp_file(converted, stamped, provenance, lang=lang, limits=limits)
        result = inspect_file(stamped, limits=limits)
        lost = {key: value for key, value in report.fields.items() if result.fields.get(key) != value}
        if lost:
            raise StampError(f"{src.name}: the PDF did not keep {', '.join(sorted(lost))}")
        with atomic_output(dest) as out, open(stamped, "rb") as handle:
            shutil.copyfileobj(handle, out, 1024 * 1024)
    return result

"""Stamp a file with AI provenance, or read it back, whatever its format: the one entry point the
CLI and (later) the web pages use. The original is never modified; the output appears only
when complete."""

from __future__ import annotations

import os
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attribution.provenance import (
    EXTENSIONS,
    MEDIA_KINDS,
    HostileFile,
    Limits,
    Provenance,
    Report,
    StampError,
    atomic_output,
    check_extension,
    sniff,
)

if TYPE_CHECKING:
    from attribution.credentials import Credentials


def _modules(kind: str):  # the (stamp, inspect) pair of one format family
    if kind in MEDIA_KINDS:
        from attribution.media import inspect_media, stamp_media

        return stamp_media, inspect_media
    if kind == "pdf":
        from attribution.pdf import inspect_pdf, stamp_pdf

        return stamp_pdf, inspect_pdf
    from attribution.opc import inspect_opc, stamp_opc

    return stamp_opc, inspect_opc


def _checked_kind(path: Path, limits: Limits) -> str:
    kind = sniff(path, limits)
    check_extension(path, kind)
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise HostileFile(f"{path.name} is {size // (1024 * 1024)} MB; the limit is "
                          f"{limits.max_file_bytes // (1024 * 1024)} MB (ADAL_STAMP_MAX_FILE_MB)")
    return kind


def stamp_file(src: Path, dest: Path, provenance: Provenance, *, lang: str = "kk",
               limits: Limits | None = None, synthetic: bool = False, exiftool: Any = None,
               credentials: Credentials | None = None) -> str:
    """Write a stamped copy of ``src`` to ``dest``; returns the kind ('pdf', 'docx', 'png', ...).

    ``synthetic`` adds the S C.3 synthetic-media label to images, video and audio; ``exiftool``
    is one ``attribution.media.ExifTool`` shared by a batch (else each media file starts one).
    ``credentials`` (``attribution.credentials.Credentials``) signs a C2PA manifest over the
    stamped file as its last step, unless ``attribution.credentials.unavailable_reason`` says
    the file cannot take one (an Office file, a digitally signed PDF).
    Raises ``StampError`` (with a one-line reason) and leaves no output when anything is wrong.
    """
    limits = limits or Limits()
    src, dest = Path(src), Path(dest)
    if not src.exists():
        raise StampError(f"{src.name}: no such file")
    if dest.exists() and os.path.samefile(src, dest):
        raise StampError(f"{src.name}: the output would overwrite the original; choose another name")
    if dest.is_dir():
        raise StampError(f"{dest}: is a directory; use --out-dir for a directory")
    kind = _checked_kind(src, limits)
    stamp, _inspect = _modules(kind)
    signing = nullcontext
    if credentials is not None:
        from attribution.credentials import unavailable_reason

        if unavailable_reason(src, kind) is None:
            signing = partial(credentials.signing, src=src, kind=kind, provenance=provenance, limits=limits,
                              synthetic=synthetic, lang=lang)
    with atomic_output(dest) as final, signing(final) as out:  # the C2PA manifest goes on last
        if kind in MEDIA_KINDS:
            stamp(src, out, provenance, lang, limits, synthetic=synthetic, exiftool=exiftool)
        else:
            stamp(src, out, provenance, lang, limits)
    return kind


def inspect_file(path: Path, *, limits: Limits | None = None, trust_anchors: str | None = None) -> Report:
    """Everything Adal can read about AI provenance in ``path``, its C2PA manifest validated (the
    signer trusted when it chains to one of the PEM ``trust_anchors``). Raises ``StampError``."""
    limits = limits or Limits()
    path = Path(path)
    if not path.exists():
        raise StampError(f"{path.name}: no such file")
    kind = _checked_kind(path, limits)
    _stamp, inspect = _modules(kind)
    report: Report = inspect(path, limits)
    from attribution.credentials import read_credentials

    found = read_credentials(path, kind, trust_anchors=trust_anchors)
    if found is not None and found.state == "unreadable" and not report.c2pa_manifest:
        # c2pa could not parse the container at all: that says nothing about a manifest
        report.notes.append(f"Content Credentials not checked: c2pa cannot parse the file ({found.errors[0]})")
        found = None
    report.content_credentials = found
    if found is not None:
        report.c2pa_manifest = True
    return report


def default_output(src: Path, out_dir: Path | None = None) -> Path:
    """``report.docx`` → ``report.ai-stamped.docx``, beside it or in ``out_dir``; a file without
    an extension gets the one its content says (``scan`` → ``scan.ai-stamped.pdf``)."""
    suffix = src.suffix or ("." + sniff(src))
    stem = src.stem if src.suffix else src.name
    return (out_dir or src.parent) / f"{stem}.ai-stamped{suffix}"


def collect_inputs(paths: list[Path], *, skip: Path | None = None) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Files to stamp from files and directories (walked recursively, in name order).

    Returns ``(work, skipped)``: ``work`` pairs each file with the path its output keeps under an
    output directory (a directory's own name, then the path inside it); ``skipped`` are files in
    directories that are not a kind Adal stamps by name or content. Files named directly, and
    files whose extension is a kind Adal stamps, are always in ``work`` (a bad one fails with its
    reason). ``skip`` (the output directory) is never walked.
    """
    work: list[tuple[Path, Path]] = []
    skipped: list[Path] = []
    skip_resolved = skip.resolve() if skip is not None and skip.exists() else None
    for path in paths:
        if not path.is_dir():
            work.append((path, Path(path.name)))
            continue
        for found in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
            if skip_resolved is not None and skip_resolved in found.resolve().parents:
                continue
            if found.suffix.lower() not in EXTENSIONS:  # a named kind that is broken fails with its reason
                try:
                    sniff(found)
                except StampError:
                    skipped.append(found)
                    continue
            work.append((found, Path(path.name) / found.relative_to(path)))
    return work, skipped

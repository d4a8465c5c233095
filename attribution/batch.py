"""Stamping many files in one run: documents (PDF, DOCX, PPTX, XLSX) in ``jobs`` worker processes,
images, video and audio in the calling process through its one exiftool process (a second
exiftool per worker would cost more than it saves: exiftool's work is mostly its own start-up).

Outcomes are yielded as files finish, for a progress bar; each carries the index of its input so
that the caller can report in input order whatever order the workers finished in.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attribution.provenance import Limits, Provenance, StampError, sniff

DOCUMENT_KINDS = ("pdf", "docx", "pptx", "xlsx")
IMAGE_KINDS = ("jpeg", "png", "webp", "tiff")
# Modules a worker needs, imported once by the fork server rather than once per worker.
_PRELOAD = ["attribution.batch", "attribution.stamping", "attribution.pdf", "attribution.opc"]


@dataclass(frozen=True)
class Outcome:
    """One input's result: ``error`` is None when it was stamped (``labelled``: its band copy)."""

    index: int
    src: Path
    dest: Path
    error: str | None = None
    labelled: Path | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def stamp_batch(work: Sequence[tuple[Path, Path]], provenance: Provenance, *, jobs: int = 1, lang: str = "kk",
                limits: Limits | None = None, synthetic: bool = False, visible_band: bool = False,
                exiftool: Any = None, **stamp_options: Any) -> Iterator[Outcome]:
    """Stamp each ``(src, dest)`` of ``work`` and yield its ``Outcome`` as it finishes.

    ``jobs`` > 1 sends documents to that many worker processes (``stamp_options`` must then be
    picklable); everything else is stamped here, with ``exiftool`` shared. ``visible_band`` (with
    ``synthetic``) also writes each image's ``band.labelled_path(dest)`` copy with the label in a
    visible band; if that copy cannot be made, the file fails and its plain copy is removed too.
    A file that fails never stops the others; only a ``StampError`` is a failure, anything else
    is a bug and propagates.
    """
    limits = limits or Limits()
    if visible_band and not synthetic:
        raise StampError("a visible band carries the synthetic-media label: it needs synthetic=True")
    options = dict(lang=lang, limits=limits, synthetic=synthetic, **stamp_options)
    outputs = {os.path.abspath(dest) for _src, dest in work}
    documents: list[int] = []
    here: list[int] = []
    for index, (src, _dest) in enumerate(work):
        (documents if jobs > 1 and _kind(src, limits) in DOCUMENT_KINDS else here).append(index)
    if len(documents) < 2:  # one document is not worth a process
        here, documents = sorted(here + documents), []

    def local(index: int) -> Outcome:
        src, dest = work[index]
        return _stamp_here(index, src, dest, provenance, options, exiftool, visible_band, outputs)

    if not documents:
        for index in here:
            yield local(index)
        return
    pool = _pool(min(jobs, len(documents)))
    try:
        pending: dict[Future[str | None], int] = {
            pool.submit(_stamp_document, work[index][0], work[index][1], provenance, options): index
            for index in documents}
        for index in here:
            yield local(index)
            finished = [future for future in pending if future.done()]
            for future in finished:
                yield _collected(future, pending.pop(future), work)
        while pending:
            finished, _running = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield _collected(future, pending.pop(future), work)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _kind(src: Path, limits: Limits) -> str | None:
    try:
        return sniff(src, limits)
    except (StampError, OSError):
        return None  # stamped here, where it fails with its reason


def _stamp_here(index: int, src: Path, dest: Path, provenance: Provenance, options: dict[str, Any], exiftool: Any,
                visible_band: bool, outputs: set[str]) -> Outcome:
    from attribution.stamping import stamp_file

    try:
        kind = stamp_file(src, dest, provenance, exiftool=exiftool, **options)
    except StampError as exc:
        return Outcome(index, src, dest, str(exc))
    if not (visible_band and kind in IMAGE_KINDS):
        return Outcome(index, src, dest)
    from attribution.band import labelled_path, stamp_band_copy

    labelled = labelled_path(dest)
    try:
        if os.path.abspath(labelled) in outputs:
            raise StampError(f"{src.name}: its labelled copy {labelled.name} would overwrite another output")
        band_options = {key: value for key, value in options.items() if key != "synthetic"}  # always synthetic
        stamp_band_copy(src, labelled, provenance, exiftool=exiftool, **band_options)
    except StampError as exc:
        dest.unlink(missing_ok=True)  # the file failed as a whole: no half of its outputs is left
        return Outcome(index, src, dest, str(exc))
    return Outcome(index, src, dest, labelled=labelled)


def _collected(future: Future[str | None], index: int, work: Sequence[tuple[Path, Path]]) -> Outcome:
    src, dest = work[index]
    try:
        error = future.result()
    except BrokenProcessPool:
        error = f"{src.name}: the worker process stopped before finishing it (out of memory?)"
    return Outcome(index, src, dest, error)


def _pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        # cheapest: the workers have every module already; safe while the caller has no other thread
        context = multiprocessing.get_context("fork")
    elif "forkserver" in methods:  # a thread could hold a lock at fork time: a fork server starts clean
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                               initargs=(logging.getLogger("pypdf").getEffectiveLevel(),))


def _start_worker(pypdf_level: int) -> None:
    # the caller's choice of how loud pypdf is (the CLI gives a failed file one line, not pypdf's log)
    logging.getLogger("pypdf").setLevel(pypdf_level)


def _stamp_document(src: Path, dest: Path, provenance: Provenance, options: dict[str, Any]) -> str | None:
    """In a worker: None when ``src`` was stamped, else the one-line reason."""
    from attribution.stamping import stamp_file

    try:
        stamp_file(src, dest, provenance, **options)
    except StampError as exc:
        return str(exc)
    return None


"""Benchmark: stamping AI provenance against a plain file copy of the same bytes, in one run.

    .venv/bin/python bench/stamp.py [--repeat 5] [--small-only]

Inputs are generated: PDFs of 1 MB and 50 MB (pages with incompressible image data, as scanned
coursework is) and DOCX files of 1 MB and 20 MB (text plus an embedded incompressible image).
For each, min and median wall time of ``shutil.copyfile``, of ``adal`` stamping, and of the peers
the issue names: pypdf's own incremental save and python-docx's open/save. Ratios are to the copy.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import struct
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

from attribution.provenance import Provenance
from attribution.stamping import stamp_file

PROVENANCE = Provenance(service="ChatGPT", model="GPT-4o", model_version="2024-08-06",
                        generation_date=date(2026, 11, 20), responsible="А. Тестова", tasks=("тілдік түзету",))


def make_pdf(path: Path, megabytes: int) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for number in range(max(1, megabytes)):
        writer.add_blank_page(width=595, height=842)
        # incompressible content, as scans and images are
        writer.add_attachment(f"scan-{number}.bin", os.urandom(1024 * 1024 - 4096))
    with open(path, "wb") as handle:
        writer.write(handle)


def random_png(megabytes: int) -> bytes:
    """A valid PNG of random pixels (incompressible, as photos nearly are), about ``megabytes`` big."""
    side = max(16, int((megabytes * 1024 * 1024 / 3) ** 0.5))
    rows = b"".join(b"\x00" + os.urandom(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


def make_docx(path: Path, megabytes: int) -> None:
    from docx import Document
    from docx.shared import Cm

    document = Document()
    document.add_heading("Курстық жұмыс", level=0)
    for number in range(200):
        document.add_paragraph(f"{number}. Бұл абзац ЖИ-ді адал пайдалану туралы жазылған мәтін. " * 5)
    document.add_picture(io.BytesIO(random_png(megabytes)), width=Cm(10))
    document.save(str(path))


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def pypdf_incremental(src: Path, dest: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(str(src), incremental=True)
    writer.add_metadata({"/AI-Generated": "Yes"})
    with open(dest, "wb") as handle:
        writer.write(handle)


def python_docx_save(src: Path, dest: Path) -> None:
    from docx import Document

    document = Document(str(src))
    document.core_properties.keywords = "AI-Generated: Yes"
    document.save(str(dest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--small-only", action="store_true", help="only the 1 MB files (a quick look)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="adal-bench-stamp-"))
    cases = [("pdf", 1), ("docx", 1)] if args.small_only else [("pdf", 1), ("pdf", 50), ("docx", 1), ("docx", 20)]
    print(f"# {args.repeat} runs each; ratios to shutil.copyfile of the same file in the same run; "
          f"{os.cpu_count()} cores")
    print(f"{'file':<10} {'copy ms (min/med)':>18} {'adal ms':>16} {'ratio min/med':>14} {'peer ms':>16} "
          f"{'peer ratio':>11}  peer")
    try:
        for kind, megabytes in cases:
            src = work / f"in-{megabytes}.{kind}"
            (make_pdf if kind == "pdf" else make_docx)(src, megabytes)
            out = work / f"out.{kind}"
            copy = timed(lambda s=src, o=out: shutil.copyfile(s, o), args.repeat)
            ours = timed(lambda s=src, o=out: stamp_file(s, o, PROVENANCE, lang="kk"), args.repeat)
            peer_name = "pypdf incremental" if kind == "pdf" else "python-docx save"
            peer_fn = pypdf_incremental if kind == "pdf" else python_docx_save
            peer = timed(lambda s=src, o=out, f=peer_fn: f(s, o), max(1, min(args.repeat, 3)))
            size = src.stat().st_size / (1024 * 1024)
            print(f"{kind} {size:4.0f}MB {min(copy) * 1000:8.1f}/{statistics.median(copy) * 1000:<8.1f} "
                  f"{min(ours) * 1000:7.1f}/{statistics.median(ours) * 1000:<7.1f} "
                  f"{min(ours) / min(copy):6.1f}/{statistics.median(ours) / statistics.median(copy):<6.1f} "
                  f"{min(peer) * 1000:7.1f}/{statistics.median(peer) * 1000:<7.1f} "
                  f"{min(peer) / min(copy):10.1f}x  {peer_name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

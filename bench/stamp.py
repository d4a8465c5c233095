"""Benchmark: stamping AI provenance against a plain file copy of the same bytes, in one run.

    .venv/bin/python bench/stamp.py [--repeat 5] [--small-only]

Inputs are generated: PDFs of 1 MB and 50 MB (pages with incompressible image data, as scanned
coursework is) and DOCX files of 1 MB and 20 MB (text plus an embedded incompressible image).
For each, min and median wall time of ``shutil.copyfile``, of ``adal`` stamping, and of the peers
the issue names: pypdf's own incremental save and python-docx's open/save. Ratios are to the copy.

    .venv/bin/python bench/stamp.py --batch [--images 200] [--documents 50] [--document-mb 1] [--repeat 5]

The batch: ``adal stamp --out-dir`` run as a user runs it (a new process, its start-up included)
over one folder of JPEG images and PDF/DOCX documents, its standard error on a pseudo-terminal so
that the progress bar is drawn as on a real one (checked: the bar must reach 100%); files/s and the
ratio to copying the same files one by one in the same run. Then the documents alone with
``--jobs 1`` and ``--jobs 2``.
"""

from __future__ import annotations

import argparse
import io
import os
import pty
import resource
import shutil
import statistics
import struct
import subprocess
import sys
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


ADAL = str(Path(sys.executable).parent / "adal")
ARGS = ["--service", "ChatGPT", "--model", "GPT-4o", "--model-version", "2024-08-06", "--date", "2026-11-20",
        "--responsible", "А. Тестова", "--task", "тілдік түзету", "--synthetic"]


def run_on_terminal(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (its own, its workers' and exiftool's) of ``adal ARGS`` with its
    standard error on a pseudo-terminal (the progress bar on)."""
    controller, terminal = pty.openpty()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen([ADAL, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=terminal,
                               env={**os.environ, "ADAL_LANG": "en", "COLUMNS": "100"})
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        shown += chunk
    stdout, _ = process.communicate()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.close(controller)
    if process.returncode != 0 or b"100%" not in shown:
        raise SystemExit(f"adal {' '.join(args[:1])} failed or drew no progress bar:\n{stdout!r}\n{shown[-2000:]!r}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return elapsed, cpu


def copy_tree(src: Path, dest: Path) -> float:
    start = time.perf_counter()
    for path in sorted(src.rglob("*")):
        if path.is_file():
            target = dest / path.relative_to(src.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return time.perf_counter() - start


def batch(work: Path, images: int, documents: int, repeat: int, megabytes: int = 1) -> None:
    from PIL import Image

    folder = work / "course"
    (folder / "images").mkdir(parents=True)
    (folder / "documents").mkdir()
    for number in range(images):
        Image.new("RGB", (640, 480), ((number * 37) % 256, 90, 160)).save(folder / "images" / f"img-{number:03d}.jpg",
                                                                         quality=85)
    for number in range(documents):
        if number % 2:
            make_docx(folder / "documents" / f"essay-{number:03d}.docx", megabytes)
        else:
            make_pdf(folder / "documents" / f"report-{number:03d}.pdf", megabytes)
    total = images + documents
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / (1024 * 1024)

    docs = folder / "documents"
    runs = [(f"{images} JPEG + {documents} documents ({size:.0f} MB)", folder, [], total)]
    runs += [(f"{documents} documents of {megabytes} MB --jobs {jobs}", docs, ["--jobs", str(jobs)], documents)
             for jobs in (1, 2)]
    copies: dict[str, list[float]] = {name: [] for name, *_ in runs}
    stamps: dict[str, list[float]] = {name: [] for name, *_ in runs}
    cpus: dict[str, list[float]] = {name: [] for name, *_ in runs}
    for round_number in range(repeat):  # round by round, so that a busy moment hits every variant alike
        for name, source, extra, _count in runs:
            target = work / f"copy-{round_number}"
            copies[name].append(copy_tree(source, target))
            shutil.rmtree(target)
            out = work / f"out-{round_number}"
            out.mkdir()
            wall, cpu = run_on_terminal(["stamp", *ARGS, *extra, "--out-dir", str(out), str(source)], work)
            stamps[name].append(wall)
            cpus[name].append(cpu)
            shutil.rmtree(out)

    startup = min(timed(lambda: subprocess.run([ADAL, "stamp", "--help"], capture_output=True, check=True), 3))
    print(f"# batch: `adal stamp --out-dir` in a new process, progress bar on a pseudo-terminal; {repeat} rounds; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; `adal stamp --help` alone takes "
          f"{startup * 1000:.0f} ms")
    print(f"{'files':<38} {'copy ms (min/med)':>18} {'adal s (min/med)':>17} {'files/s (med)':>14} "
          f"{'ratio min/med':>14} {'CPU s (med)':>12}")
    for name, _source, _extra, count in runs:
        copy, ours = copies[name], stamps[name]
        print(f"{name:<38} {min(copy) * 1000:8.1f}/{statistics.median(copy) * 1000:<8.1f} "
              f"{min(ours):8.2f}/{statistics.median(ours):<8.2f} {count / statistics.median(ours):14.1f} "
              f"{min(ours) / min(copy):6.0f}/{statistics.median(ours) / statistics.median(copy):<6.0f} "
              f"{statistics.median(cpus[name]):12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--small-only", action="store_true", help="only the 1 MB files (a quick look)")
    parser.add_argument("--batch", action="store_true", help="the batch throughput of `adal stamp` instead")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--documents", type=int, default=50)
    parser.add_argument("--document-mb", type=int, default=1, help="size of each batch document")
    args = parser.parse_args()
    if args.batch:
        work = Path(tempfile.mkdtemp(prefix="adal-bench-batch-"))
        try:
            batch(work, args.images, args.documents, args.repeat, args.document_mb)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
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

"""Many files in one run: documents in worker processes give what one process gives, failures keep
their reasons and input positions, media share the caller's exiftool, band copies go beside."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from attribution.band import labelled_path
from attribution.batch import Outcome, stamp_batch
from attribution.media import ExifTool
from attribution.provenance import Provenance, StampError
from attribution.stamping import inspect_file
from tests.unit.attribution.media_samples import image, mp3
from tests.unit.attribution.opc_samples import make_docx, make_pptx, make_xlsx
from tests.unit.attribution.pdf_samples import sample_pdf

PROVENANCE = Provenance(service="ChatGPT", model="GPT-4o", model_version="2024-08-06",
                        generation_date=dt.date(2026, 11, 20), responsible="А. Тестова",
                        tasks=("тілдік түзету", "идея генерациясы"))


@pytest.fixture(scope="module")
def session() -> Iterator[ExifTool]:
    with ExifTool() as tool:
        yield tool


def corpus(folder: Path) -> list[Path]:
    """Documents of every kind, media, and two broken files among them."""
    folder.mkdir()
    files = []
    for number in range(3):
        path = folder / f"essay{number}.pdf"
        path.write_bytes(sample_pdf(pages=number + 1, title=f"Essay {number}"))
        files.append(path)
        files.append(make_docx(folder / f"report{number}.docx"))
    files.append(make_pptx(folder / "slides.pptx"))
    files.append(make_xlsx(folder / "marks.xlsx"))
    (folder / "empty.pdf").write_bytes(b"")
    files.insert(2, folder / "empty.pdf")
    (folder / "damaged.docx").write_bytes(b"PK\x03\x04 not really a zip")
    files.insert(5, folder / "damaged.docx")
    (folder / "photo.png").write_bytes(image("png"))
    files.insert(4, folder / "photo.png")
    (folder / "voice.mp3").write_bytes(mp3())
    files.append(folder / "voice.mp3")
    return files


def run(files: list[Path], out: Path, session: ExifTool, **options: object) -> list[Outcome]:
    out.mkdir()
    work = [(src, out / src.name) for src in files]
    return list(stamp_batch(work, PROVENANCE, lang="ru", exiftool=session, **options))


def test_jobs_give_what_one_process_gives(tmp_path: Path, session: ExifTool) -> None:
    files = corpus(tmp_path / "in")
    serial = run(files, tmp_path / "one", session, jobs=1)
    parallel = run(files, tmp_path / "three", session, jobs=3)
    assert [o.index for o in serial] == list(range(len(files))), "one process: in input order"
    assert sorted(o.index for o in parallel) == list(range(len(files))), "every file exactly once"
    by_index = {o.index: o for o in parallel}
    for one in serial:
        three = by_index[one.index]
        assert (three.src, three.error) == (one.src, one.error)
        if one.ok:
            first, second = inspect_file(one.dest), inspect_file(three.dest)
            assert second.fields == first.fields == PROVENANCE.fields()
            assert second.visible_label == first.visible_label
            assert second.digital_source_type == first.digital_source_type
    failed = {Path(o.src).name: o.error for o in serial if not o.ok}
    assert set(failed) == {"empty.pdf", "damaged.docx"}
    assert "empty" in failed["empty.pdf"] and "damaged.docx" in failed["damaged.docx"]
    for folder in ("one", "three"):
        written = sorted(p.name for p in (tmp_path / folder).iterdir())
        assert written == sorted(f.name for f in files if f.name not in failed), "no output, no temporary file"


def test_a_worker_failure_keeps_its_reason(tmp_path: Path, session: ExifTool) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = [make_docx(folder / f"d{number}.docx") for number in range(3)]
    bad = folder / "bad.docx"
    bad.write_bytes(make_docx(folder / "whole.docx").read_bytes()[:2000])  # a zip cut short
    outcomes = run([*good, bad], tmp_path / "out", session, jobs=2)
    failed = [o for o in outcomes if not o.ok]
    assert len(failed) == 1 and failed[0].index == 3 and failed[0].error.startswith("bad.docx")
    assert all(inspect_file(o.dest).fields == PROVENANCE.fields() for o in outcomes if o.ok)
    assert not (tmp_path / "out" / "bad.docx").exists()


def test_band_copies_beside_the_plain_ones(tmp_path: Path, session: ExifTool) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.new("RGB", (200, 100), (0, 120, 200)).save(folder / "wide.png")
    Image.new("RGB", (32, 32), (0, 120, 200)).save(folder / "icon.png")
    make_docx(folder / "essay.docx")
    files = [folder / "wide.png", folder / "icon.png", folder / "essay.docx"]
    outcomes = run(files, tmp_path / "out", session, jobs=2, synthetic=True, visible_band=True)
    wide, icon, essay = outcomes[0], outcomes[1], next(o for o in outcomes if o.index == 2)
    assert wide.ok and wide.labelled == tmp_path / "out" / "wide.labelled.png"
    assert inspect_file(wide.labelled).fields["SyntheticLabel"].startswith("СИНТЕТИЧЕСКОЕ ИЗОБРАЖЕНИЕ")
    assert not icon.ok and "32 px wide" in icon.error
    assert essay.ok and essay.labelled is None, "documents carry their label already"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["essay.docx", "wide.labelled.png", "wide.png"]


def test_a_labelled_copy_never_overwrites_another_output(tmp_path: Path, session: ExifTool) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.new("RGB", (200, 100)).save(folder / "a.png")
    Image.new("RGB", (200, 100), (255, 0, 0)).save(folder / "a.labelled.png")
    outcomes = run([folder / "a.png", folder / "a.labelled.png"], tmp_path / "out", session, synthetic=True,
                   visible_band=True)
    assert not outcomes[0].ok and "would overwrite another output" in outcomes[0].error
    assert outcomes[1].ok and labelled_path(outcomes[1].dest).exists()


def test_a_band_needs_the_synthetic_label(tmp_path: Path) -> None:
    with pytest.raises(StampError, match="synthetic"):
        list(stamp_batch([(tmp_path / "a.png", tmp_path / "b.png")], PROVENANCE, visible_band=True))


def test_workers_start_from_a_fork_server_when_the_caller_has_threads(tmp_path: Path, session: ExifTool) -> None:
    """A threaded caller (a web server) must not fork: a thread may hold a lock at that moment."""
    import threading

    folder = tmp_path / "in"
    folder.mkdir()
    files = [make_docx(folder / f"d{number}.docx") for number in range(2)]
    release = threading.Event()
    waiting = threading.Thread(target=release.wait)
    waiting.start()
    try:
        outcomes = run(files, tmp_path / "out", session, jobs=2)
    finally:
        release.set()
        waiting.join()
    assert [o.ok for o in sorted(outcomes, key=lambda o: o.index)] == [True, True]
    assert all(inspect_file(o.dest).fields == PROVENANCE.fields() for o in outcomes)
    from multiprocessing import forkserver

    assert forkserver._forkserver._forkserver_pid is not None, "the workers came from a fork server"

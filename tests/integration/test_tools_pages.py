"""The staff pages for marking AI-made files and inspecting them, over the whole WSGI stack:
real stamping, real CSRF, real sessions; nothing of a request stays on disk."""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import flask
import pytest
import requests
from pypdf import PdfWriter

from attribution.provenance import TRAINED_ALGORITHMIC_MEDIA
from attribution.stamping import inspect_file
from plugin.kernel.clock import now_utc
from plugin.kernel.settings import set_setting
from plugin.kernel.users import Actor, Role
from plugin.kernel.web import remember_actor
from tests.lti_flow import full_launch
from tests.unit.attribution.media_samples import image

# Stamped answers are streamed from an open file: buffered=True reads and closes them, as a server does.
FIELDS = {"service": "ChatGPT", "model": "GPT-4o", "model_version": "2024-08-06", "generation_date": "2026-01-15",
          "responsible": "А. Тестова", "tasks": "тілдік түзету\nидея генерациясы", "lang": "kk"}


# -- helpers ---------------------------------------------------------------------------------------
def _sign_in(app, client, *roles: Role) -> None:
    """Put an actor in the client's session exactly as a launch does (``remember_actor``)."""
    with app.test_request_context():
        remember_actor(Actor(label="user:7", user_id=7, roles=frozenset(roles), course_id=None, locale="en"))
        data = dict(flask.session)
    with client.session_transaction() as session:
        session.update(data)
        session["lang"] = "en"  # read English text: the kk/ru catalogs come with the merge


def _token(client, path: str = "/tools/stamp") -> str:
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def _docx(title: str = "Эссе: жасанды интеллект") -> bytes:
    from docx import Document

    document = Document()
    document.add_heading(title, level=0)
    document.add_paragraph("Бірінші абзац.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _doctype_docx() -> bytes:
    """A DOCX whose main part declares an entity (XXE / billion laughs): refused as hostile."""
    source = zipfile.ZipFile(io.BytesIO(_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE w:document [<!ENTITY boom "boom">]>', 1)
            target.writestr(item, data)
    return out.getvalue()


def _stamp(client, files: list[tuple[bytes, str]], *, token: str | None = None, **fields: str):
    data = {**FIELDS, **fields, "files": [(io.BytesIO(content), name) for content, name in files]}
    if token is not False:
        data["csrf_token"] = token or _token(client)
    return client.post("/tools/stamp", data=data, content_type="multipart/form-data", buffered=True)


def _left_on_disk(app) -> list[str]:
    """Every file under the tools' working area."""
    root = Path(app.instance_path) / "tmp" / "tools"
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def _saved(tmp_path: Path, data: bytes, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.fixture
def teacher(app, client):
    _sign_in(app, client, Role.TEACHER)
    return client


# -- stamping ----------------------------------------------------------------------------------------
def test_one_docx_comes_back_stamped_and_the_upload_is_unchanged(app, teacher, tmp_path):
    original = tmp_path / "essay.docx"
    original.write_bytes(_docx())
    before = hashlib.sha256(original.read_bytes()).hexdigest()
    with open(original, "rb") as handle:
        response = teacher.post("/tools/stamp", content_type="multipart/form-data", buffered=True,
                                data={**FIELDS, "csrf_token": _token(teacher), "files": (handle, "essay.docx")})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=essay.ai-stamped.docx"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data()
    assert int(response.headers["Content-Length"]) == len(body)
    report = inspect_file(_saved(tmp_path, body, "out.docx"))
    assert report.has_ai_provenance
    assert report.fields["Service"] == "ChatGPT" and report.fields["Model"] == "GPT-4o"
    assert report.fields["ModelVersion"] == "2024-08-06" and report.fields["GenerationDate"] == "2026-01-15"
    assert report.fields["ResponsibleContact"] == "А. Тестова"
    assert report.fields["Tasks"] == "тілдік түзету; идея генерациясы"
    assert report.visible_label and report.visible_label.startswith("ЖИ көмегімен жасалған материалдар бар: ChatGPT")
    assert hashlib.sha256(original.read_bytes()).hexdigest() == before, "the upload itself is never changed"
    assert body != original.read_bytes()
    assert _left_on_disk(app) == []


def test_a_kazakh_file_name_keeps_its_letters_in_the_download(teacher):
    response = _stamp(teacher, [(_docx(), "Эссе №1 (соңғы).DOCX")], lang="ru")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition
    assert requests.utils.unquote(disposition.split("filename*=UTF-8''")[1]) == "Эссе_1_соңғы.ai-stamped.docx"
    assert "Содержит материалы, созданные с помощью ИИ" in _label_of(response.get_data())


def _label_of(docx_bytes: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as archive:
        return archive.read("word/document.xml").decode()


def test_several_files_come_back_as_a_zip_with_each_stamped(app, teacher, tmp_path):
    files = [(_docx(), "essay.docx"), (_pdf(), "slides.pdf"), (image("png"), "picture.png"),
             (_docx("Екінші"), "essay.docx")]  # two uploads with one name: both kept
    response = _stamp(teacher, files, synthetic="1", lang="en")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=ai-stamped.zip"
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        names = archive.namelist()
        assert names == ["essay.ai-stamped.docx", "slides.ai-stamped.pdf", "picture.ai-stamped.png",
                         "essay.ai-stamped-2.docx"]
        for name in names:
            report = inspect_file(_saved(tmp_path, archive.read(name), name))
            assert report.has_ai_provenance, name
            assert report.fields["Model"] == "GPT-4o", name
    picture = inspect_file(tmp_path / "picture.ai-stamped.png")
    assert picture.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert picture.fields["SyntheticLabel"].startswith("SYNTHETIC IMAGE, made with AI: ChatGPT")
    assert "SyntheticLabel" not in inspect_file(tmp_path / "essay.ai-stamped.docx").fields  # documents: no
    assert "Екінші" in _label_of((tmp_path / "essay.ai-stamped-2.docx").read_bytes())
    assert _left_on_disk(app) == []


def test_a_hostile_file_among_several_is_listed_and_the_others_download_once(app, teacher, tmp_path):
    files = [(_docx(), "good.docx"), (_doctype_docx(), "bomb.docx"), (b"just text\n", "notes.png"),
             (_pdf(), "lies.docx"), (b"", "empty.pdf"), (image("jpeg"), "photo.jpg")]
    response = _stamp(teacher, files)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Some files were not marked" in html and "2 files were marked" in html
    refused = re.findall(r"<li>\s*<strong><bdi>([^<]+)</bdi></strong>: ([^<]+)", html)
    reasons = {name: reason.strip() for name, reason in refused}
    assert set(reasons) == {"bomb.docx", "notes.png", "lies.docx", "empty.pdf"}
    assert reasons["bomb.docx"].startswith("Adal refused the file for safety")
    assert "DOCTYPE" in html, "the stamping module's own reason is shown as the technical detail"
    assert reasons["notes.png"].startswith("Adal does not mark this kind of file")
    assert reasons["lies.docx"] == ("The name ends in .docx, but the content is PDF. Rename the file or choose the "
                                    "right one.")
    assert reasons["empty.pdf"] == "The file is empty."
    assert "upload" not in html, "reasons speak of the user's file, not Adal's working copy"
    # only the ZIP of the two good files waits, for this session only, and only once
    assert len(_left_on_disk(app)) == 1
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    download = teacher.post("/tools/stamp/download", data={"csrf_token": token}, buffered=True)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.get_data())) as archive:
        assert archive.namelist() == ["good.ai-stamped.docx", "photo.ai-stamped.jpg"]
        for name in archive.namelist():
            assert inspect_file(_saved(tmp_path, archive.read(name), name)).has_ai_provenance
    assert _left_on_disk(app) == []
    again = teacher.post("/tools/stamp/download", data={"csrf_token": token}, buffered=True)
    assert again.status_code == 404
    assert "expired or was already taken" in again.get_data(as_text=True)


def test_when_every_file_fails_nothing_is_offered_or_kept(app, teacher):
    response = _stamp(teacher, [(b"%PDF-1.7\n garbage", "broken.pdf"), (b"MZ\x90\x00", "setup.exe")])
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "No file was marked" in html and "2 files were refused" in html
    assert "tools/stamp/download" not in html
    assert _left_on_disk(app) == []


def test_an_unexpected_crash_mid_batch_leaves_nothing_behind(app, teacher, monkeypatch):
    import attribution.tools

    real = attribution.tools.stamp_file
    calls = []

    def crash_on_second(src, dest, *args, **kwargs):  # fault injection: a bug in a format module
        calls.append(src)
        if len(calls) == 2:
            dest.write_bytes(b"half a file")
            raise RuntimeError("bug in a format module")
        return real(src, dest, *args, **kwargs)

    monkeypatch.setattr(attribution.tools, "stamp_file", crash_on_second)
    response = _stamp(teacher, [(_docx(), "a.docx"), (_pdf(), "b.pdf"), (_pdf(), "c.pdf")])
    assert response.status_code == 500
    assert "bug in a format module" not in response.get_data(as_text=True)
    assert len(calls) == 2
    assert _left_on_disk(app) == []


def test_a_single_failed_file_gets_its_reason(app, teacher):
    response = _stamp(teacher, [(image("png"), "photo.jpg")])
    assert response.status_code == 422
    assert "The name ends in .jpg, but the content is PNG." in response.get_data(as_text=True)
    assert _left_on_disk(app) == []


def test_a_pending_download_belongs_to_its_session_and_a_new_one_replaces_it(app, client, tmp_path):
    _sign_in(app, client, Role.TEACHER)
    _stamp(client, [(_docx(), "a.docx"), (b"", "b.docx")])
    assert len(_left_on_disk(app)) == 1
    other = app.test_client()
    _sign_in(app, other, Role.TEACHER)
    assert other.post("/tools/stamp/download", data={"csrf_token": _token(other)}).status_code == 404
    _stamp(client, [(_pdf(), "c.pdf"), (b"", "d.docx")])
    assert len(_left_on_disk(app)) == 1, "the first ZIP was discarded when the second replaced it"
    download = client.post("/tools/stamp/download", data={"csrf_token": _token(client)}, buffered=True)
    with zipfile.ZipFile(io.BytesIO(download.get_data())) as archive:
        assert archive.namelist() == ["c.ai-stamped.pdf"]


def test_leftovers_older_than_an_hour_are_swept_by_the_next_request(app, teacher):
    root = Path(app.instance_path) / "tmp" / "tools"
    (root / "downloads").mkdir(parents=True)
    stale_zip = root / "downloads" / ("A" * 32 + ".zip")
    stale_zip.write_bytes(b"old")
    stale_dir = root / "adal-tools-killed"
    stale_dir.mkdir()
    (stale_dir / "upload.docx").write_bytes(b"old")
    fresh_zip = root / "downloads" / ("B" * 32 + ".zip")
    fresh_zip.write_bytes(b"new")
    foreign = root / "keep-me.txt"
    foreign.write_bytes(b"not ours")
    hour_ago = time.time() - 3700
    for path in (stale_zip, stale_dir):
        os.utime(path, (hour_ago, hour_ago))
    assert _stamp(teacher, [(_pdf(), "x.pdf")]).status_code == 200
    assert _left_on_disk(app) == ["downloads/" + "B" * 32 + ".zip", "keep-me.txt"]


# -- the form ----------------------------------------------------------------------------------------
def test_the_form_is_accessible_and_defaults_to_today_and_the_page_language(app, client):
    _sign_in(app, client, Role.TEACHER)
    with client.session_transaction() as session:
        session["lang"] = "ru"
    with app.extensions["adal.runtime"].session() as db_session:  # UTC+14: a day ahead of most hosts
        set_setting(db_session, Actor.system("test"), "institution.timezone", "Pacific/Kiritimati", now=now_utc())
        db_session.commit()
    html = client.get("/tools/stamp").get_data(as_text=True)
    shown = re.search(r'id="generation_date" name="generation_date" required value="([^"]+)"', html).group(1)
    assert shown == datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    assert re.search(r'<option value="ru" lang="ru" selected>', html)
    for field in ("files", "service", "model", "model_version", "generation_date", "responsible", "tasks", "lang",
                  "synthetic"):
        assert f'<label for="{field}">' in html, field
        assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-hint"', html), field
        assert f'<p id="{field}-hint" class="hint">' in html, field
    assert 'enctype="multipart/form-data"' in html and " multiple " in html
    assert "<script" not in html and "style=" not in html


def test_a_refused_form_names_each_problem_at_its_field_and_writes_nothing(app, teacher):
    response = _stamp(teacher, [], service="", model="x" * 201, generation_date="2999-01-01", lang="de",
                      tasks="ok\n" + "y" * 300, responsible="two\tparts")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    expected = {"files": "Choose at least one file.", "service": "Fill in this field.",
                "model": "Write one line of at most 200 characters.",
                "generation_date": "The date cannot be in the future.",
                "responsible": "Write one line of at most 200 characters.",
                "tasks": "Write at most 20 tasks, one per line, each at most 200 characters.",
                "lang": "Choose Kazakh, Russian or English."}
    for field, message in expected.items():
        assert f'<p id="{field}-error" class="field-error">{message}</p>' in html, field
        assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-hint {field}-error" aria-invalid="true"',
                         html), field
        assert f'<li><a href="#{field}">{message}</a></li>' in html
    assert 'value="2999-01-01"' in html, "what was typed is kept"
    assert "model_version-error" not in html
    assert _left_on_disk(app) == []
    bad_date = _stamp(teacher, [(_pdf(), "a.pdf")], generation_date="15.01.2026")
    assert bad_date.status_code == 400 and "Give the date as year, month and day" in bad_date.get_data(as_text=True)


def test_too_many_files_are_refused(teacher):
    response = _stamp(teacher, [(b"%PDF-", f"f{i}.pdf") for i in range(51)])
    assert response.status_code == 400
    assert "Choose at most 50 files at a time." in response.get_data(as_text=True)


# -- access, CSRF, size ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/tools/stamp", "/tools/inspect"])
def test_students_and_strangers_get_403(app, client, path):
    assert client.get(path).status_code == 403
    _sign_in(app, client, Role.STUDENT)
    assert client.get(path).status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    field = "files" if path.endswith("stamp") else "file"
    refused = client.post(path, content_type="multipart/form-data",
                          data={**FIELDS, "csrf_token": token, field: (io.BytesIO(_pdf()), "a.pdf")})
    assert refused.status_code == 403
    assert client.post("/tools/stamp/download", data={"csrf_token": token}).status_code == 403
    assert _left_on_disk(app) == []


def test_administrators_are_admitted(app, client):
    _sign_in(app, client, Role.ADMIN)
    assert client.get("/tools/stamp").status_code == 200
    assert client.get("/tools/inspect").status_code == 200


def test_post_without_csrf_is_refused_and_writes_nothing(app, teacher):
    response = _stamp(teacher, [(_docx(), "essay.docx")], token=False)
    assert response.status_code == 400
    assert "The form expired or did not come from this page" in response.get_data(as_text=True)
    assert not (Path(app.instance_path) / "tmp").exists()
    forged = teacher.post("/tools/inspect", content_type="multipart/form-data",
                          data={"csrf_token": "forged", "file": (io.BytesIO(_pdf()), "a.pdf")})
    assert forged.status_code == 400
    assert not (Path(app.instance_path) / "tmp").exists()


def test_an_upload_over_the_limit_gets_413_and_writes_nothing(app, teacher):
    token = _token(teacher)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = _stamp(teacher, [(_pdf() + b"\n%" + b"x" * 100_000, "big.pdf")], token=token)
    assert response.status_code == 413
    assert "The file is too large" in response.get_data(as_text=True)
    assert not (Path(app.instance_path) / "tmp").exists()


# -- inspecting --------------------------------------------------------------------------------------
def _inspect(client, content: bytes, name: str):
    return client.post("/tools/inspect", content_type="multipart/form-data",
                       data={"csrf_token": _token(client, "/tools/inspect"), "file": (io.BytesIO(content), name)})


def _facts(html: str) -> dict[str, str]:
    return {re.sub(r"<[^>]+>", "", dt).strip(): re.sub(r"<[^>]+>", "", dd).strip()
            for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html, re.S)}


def test_inspect_shows_what_a_stamped_file_carries(app, teacher):
    stamped = _stamp(teacher, [(_docx(), "essay.docx")]).get_data()
    response = _inspect(teacher, stamped, "essay.ai-stamped.docx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    facts = _facts(html)
    assert facts["File type"] == "DOCX"
    assert facts["SHA-256"] == hashlib.sha256(stamped).hexdigest()
    assert facts["Made with AI"] == "Yes" and facts["AI service"] == "ChatGPT" and facts["Model"] == "GPT-4o"
    assert facts["Model version"] == "2024-08-06" and facts["Date of generation"] == "15.01.2026"
    assert facts["Responsible person"] == "А. Тестова"
    assert facts["Visible label"].startswith("ЖИ көмегімен жасалған материалдар бар: ChatGPT, GPT-4o 2024-08-06")
    assert "No Adal or AI provenance found" not in html
    assert _left_on_disk(app) == []


def test_inspect_shows_the_iptc_properties_of_a_stamped_image(teacher):
    stamped = _stamp(teacher, [(image("jpeg"), "photo.jpg")], synthetic="1").get_data()
    facts = _facts(_inspect(teacher, stamped, "photo.ai-stamped.jpg").get_data(as_text=True))
    assert facts["IPTC digital source type"] == "made by a trained AI model (trainedAlgorithmicMedia)"
    assert facts["AI system (IPTC)"] == "GPT-4o 2024-08-06"
    assert facts["Synthetic media label"].startswith("СИНТЕТИКАЛЫҚ СУРЕТ, ЖИ көмегімен жасалған: ChatGPT")


def test_inspect_says_plainly_when_a_file_carries_nothing(app, teacher):
    plain = _docx()
    response = _inspect(teacher, plain, "plain.docx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No Adal or AI provenance found" in html
    facts = _facts(html)
    assert facts["SHA-256"] == hashlib.sha256(plain).hexdigest() and facts["Visible label"] == "not found"
    assert "AI service" not in facts
    assert _left_on_disk(app) == []


def test_inspect_refuses_a_hostile_or_missing_file_with_its_reason(app, teacher):
    response = _inspect(teacher, _doctype_docx(), "bomb.docx")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<p id="file-error" class="field-error">Adal refused the file for safety' in html
    assert 'aria-describedby="file-hint file-error" aria-invalid="true"' in html
    none = teacher.post("/tools/inspect", content_type="multipart/form-data",
                        data={"csrf_token": _token(teacher, "/tools/inspect")})
    assert none.status_code == 400 and "Choose one file." in none.get_data(as_text=True)
    assert _left_on_disk(app) == []


# -- where teachers find the pages -------------------------------------------------------------------
def test_a_teachers_landing_page_links_the_tools_and_a_students_does_not(app, adal, lms):
    # A course-level link (as Canvas's course navigation places it) lands on the arrival page.
    lms.placed_links.append({"title": "Adal", "custom": {"adal_view": "home"}})
    http = requests.Session()
    landing = full_launch(lms, http, role="teacher", user="teacher-tools", locale="en", link="0")
    assert landing.status_code == 200
    assert "Tools for staff" in landing.text
    assert 'href="/tools/stamp"' in landing.text and 'href="/tools/inspect"' in landing.text
    page = http.get(adal + "/tools/stamp", timeout=10)
    assert page.status_code == 200
    student = requests.Session()
    landing = full_launch(lms, student, role="student", user="student-tools", locale="en", link="0")
    assert landing.status_code == 200 and "Tools for staff" not in landing.text
    assert student.get(adal + "/tools/stamp", timeout=10).status_code == 403

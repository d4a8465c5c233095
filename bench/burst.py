"""Benchmark: a class hands in work at once. N students each submit a different ~2 MB DOCX with
the AI-use disclosure within a window, to `adal serve` on PostgreSQL, beside the same load sent to
a bare upload endpoint that only stores the files (bench/bare_upload.py, the floor).

    .venv/bin/python bench/burst.py [--students 1000] [--window 120] [--workers 2] [--threads 4]
    .venv/bin/python bench/burst.py --quick          # 100 students in 20 s

Open loop: every student's POST starts at a random moment of the window (seeded), whatever the
server is doing, sent by a pool of client threads large enough not to hold requests back;
latency is taken from the scheduled start (queueing in the generator counts) and from the actual
send. About 5 % of the students send their form twice with the same idempotency key: half as a
double click (a second POST 0.25 s after the first), half as a retry once the first answered.
Afterwards the database is counted: every student must have exactly one submission per run.
Then (``--profile``) a few submissions are made one at a time in this process with the stages of
a submission timed, to show where the time goes.

Three runs, one after the other on the same servers: the floor; Adal with the disclosure (the
stamped copy with the statement is made inside the request); Adal with "AI used" unticked (no
copy: the cost of everything else). Needs PostgreSQL on 127.0.0.1:5432 with trust auth; the
benchmark creates its own database (``--database``, default adal_burst) and drops it at the end.
"""

# ruff: noqa: E402  (the imports follow the sys.path fix below, which must come first)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path: drop it, so that no benchmark's
# module name can hide a standard-library module (a bench/queue.py once hid ``queue``).
BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]

import argparse
import functools
import importlib.util
import io
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import requests


def _sibling(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_launch = _sibling("launch")  # the server helpers of bench/launch.py
free_port, process_tree_cpu, wait_up = _launch.free_port, _launch.process_tree_cpu, _launch.wait_up
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MARKER = "BURST-STUDENT-MARKER"
WARMUP = 8  # extra students whose submissions load each worker's lazy imports before timing
ISSUER = "https://lms.burst.example.test"


# -- the files -----------------------------------------------------------------------------------
def _side(megabytes: float) -> int:
    return max(16, int((megabytes * 1024 * 1024 / 3) ** 0.5))


def template_docx(megabytes: float) -> bytes:
    """A DOCX with an essay's worth of text, a marker paragraph and a picture of ``megabytes``."""
    from docx import Document
    from docx.shared import Cm
    from PIL import Image

    side = _side(megabytes)
    picture = io.BytesIO()
    Image.new("RGB", (side, side)).save(picture, "PNG")
    document = Document()
    document.add_heading("Курстық жұмыс", level=0)
    document.add_paragraph(MARKER)
    for number in range(40):
        document.add_paragraph(f"{number + 1}. Бұл абзац ЖИ-ді адал пайдалану туралы жазылған мәтін. " * 5)
    document.add_picture(picture, width=Cm(10))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def student_docx(template: bytes, number: int, seed: int, megabytes: float, dest: str) -> int:
    """The template with the student's own paragraph and their own incompressible picture (random
    pixels, as a photo nearly is): every file differs, so every upload is stored anew."""
    from PIL import Image

    side = _side(megabytes)
    pixels = random.Random(seed * 1_000_003 + number).randbytes(side * side * 3)
    picture = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(picture, "PNG", compress_level=0)
    with zipfile.ZipFile(io.BytesIO(template)) as source, zipfile.ZipFile(dest, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(MARKER.encode(), f"Студент {number:04d}: менің эссем.".encode())
            elif info.filename.startswith("word/media/"):
                data = picture.getvalue()
            out.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return os.path.getsize(dest)


def make_files(folder: Path, count: int, seed: int, megabytes: float) -> list[Path]:
    template = template_docx(megabytes)
    paths = [folder / f"essay-{number:04d}.docx" for number in range(count)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(student_docx, [template] * count, range(count), [seed] * count, [megabytes] * count,
                      [str(p) for p in paths], chunksize=16))
    return paths


# -- the installation ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Student:
    number: int
    user_id: int
    cookie: str
    csrf: str


def seed(env: dict[str, str], count: int) -> tuple[list[Student], dict[str, int]]:
    """Users, a course, memberships, the published notice with every student's acknowledgement and
    two configured assignments, through Adal's own services; and each student's signed session
    cookie with a CSRF token, made with the installation's secret as a launch would leave them."""
    import flask
    from flask_wtf.csrf import generate_csrf

    from attribution.models import Assignment
    from attribution.submissions import AssignmentSettings, configure_assignment
    from plugin.app import create_app
    from plugin.config import load_config
    from plugin.kernel.notices import acknowledge_notice, publish_notice
    from plugin.kernel.users import Actor, Role, ensure_course, ensure_membership, ensure_user
    from plugin.kernel.web import remember_actor

    now = datetime.now(UTC)
    app = create_app(load_config(env))
    runtime = app.extensions["adal.runtime"]
    students: list[tuple[int, Actor]] = []
    with runtime.session() as session:
        course = ensure_course(session, issuer=ISSUER, context_id="burst-course", title="Burst Course", now=now)
        teacher_user = ensure_user(session, issuer=ISSUER, subject="teacher-0001", display_name="Бақыт Мұғалімов",
                                   now=now)
        ensure_membership(session, user=teacher_user, course=course, role=Role.TEACHER, now=now)
        teacher = Actor.for_user(teacher_user, frozenset({Role.TEACHER}), course_id=course.id)
        for lang in ("kk", "ru", "en"):
            text = (ROOT / "plugin" / "demo" / "notices" / f"notice.{lang}.toml").read_text(encoding="utf-8")
            publish_notice(session, Actor.system("bench"), text, lang=lang, require_adapted=True, now=now)
        assignments = {}
        for variant, title in (("adal", "Эссе: ЖИ пайдаланылды"), ("nocopy", "Эссе: ЖИ пайдаланылмады")):
            item = Assignment(course_id=course.id, title=title, score_maximum=100, created_by="bench", created_at=now)
            session.add(item)
            session.flush()
            configure_assignment(session, teacher, item.id, AssignmentSettings(
                title=title, allowed={"ideas": True, "language": True, "trainer": False, "refactoring": True}),
                now=now)
            assignments[variant] = item.id
        for number in range(count):
            user = ensure_user(session, issuer=ISSUER, subject=f"student-{number:04d}",
                               display_name=f"Студент Сынақұлы {number:04d}", now=now)
            ensure_membership(session, user=user, course=course, role=Role.STUDENT, now=now)
            actor = Actor.for_user(user, frozenset({Role.STUDENT}), course_id=course.id)
            acknowledge_notice(session, actor, version=1, now=now)
            students.append((number, actor))
        session.commit()
    serializer = app.session_interface.get_signing_serializer(app)
    out = []
    for number, actor in students:
        with app.test_request_context():
            remember_actor(actor)
            token = generate_csrf()
            out.append(Student(number, actor.user_id or 0, serializer.dumps(dict(flask.session)), token))
    runtime.engine.dispose()
    return out, assignments


def count_submissions(env: dict[str, str], assignment_id: int, students: set[int]) -> tuple[Counter[int], int]:
    """Submissions per student for the assignment, and how many stamped copies ``students`` have."""
    from sqlalchemy import func, select

    from attribution.models import Submission, SubmissionFile
    from plugin.app import build_runtime
    from plugin.config import load_config

    runtime = build_runtime(load_config(env))
    try:
        with runtime.session() as session:
            rows = session.execute(select(Submission.student_id, func.count()).where(
                Submission.assignment_id == assignment_id).group_by(Submission.student_id)).all()
            copies = session.execute(select(func.count()).select_from(SubmissionFile).join(
                Submission, Submission.id == SubmissionFile.submission_id).where(
                Submission.assignment_id == assignment_id, SubmissionFile.role == "copy",
                Submission.student_id.in_(students))).scalar_one()
    finally:
        runtime.engine.dispose()
    return Counter({student: int(n) for student, n in rows}), int(copies)


def wait_for_copies(env: dict[str, str], limit: float = 1800.0) -> float | None:
    """In background mode: wait until the job runner has made every pending copy; the seconds
    it took (``None`` when nothing was pending)."""
    from sqlalchemy import func, select

    from attribution.models import Submission
    from plugin.app import build_runtime
    from plugin.config import load_config

    runtime = build_runtime(load_config(env))
    started, waited = time.monotonic(), False
    try:
        while time.monotonic() - started < limit:
            with runtime.session() as session:
                pending = session.execute(select(func.count()).select_from(Submission).where(
                    Submission.copies_pending.is_(True))).scalar_one()
            if not pending:
                return time.monotonic() - started if waited else None
            waited = True
            time.sleep(1.0)
        raise SystemExit(f"copies still pending after {limit:.0f} s")
    finally:
        runtime.engine.dispose()


# -- PostgreSQL's share ----------------------------------------------------------------------------
class BackendCpu:
    """CPU time of the PostgreSQL backends serving our database, sampled from /proc every 0.2 s
    (a backend's title names its database); a connection that lives less than that is missed."""

    def __init__(self, database: str) -> None:
        self.needle = f" {database} ".encode()
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                    title = handle.read()
                if not title.startswith(b"postgres:") or self.needle not in title:
                    continue
                with open(f"/proc/{entry.name}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.seen[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def total(self) -> float:
        self._sample()
        return sum(self.seen.values())

    def stop(self) -> None:
        self._stop.set()


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores, from /proc/stat)."""
    with open("/proc/stat") as handle:
        ticks = [int(x) for x in handle.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICKS  # without idle and iowait; guest time is in user


# -- the load ------------------------------------------------------------------------------------
@dataclass
class Sent:
    number: int
    kind: str  # first, double (a second click 0.25 s later), retry (the same form again after the answer)
    scheduled: float
    started: float = 0.0
    done: float = 0.0
    status: str = ""
    location: str = ""


@dataclass
class Run:
    name: str
    sent: list[Sent] = field(default_factory=list)
    server_cpu: float = 0.0
    db_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_cpu: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)
    lost: int = 0
    duplicated: int = 0
    counted: str = ""


class Target:
    """Where one run sends its forms, and what the form holds."""

    def __init__(self, name: str, url: str, files: list[Path], students: list[Student], *, ai_used: bool,
                 seed: int) -> None:
        self.name, self.url, self.files, self.students, self.ai_used = name, url, files, students, ai_used
        keys = random.Random(f"{seed}-{name}")
        self.keys = [f"burst-{name}-{s.number:04d}-{keys.getrandbits(64):016x}" for s in students]
        self.used = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()

    def post(self, number: int) -> tuple[str, str]:
        student = self.students[number]
        form = [("csrf_token", student.csrf), ("idempotency_key", self.keys[number]), ("language", "kk"),
                ("tasks", "language"), ("service", "ChatGPT"), ("model", "GPT-4o"),
                ("model_version", "2024-08-06"), ("dates", self.used), ("drafts_url",
                                                                        f"https://docs.example.test/h/{number}")]
        if self.ai_used:
            form += [("ai_used", "yes"), ("checked", "yes")]
        path = self.files[number]
        try:
            response = requests.post(self.url, data=form, files=[("files", (path.name, path.read_bytes(), DOCX_TYPE))],
                                     cookies={"session": student.cookie}, allow_redirects=False,
                                     timeout=(30, 600))
        except requests.RequestException as exc:
            return type(exc).__name__, ""
        return str(response.status_code), response.headers.get("Location", "")


def burst(target: Target, numbers: list[int], window: float, clients: int, retry_share: float,
          seed: int) -> list[Sent]:
    rng = random.Random(f"{seed}-arrivals")  # the same arrivals and retries for every target
    plan = [Sent(n, "first", rng.uniform(0, window)) for n in numbers]
    repeaters = rng.sample(numbers, round(len(numbers) * retry_share))
    doubles, retries = set(repeaters[::2]), set(repeaters[1::2])
    plan += [Sent(s.number, "double", s.scheduled + 0.25) for s in plan if s.number in doubles]
    plan.sort(key=lambda s: s.scheduled)
    after: list[Sent] = []

    def send(item: Sent) -> None:
        item.started = time.perf_counter()
        item.status, item.location = target.post(item.number)
        item.done = time.perf_counter()
        if item.kind == "first" and item.number in retries:
            again = Sent(item.number, "retry", item.done, started=item.done)
            again.status, again.location = target.post(item.number)
            again.done = time.perf_counter()
            after.append(again)

    pool = ThreadPoolExecutor(max_workers=clients)
    futures: list[Future[None]] = []
    start = time.perf_counter() + 0.5
    try:
        for item in plan:
            item.scheduled += start
            delay = item.scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send, item))
        for future in futures:
            future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # requests in flight end when the servers stop
        raise
    pool.shutdown()
    return plan + after


def warm_up(target: Target, numbers: list[int]) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(target.post, numbers))
    bad = [a for a in answers if a[0] != "303"]
    if bad:
        raise SystemExit(f"{target.name}: warm-up submissions failed: {bad[:3]}")


# -- where one submission's time goes ------------------------------------------------------------
class Stages:
    """Wall and CPU (this thread's) time spent in chosen functions, by the chain of stages that
    called them, so that nested stages are not counted twice in the remainder."""

    def __init__(self) -> None:
        self.wall: Counter[str] = Counter()
        self.cpu: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._local = threading.local()

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack = self._local.__dict__.setdefault("stack", [])
            key = " > ".join([*stack, name])
            stack.append(name)
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.wall[key] += time.perf_counter() - wall
                self.cpu[key] += time.thread_time() - cpu
                self.calls[key] += 1
                stack.pop()

        return timed


def profile(env: dict[str, str], students: list[Student], assignments: dict[str, int], files: list[Path],
            numbers: list[int]) -> None:
    """Submit one after another in this process (Flask's test client, no network, no other
    request running) with the stages of a submission timed, with and without the copy."""
    from flask.wrappers import Request
    from sqlalchemy.orm import Session

    import attribution.appendix as appendix
    import attribution.submissions as submissions
    import attribution.views as views
    from plugin.app import create_app
    from plugin.config import load_config
    from plugin.kernel.filestore import FileStore

    app = create_app(load_config(env))
    runtime = app.extensions["adal.runtime"]
    used = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    print(f"\n# where the time of one submission goes: {len(numbers) - 1} submissions one at a time in this "
          "process (Flask test client, no network, nothing else in the server), ms per submission")
    for name, ai_used in (("adal", True), ("nocopy", False)):
        stages = Stages()
        patches: list[tuple[Any, str, str]] = [
            (Request, "_load_form_data", "multipart parsing"), (views, "_save", "uploads to temp files"),
            (submissions, "detect_kind", "type detection"),
            # submissions imports it by name (at module level or on first use): patch where it is looked up
            (submissions if hasattr(submissions, "make_disclosed_copy") else appendix, "make_disclosed_copy",
             "stamped copy"),
            (appendix, "inspect_file", "safety checks"), (appendix, "stamp_file", "C.3 stamp"),
            (FileStore, "put_chunks", "file store (hash, write, fsync)"), (Session, "commit", "DB commit"),
            (views, "push_to_gradebook", "gradebook push"), (os, "fsync", "fsync"),
        ]
        saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _label in patches]
        appenders = dict(appendix._APPENDERS)
        wsgi = app.wsgi_app
        try:
            for owner, attr, label in patches:
                setattr(owner, attr, stages.wrap(label, getattr(owner, attr)))
            appendix._APPENDERS["docx"] = stages.wrap("statement appended (python-docx)", appenders["docx"])
            app.wsgi_app = stages.wrap("whole request", wsgi)  # type: ignore[method-assign]
            client = app.test_client()
            for index, number in enumerate(numbers):
                if index == 1:  # the first loads the lazy imports: not counted
                    for counter in (stages.wall, stages.cpu, stages.calls):
                        counter.clear()
                student, path = students[number], files[number]
                client.set_cookie("session", student.cookie)
                form: dict[str, Any] = {
                    "csrf_token": student.csrf, "idempotency_key": f"profile-{name}-{number:04d}-{index:08d}",
                    "language": "kk", "tasks": "language", "service": "ChatGPT", "model": "GPT-4o",
                    "model_version": "2024-08-06", "dates": used, "drafts_url": "https://docs.example.test/h/p",
                    "files": (io.BytesIO(path.read_bytes()), path.name, DOCX_TYPE)}
                if ai_used:
                    form.update(ai_used="yes", checked="yes")
                answer = client.post(f"/a/{assignments[name]}/submit", data=form, content_type="multipart/form-data")
                if answer.status_code != 303:
                    raise SystemExit(f"profile: {answer.status_code} {answer.text[:300]}")
        finally:
            for owner, attr, original in saved:
                setattr(owner, attr, original)
            appendix._APPENDERS.update(appenders)
            app.wsgi_app = wsgi  # type: ignore[method-assign]
        count = len(numbers) - 1
        print(f"{'with the copy' if ai_used else 'without the copy (AI not used)':<60} {'calls':>5} {'wall':>7} "
              f"{'CPU':>7}")
        top = "whole request"
        inner_wall = inner_cpu = 0.0
        for key in sorted(stages.wall, key=lambda k: (k != top, k.split(" > ")[:2], k)):
            depth = key.count(" > ")
            if depth == 1:
                inner_wall += stages.wall[key]
                inner_cpu += stages.cpu[key]
            print(f"{'  ' * depth + key.rsplit(' > ', 1)[-1]:<60} {stages.calls[key] / count:>5.1f} "
                  f"{stages.wall[key] / count * 1000:>7.1f} {stages.cpu[key] / count * 1000:>7.1f}")
        rest_wall, rest_cpu = (stages.wall[top] - inner_wall) / count, (stages.cpu[top] - inner_cpu) / count
        print(f"{'  the rest (routing, session, checks, ORM, statement, audit)':<60} {'':>5} "
              f"{rest_wall * 1000:>7.1f} {rest_cpu * 1000:>7.1f}")
    runtime.engine.dispose()


# -- reporting -----------------------------------------------------------------------------------
def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]  # nearest rank


def summary(run: Run, receipt: re.Pattern[str]) -> dict[str, float]:
    firsts = [s for s in run.sent if s.kind == "first"]
    good = [s for s in firsts if s.status == "303" and receipt.fullmatch(s.location)]
    from_plan = [s.done - s.scheduled for s in good] or [float("nan")]
    from_send = [s.done - s.started for s in good] or [float("nan")]
    span = max(s.done for s in run.sent) - min(s.scheduled for s in firsts)
    return {"ok": len(good), "n": len(firsts), "p50": statistics.median(from_plan), "p95": percentile(from_plan, .95),
            "max": max(from_plan), "send_p50": statistics.median(from_send), "send_p95": percentile(from_send, .95),
            "send_max": max(from_send), "queued": percentile([s.started - s.scheduled for s in firsts], .95),
            "throughput": len(good) / span, "span": span,
            "cpu": run.server_cpu / len(firsts) * 1000, "db_cpu": run.db_cpu / len(firsts) * 1000,
            "client_cpu": run.client_cpu / len(run.sent) * 1000,
            "others": (run.machine_cpu - run.server_cpu - run.db_cpu - run.client_cpu) / span}


def repeats(run: Run) -> str:
    """What the second sending of a form got, and whether any student was shown two receipts."""
    outcome: Counter[str] = Counter(f"{s.kind} {s.status}" for s in run.sent if s.kind != "first")
    receipts: dict[int, set[str]] = {}
    for item in run.sent:
        if item.status == "303":
            receipts.setdefault(item.number, set()).add(item.location)
    twice = sum(1 for found in receipts.values() if len(found) > 1)
    answers = ", ".join(f"{n}× {what}" for what, n in sorted(outcome.items())) or "none"
    return f"{answers}; students shown two different receipts: {twice}"


def statuses(run: Run) -> str:
    counts = Counter(s.status for s in run.sent if s.kind == "first")
    return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))


# -- the run -------------------------------------------------------------------------------------
def start_servers(env: dict[str, str], store: Path, workers: int, threads: int, logs: Path,
                  ) -> tuple[dict[str, str], list[subprocess.Popen[bytes]]]:
    adal_port, floor_port = free_port(), free_port()
    adal_log, floor_log = open(logs / "adal.log", "wb"), open(logs / "floor.log", "wb")  # noqa: SIM115
    procs = [
        subprocess.Popen([str(VENV_BIN / "adal"), "serve", "--port", str(adal_port), "--workers", str(workers),
                          "--threads", str(threads)], env=env, stdout=adal_log, stderr=subprocess.STDOUT),
        # the same gunicorn settings as `adal serve` (plugin/cli.py run_gunicorn)
        subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", str(workers), "--threads", str(threads), "-k", "gthread",
                          "--timeout", "60", "--graceful-timeout", "10", "-b", f"127.0.0.1:{floor_port}",
                          # from the project's root, not bench/ (see the sys.path note at the top)
                          "--chdir", str(ROOT), "bench.bare_upload:create_app()"],
                         env={**env, "BENCH_STORE": str(store)}, cwd=ROOT, stdout=floor_log, stderr=subprocess.STDOUT),
    ]
    return {"adal": f"http://127.0.0.1:{adal_port}", "floor": f"http://127.0.0.1:{floor_port}"}, procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def server_errors(folder: Path) -> str:
    """The exceptions each server logged (a traceback's last lines, chained ones included), counted."""
    out = []
    for log in sorted(folder.glob("*.log")):
        text = log.read_text(encoding="utf-8", errors="replace")
        found = Counter(re.sub(r"0x[0-9a-f]+", "0x…", line)[:160] for line in text.splitlines()
                        if re.match(r"[A-Za-z_][\w.]*(Error|Exception|Violation)\b", line))
        if found:
            out.append(f"{log.stem} logged:\n" + "\n".join(f"  {n}× {line}" for line, n in found.most_common()))
    return "\n".join(out)


def admin(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)


def interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up as Ctrl-C does


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=None, help="default 1000 (100 with --quick)")
    parser.add_argument("--window", type=float, default=None,
                        help="seconds over which the submissions arrive; default 120 (20 with --quick)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=512,
                        help="client threads of the load generator (enough for every request an overloaded server "
                             "keeps waiting: rate x latency)")
    parser.add_argument("--file-mb", type=float, default=2.0)
    parser.add_argument("--retry-share", type=float, default=0.05,
                        help="share of students who send their form twice with the same idempotency key")
    parser.add_argument("--runs", default="floor,adal,nocopy",
                        help="which runs, in order: floor, adal (with the disclosure and copy), nocopy")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a database to connect to for CREATE/DROP DATABASE")
    parser.add_argument("--database", default="adal_burst",
                        help="created for the run and dropped after it; must not exist")
    parser.add_argument("--copy-mode", choices=("inline", "background"), default="background",
                        help="ADAL_COPY_MODE for the Adal server: the stamped copy in the request, or made after "
                             "the response by the niced job runner `adal serve` starts (the default)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100 students in 20 s")
    parser.add_argument("--profile", type=int, default=20,
                        help="submissions timed stage by stage in this process after the runs (0: none)")
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the servers' logs into this folder")
    args = parser.parse_args()
    args.students = args.students or (100 if args.quick else 1000)
    args.window = args.window or (20.0 if args.quick else 120.0)
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    if not runs or set(runs) - {"floor", "adal", "nocopy"}:
        parser.error("--runs takes floor, adal and nocopy")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.database):
        parser.error("--database must be a plain lower-case PostgreSQL name")
    signal.signal(signal.SIGTERM, interrupt)

    tmp = Path(tempfile.mkdtemp(prefix="adal-burst-"))
    env = {**os.environ, "ADAL_INSTANCE_PATH": str(tmp / "instance"), "ADAL_LANG": "en",
           "ADAL_COPY_MODE": args.copy_mode,
           "ADAL_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database}"}
    for variable in ("ADAL_FILE_STORE_PATH", "ADAL_AUDIT_HEAD_PATH", "ADAL_BASE_URL", "ADAL_REDIS_URL"):
        env.pop(variable, None)
    procs: list[subprocess.Popen[bytes]] = []
    backends: BackendCpu | None = None
    created = False
    try:
        try:
            admin(args.admin_url, f"CREATE DATABASE {args.database}")
        except psycopg.errors.DuplicateDatabase:
            raise SystemExit(f"database {args.database} exists: another run is using it, or a killed run left it "
                             f"(then: psql {args.admin_url} -c 'DROP DATABASE {args.database}')") from None
        created = True
        total = args.students + WARMUP + (args.profile + 1 if args.profile else 0)
        began = time.perf_counter()
        (tmp / "files").mkdir()
        files = make_files(tmp / "files", total, args.seed, args.file_mb)
        sizes = [p.stat().st_size for p in files]
        print(f"# {total} DOCX files generated in {time.perf_counter() - began:.0f} s, "
              f"{min(sizes) / 2**20:.2f}-{max(sizes) / 2**20:.2f} MiB each", flush=True)
        init = subprocess.run([str(VENV_BIN / "adal"), "init"], env=env, capture_output=True, text=True)
        if init.returncode:
            raise SystemExit(f"adal init failed:\n{init.stderr or init.stdout}")
        began = time.perf_counter()
        students, assignments = seed(env, total)
        print(f"# seeded {total} students (notice acknowledged, signed session cookies) in "
              f"{time.perf_counter() - began:.0f} s", flush=True)
        urls, procs = start_servers(env, tmp / "floor-store", args.workers, args.threads, tmp)
        wait_up(urls["adal"] + "/healthz", procs[0])
        wait_up(urls["floor"] + "/", procs[1])
        backends = BackendCpu(args.database)
        targets = {
            "floor": Target("floor", urls["floor"] + "/upload", files, students, ai_used=True, seed=args.seed),
            "adal": Target("adal", f"{urls['adal']}/a/{assignments['adal']}/submit", files, students, ai_used=True,
                           seed=args.seed),
            "nocopy": Target("nocopy", f"{urls['adal']}/a/{assignments['nocopy']}/submit", files, students,
                             ai_used=False, seed=args.seed),
        }
        warm = list(range(args.students, args.students + WARMUP))
        measured = list(range(args.students))
        results: dict[str, Run] = {}
        for name in runs:
            target = targets[name]
            warm_up(target, warm)
            os.sync()  # the previous run's writeback is not this run's cost
            time.sleep(2)
            proc = procs[1] if name == "floor" else procs[0]
            run = Run(name, load=os.getloadavg()[:2])
            cpu, db_cpu, client_cpu = process_tree_cpu(proc.pid), backends.total(), time.process_time()
            busy = machine_busy()
            print(f"# {name}: {args.students} students over {args.window:.0f} s ...", flush=True)
            run.sent = burst(target, measured, args.window, args.clients, args.retry_share, args.seed)
            run.server_cpu = process_tree_cpu(proc.pid) - cpu
            run.db_cpu = backends.total() - db_cpu
            run.client_cpu = time.process_time() - client_cpu
            run.machine_cpu = machine_busy() - busy
            if name == "floor":
                stored = sum(1 for _ in (tmp / "floor-store").glob("??/??/*"))
                run.lost = max(0, args.students + WARMUP - stored)
                run.counted = f"{stored} distinct files stored of {args.students + WARMUP} sent"
            else:
                ids = {students[n].user_id for n in measured}
                drained = wait_for_copies(env)
                if drained is not None:
                    print(f"  {name}: every pending copy made {drained:.1f} s after the window closed")
                per_student, copies = count_submissions(env, assignments[name], ids)
                run.lost = sum(1 for i in ids if per_student[i] == 0)
                run.duplicated = sum(1 for i in ids if per_student[i] > 1)
                exactly = sum(1 for i in ids if per_student[i] == 1)
                run.counted = f"{exactly} of {len(ids)} students with exactly one submission, {copies} stamped copies"
            results[name] = run
        report(args, results)
        if args.profile:
            profile(env, students, assignments, files, list(range(args.students + WARMUP, total)))
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        if backends:
            backends.stop()
        stop(procs)
        errors = server_errors(tmp)
        if errors:
            print(errors, file=sys.stderr)
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in tmp.glob("*.log"):
                shutil.copy(log, args.keep_logs / log.name)
        if created:
            admin(args.admin_url, f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
        shutil.rmtree(tmp, ignore_errors=True)


def report(args: argparse.Namespace, results: dict[str, Run]) -> None:
    receipts = {"floor": re.compile(r".*/r/[0-9a-f]{64}"), "adal": re.compile(r".*/s/\d+"),
                "nocopy": re.compile(r".*/s/\d+")}
    labels = {"floor": "floor (store only)", "adal": "adal (disclosure+copy)", "nocopy": "adal (no AI, no copy)"}
    print(f"\n# {args.students} students, {args.file_mb:g} MB DOCX each, arriving over {args.window:.0f} s "
          f"({args.students / args.window:.1f}/s offered), gunicorn {args.workers} workers x {args.threads} threads, "
          f"{args.clients} client threads, {os.cpu_count()} cores shared by servers, PostgreSQL and the generator")
    print("# latency in seconds, of the first POST of each student up to the 303; 'sched' from its scheduled "
          "start, 'send' from the actual send")
    print(f"{'run':<24} {'ok':>9} {'sched p50':>9} {'p95':>6} {'max':>6} {'send p50':>8} {'p95':>6} {'max':>6} "
          f"{'subm/s':>7} {'srv CPU ms':>10} {'PG ms':>6} {'load 1m':>7}")
    sums = {}
    for name, run in results.items():
        s = sums[name] = summary(run, receipts[name])
        print(f"{labels[name]:<24} {s['ok']:>4}/{s['n']:<4} {s['p50']:>9.2f} {s['p95']:>6.2f} {s['max']:>6.2f} "
              f"{s['send_p50']:>8.2f} {s['send_p95']:>6.2f} {s['send_max']:>6.2f} {s['throughput']:>7.2f} "
              f"{s['cpu']:>10.1f} {s['db_cpu']:>6.1f} {run.load[0]:>7.2f}")
    print("# srv CPU ms: CPU time of the server's process tree per student; PG ms: of the PostgreSQL backends "
          "serving the database; subm/s: answered submissions over the span from the first scheduled start to the "
          "last answer; load 1m: the machine's load average when the run began")
    for name, run in results.items():
        print(f"{labels[name]}: answers {statuses(run)}; repeated forms: {repeats(run)}; {run.counted}; "
              f"lost {run.lost}, duplicated {run.duplicated}; span {sums[name]['span']:.0f} s")
        s = sums[name]
        demand = (s["cpu"] + s["db_cpu"] + s["client_cpu"]) / 1000 * args.students / args.window
        print(f"  CPU: at the offered rate this run needs {demand:.2f} cores (server, PostgreSQL backends, generator "
              f"{s['client_cpu']:.1f} ms/request); other processes on the machine used {s['others']:.2f} of its "
              f"{os.cpu_count()} cores meanwhile; p95 wait in the generator before sending {s['queued']:.2f} s")
    if "floor" in sums:
        for name in ("adal", "nocopy"):
            if name in sums:
                print(f"ratio {labels[name]} / floor: p95 {sums[name]['p95'] / sums['floor']['p95']:.2f}x, "
                      f"p50 {sums[name]['p50'] / sums['floor']['p50']:.2f}x, "
                      f"throughput {sums[name]['throughput'] / sums['floor']['throughput']:.2f}x, "
                      f"server CPU {sums[name]['cpu'] / sums['floor']['cpu']:.2f}x")
    for name in ("adal", "nocopy"):
        if name in sums:
            p95 = sums[name]["p95"]
            print(f"target p95 < 2 s for {labels[name]}: {'met' if p95 < 2 else 'NOT met'} ({p95:.2f} s)")
    if any(run.lost or run.duplicated for run in results.values()):
        print("LOST OR DUPLICATED SUBMISSIONS: see the lines above")


if __name__ == "__main__":
    main()

"""Benchmark: the commission's case queue and a case page with 100,000 cases and 1,000,000 audit
entries on PostgreSQL, through the real Flask app, against a bare route measured in the same run.

    .venv/bin/python bench/case_queue.py [--cases 100000] [--audit 1000000] [--requests 200] [--keep]

A database of its own (``adal_queue`` beside ``test``) is created, migrated, seeded with COPY and
dropped at the end (``--keep`` leaves it for a look with psql). The audit entries are written as
plain rows: their MACs are unique but do not form a chain that ``adal audit verify`` accepts, which
the pages never check. Requests go through Flask's test client with a signed-in commission member
(no HTTP server, so the figures are Adal's own: routing, the session, the queries, the template).
"""

# ruff: noqa: E402  (the imports follow the sys.path fix below, which must come first)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path: put the project there instead, so
# that the project's packages are found and no file in bench/ can hide a standard-library module.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import argparse
import hashlib
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import event, text

from appeals.queue import QueueFilters, case_file, case_queue, commission_memberships, member_case
from plugin.app import create_app
from plugin.config import load_config
from plugin.kernel.users import Actor
from plugin.kernel.web import remember_actor
from plugin.migrations import upgrade

NOW = datetime.now(UTC).replace(microsecond=0)
ISSUER = "https://lms.bench.example"
# (state, share of cases): most cases are closed, a steady tail is waiting at every step.
STATES = (("referred", 0.06), ("notified", 0.10), ("accepted", 0.04), ("contested", 0.04),
          ("hearing_scheduled", 0.04), ("deliberation", 0.06), ("sanctioning", 0.02), ("decided", 0.02),
          ("issued", 0.44), ("not_responsible", 0.12), ("withdrawn", 0.06))
PATHS = {  # the audit actions that brought a case to its state (votes added separately)
    "referred": ["opened"], "notified": ["opened", "notify"], "accepted": ["opened", "notify", "accept"],
    "contested": ["opened", "notify", "contest"],
    "hearing_scheduled": ["opened", "notify", "contest", "schedule_hearing"],
    "deliberation": ["opened", "notify", "accept", "deliberate"],
    "sanctioning": ["opened", "notify", "accept", "deliberate", "find_responsible"],
    "decided": ["opened", "notify", "contest", "schedule_hearing", "deliberate", "find_responsible",
                "set_sanction"],
    "issued": ["opened", "notify", "accept", "deliberate", "find_responsible", "set_sanction", "issue"],
    "not_responsible": ["opened", "notify", "contest", "deliberate", "find_not_responsible"],
    "withdrawn": ["opened", "notify", "withdraw"],
}
FILLER = ("lti.launch", "submission.created", "flag.created", "signal.recorded", "notice.acknowledged")


@dataclass
class Seeded:
    commissions: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # id -> [(user id, role)]
    cases: dict[int, tuple[int, str]] = field(default_factory=dict)  # case id -> (commission id, state)
    audit_entries: int = 0


def _share(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for state, share in STATES:
        total += share
        if roll < total:
            return state
    return STATES[-1][0]


def _copy(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> int:
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def seed(conn: psycopg.Connection, *, cases: int, audit: int, rng: random.Random) -> Seeded:
    out = Seeded()
    courses, teachers, students = 400, 400, 40_000
    # commission 1: the institution's, with 7 members and most cases; 2-4: faculties, 5 members each
    user_id = 0
    people: list[tuple[int, str, str]] = []
    for commission_id, size in ((1, 7), (2, 5), (3, 5), (4, 5)):
        seats = []
        for index in range(size):
            user_id += 1
            role = "chair" if index == 0 else "secretary" if index == 1 else "member"
            seats.append((user_id, role))
            people.append((user_id, f"member-{user_id}", f"Мүше Сынақ-{user_id}"))
        out.commissions[commission_id] = seats
    first_teacher = user_id + 1
    people += [(first_teacher + i, f"teacher-{i}", f"Педагог Үлгі-{i}") for i in range(teachers)]
    first_student = first_teacher + teachers
    people += [(first_student + i, f"student-{i}", f"Білім алушы Демо-{i}") for i in range(students)]
    _copy(conn, "user_account", ("id", "issuer", "subject", "display_name", "created_at"),
          ((uid, ISSUER, sub, name, NOW - timedelta(days=800)) for uid, sub, name in people))
    _copy(conn, "course", ("id", "issuer", "context_id", "title", "label", "created_at"),
          ((c, ISSUER, f"course-{c}", f"Сынақ курсы {c:03d}", f"C-{c}", NOW - timedelta(days=800))
           for c in range(1, courses + 1)))
    _copy(conn, "membership", ("user_id", "course_id", "role", "is_ta", "created_at"),
          ((first_teacher + c - 1, c, "teacher", False, NOW - timedelta(days=800)) for c in range(1, courses + 1)))
    _copy(conn, "assignment", ("id", "course_id", "title", "score_maximum", "created_by", "created_at"),
          ((a, (a - 1) % courses + 1, f"Эссе {a}", 100, "user:1", NOW - timedelta(days=700))
           for a in range(1, 2 * courses + 1)))
    _copy(conn, "commission", ("id", "name", "scope", "created_at"),
          ((cid, f"Комиссия {cid}", "institution" if cid == 1 else f"faculty {cid}", NOW - timedelta(days=900))
           for cid in out.commissions))
    _copy(conn, "commission_member", ("commission_id", "user_id", "role", "active", "added_at"),
          ((cid, uid, role, True, NOW - timedelta(days=900)) for cid, seats in out.commissions.items()
           for uid, role in seats))
    # one submission, flag, ground and evidence note per case; a few referred flags still wait for one
    waiting = max(1, cases // 200)
    flags = cases + waiting
    course_of = [0] + [rng.randint(1, courses) for _ in range(flags)]
    when = [NOW] + [NOW - timedelta(days=rng.uniform(0, 720)) for _ in range(flags)]
    versions: dict[tuple[int, int], int] = {}

    def submission(s: int) -> tuple[Any, ...]:
        key = (course_of[s] + courses * rng.randint(0, 1), first_student + rng.randrange(students))
        versions[key] = versions.get(key, 0) + 1  # the same student handing in the same task again
        return (s, *key, versions[key], f"bench-{s}", when[s], False, "kk", "2026-1", False, "[]", "[]", "[]",
                False, "[]", "", "kk")

    _copy(conn, "submission", ("id", "assignment_id", "student_id", "version", "idempotency_key", "submitted_at",
                               "late", "language", "term", "ai_used", "tasks", "use_dates", "use_rows", "checked",
                               "not_allowed", "statement", "statement_lang"),
          (submission(s) for s in range(1, flags + 1)))
    _copy(conn, "flag", ("id", "submission_id", "course_id", "state", "created_by", "created_by_user", "created_at",
                         "referred_at"),
          ((f, f, course_of[f], "referred", f"user:{first_teacher + course_of[f] - 1}",
            first_teacher + course_of[f] - 1, when[f], when[f] + timedelta(hours=2)) for f in range(1, flags + 1)))
    _copy(conn, "flag_ground", ("id", "flag_id", "ground", "description"),
          ((f, f, "failed_defence", "Ауызша қорғауда жұмысын түсіндіре алмады.") for f in range(1, flags + 1)))
    _copy(conn, "evidence_item", ("id", "ground_id", "kind", "is_detector", "description", "added_by", "added_at"),
          ((f, f, "note", False, "Сұрақтарға жауап берілмеді.", f"user:{first_teacher + course_of[f] - 1}",
            when[f]) for f in range(1, flags + 1)))

    commission_of = {1: 0.55, 2: 0.15, 3: 0.15, 4: 0.15}
    case_rows, vote_rows, recusal_rows, events = [], [], [], []
    for case_id in range(1, cases + 1):
        cid = rng.choices(list(commission_of), weights=list(commission_of.values()))[0]
        state = _share(rng)
        opened = when[case_id] + timedelta(days=1)
        row: dict[str, Any] = {"notified_at": None, "response_due_at": None, "objection_due_at": None,
                               "hearing_at": None, "finding": None, "reasons": None, "decided_at": None,
                               "sanction_level": None, "sanction_code": None, "issued_at": None}
        if state not in ("referred",) and not (state == "withdrawn" and rng.random() < 0.5):
            if state in ("notified", "hearing_scheduled"):  # waiting: the deadline is around today
                notified = NOW - timedelta(days=rng.uniform(0, 10))
            else:
                notified = opened + timedelta(days=1)
            row.update(notified_at=notified, response_due_at=notified + timedelta(days=7),
                       objection_due_at=notified + timedelta(days=5))
            if state == "notified":
                row["response_due_at"] = NOW + timedelta(days=rng.uniform(-6, 8))  # some overdue
        if state == "hearing_scheduled":
            row["hearing_at"] = NOW + timedelta(days=rng.uniform(-3, 14))
        members = out.commissions[cid]
        if state in ("sanctioning", "decided", "issued", "not_responsible"):
            finding = "not_responsible" if state == "not_responsible" else "responsible"
            row.update(finding=finding, reasons="Теңгерімді ықтималдық бойынша.",
                       decided_at=opened + timedelta(days=12))
            for uid, _role in members[:3]:
                vote_rows.append((case_id, "finding", uid, finding, None, "Дәлелдемелер жеткілікті.",
                                  json.dumps([case_id]), opened + timedelta(days=11)))
        if state in ("decided", "issued"):
            level = rng.choice((0, 0, 1, 1, 1, 2, 3))
            row.update(sanction_level=level, sanction_code=("warning", "resubmission", "zero_grade_retake",
                                                            "disciplinary")[level])
            for uid, _role in members[:3]:
                vote_rows.append((case_id, "sanction", uid, "level", level, "Бірінші жағдай.", "[]",
                                  opened + timedelta(days=12)))
        if state == "issued":
            row["issued_at"] = opened + timedelta(days=13)
        if rng.random() < 0.1:  # a member declared a conflict (never the benchmark's secretary, user 2)
            uid = rng.choice([u for u, _r in members if u != 2])
            recusal_rows.append((case_id, uid, "declared", opened))
        case_rows.append((case_id, f"{opened.year}-{case_id:06d}", cid, case_id, case_id,
                          None, course_of[case_id], state, len(PATHS[state]), rng.choice((1, 2, 2, 2, 3)),
                          "ЖИ мәтіні жарияланбаған.", "S 7.3а", opened, *row.values()))
        out.cases[case_id] = (cid, state)
        actors = [f"user:{uid}" for uid, _r in members]
        for step, action in enumerate(PATHS[state]):
            events.append((opened + timedelta(days=step, minutes=rng.randint(0, 600)), actors[step % 2],
                           f"case.{action}", f"case:{case_id}", {"step": step}))
            if action == "deliberate":
                for n, uid in enumerate(u for u, _r in members[:3]):
                    events.append((opened + timedelta(days=step, hours=2 + n), f"user:{uid}", "case.vote",
                                   f"case:{case_id}", {"question": "finding"}))
    student_of = dict(conn.execute("SELECT id, student_id FROM submission").fetchall())
    _copy(conn, "integrity_case", ("id", "number", "commission_id", "flag_id", "submission_id", "student_id",
                                   "course_id", "state", "version", "incident_level", "allegation", "rule",
                                   "opened_at", "notified_at", "response_due_at", "objection_due_at", "hearing_at",
                                   "finding", "reasons", "decided_at", "sanction_level", "sanction_code",
                                   "issued_at"),
          ((r[0], r[1], r[2], r[3], r[4], student_of[r[4]], *r[6:]) for r in case_rows))
    _copy(conn, "case_vote", ("case_id", "question", "user_id", "vote", "sanction_level", "reasons", "cited_evidence",
                              "at"), iter(vote_rows))
    _copy(conn, "case_recusal", ("case_id", "user_id", "reason", "at"), iter(recusal_rows))
    while len(events) < audit:  # the rest of the journal: launches, submissions, signals...
        events.append((NOW - timedelta(days=rng.uniform(0, 720)), f"user:{first_student + rng.randrange(students)}",
                       rng.choice(FILLER), f"course:{rng.randint(1, courses)}", {"n": len(events)}))
    events.sort(key=lambda e: e[0])
    prev = "0" * 64

    def entries() -> Iterator[tuple[Any, ...]]:
        nonlocal prev
        for seq, (at, actor, action, subject, payload) in enumerate(events, 1):
            body = json.dumps(payload, separators=(",", ":"))
            mac = hashlib.sha256(f"bench-{seq}".encode()).hexdigest()  # unique, not a real chain
            yield seq, at, actor, action, subject, body, hashlib.sha256(body.encode()).hexdigest(), prev, mac
            prev = mac

    out.audit_entries = _copy(conn, "audit_entry", ("seq", "at", "actor", "action", "subject", "payload",
                                                    "payload_hash", "prev_mac", "mac"), entries())
    conn.execute("UPDATE audit_head SET seq = %s, mac = %s WHERE id = 1", (out.audit_entries, prev))
    for table in ("user_account", "course", "membership", "assignment", "commission", "commission_member",
                  "submission", "flag", "flag_ground", "evidence_item", "integrity_case", "case_vote",
                  "case_recusal"):
        # the names are the constants above, not input
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
    return out


# -- measuring --------------------------------------------------------------------------------------------
def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000


@contextmanager
def statements(engine: Any) -> Iterator[list[tuple[float, str, Any]]]:
    """Every SQL statement run inside, with its time and parameters."""
    found: list[tuple[float, str, Any]] = []
    started: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        found.append((time.perf_counter() - started.pop(id(cursor), time.perf_counter()), statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL database to connect to while creating the benchmark's own")
    parser.add_argument("--database", default="adal_queue")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per page and per baseline")
    parser.add_argument("--keep", action="store_true", help="leave the database for a look afterwards")
    args = parser.parse_args()
    rng = random.Random(20261123)

    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    url = args.server.rsplit("/", 1)[0] + f"/{args.database}"
    tmp = Path(tempfile.mkdtemp(prefix="adal-bench-queue-"))
    app = None
    try:
        app = create_app(load_config({"ADAL_INSTANCE_PATH": str(tmp / "instance"), "ADAL_DATABASE_URL": url},
                                     testing=True))
        engine = app.extensions["adal.runtime"].engine
        upgrade(engine)
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            seeded = seed(conn, cases=args.cases, audit=args.audit, rng=rng)
            conn.commit()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        print(f"# seeded {len(seeded.cases)} cases, {seeded.audit_entries} audit entries in "
              f"{time.perf_counter() - started:.0f} s; PostgreSQL "
              f"{engine.dialect.server_version_info}; {args.requests} requests per line")
        run(app, engine, seeded, args.requests, rng)
    finally:
        if app is not None:
            app.extensions["adal.runtime"].engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.keep:
            with psycopg.connect(args.server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


def _client_for(app: Any, user_id: int) -> Any:
    client = app.test_client()
    with client.session_transaction() as stored, app.test_request_context():
        from flask import session

        remember_actor(Actor(label=f"user:{user_id}", user_id=user_id, locale="kk"))
        stored.update(session)
    return client


def run(app: Any, engine: Any, seeded: Seeded, repeat: int, rng: random.Random) -> None:
    secretary, member = 2, 5  # of commission 1, the one with most cases
    mine = [cid for cid, (commission, _s) in seeded.cases.items() if commission == 1]
    sample = [rng.choice(mine) for _ in range(repeat)]
    routes = "commission.queue" in app.view_functions
    results: dict[str, list[float]] = {}

    def record(name: str, samples: list[float]) -> None:
        results.setdefault(name, []).extend(samples)

    with engine.connect() as conn:
        record("baseline: SELECT 1 round trip", timed(lambda: conn.execute(text("SELECT 1")), repeat))
    if routes:
        clients = {"secretary": _client_for(app, secretary), "member": _client_for(app, member)}
        bare = app.test_client()

        def get(client: Any, path: str) -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])

        for _ in range(10):  # warm-up: templates compiled, connections pooled
            get(bare, "/healthz")
            get(clients["secretary"], "/commission")
            get(clients["secretary"], f"/commission/cases/{sample[0]}")
        for n in range(repeat):  # interleaved, so that a slow moment of the machine hits every line alike
            record("baseline: GET /healthz (bare route, SELECT 1)", timed(lambda: get(bare, "/healthz"), 1))
            record("queue, first page (secretary: also the flags waiting for a case)",
                   timed(lambda: get(clients["secretary"], "/commission"), 1))
            record("queue, first page (member)", timed(lambda: get(clients["member"], "/commission"), 1))
            record("queue, first page, state=notified&overdue=1",
                   timed(lambda: get(clients["member"], "/commission?state=notified&overdue=1"), 1))
            record("case page (secretary)",
                   timed(lambda n=n: get(clients["secretary"], f"/commission/cases/{sample[n]}"), 1))
    # the same reads through the services alone (no routing, session or template)
    with app.test_request_context(), app.extensions["adal.runtime"].session() as session:
        actor = Actor(label=f"user:{secretary}", user_id=secretary)
        memberships = [m for m, _c in commission_memberships(session, secretary)]
        ids = [m.commission_id for m in memberships]
        record("service: case_queue (first page)",
               timed(lambda: case_queue(session, ids, QueueFilters(), now=NOW), repeat))
        samples = []
        for case_id in sample:
            started = time.perf_counter()
            found, me = member_case(session, actor, case_id)
            case_file(session, actor, found, me)
            samples.append(time.perf_counter() - started)
            session.expunge_all()
        record("service: member_case + case_file", samples)
    print(f"{'what':<68} {'p50 ms':>8} {'p95 ms':>8}")
    for name, samples in results.items():
        p50, p95 = percentiles(samples)
        print(f"{name:<68} {p50:>8.1f} {p95:>8.1f}")
    if not routes:
        print("(the commission blueprint is not installed: only the services were measured)")
    explain(app, engine, routes, sample[0])


def explain(app: Any, engine: Any, routes: bool, case_id: int) -> None:
    """The statements of one queue page and one case page, slowest first, and the plan of the slowest."""
    if not routes:
        return
    client = _client_for(app, 2)
    for path in ("/commission", f"/commission/cases/{case_id}"):
        with statements(engine) as found:
            client.get(path)
        found.sort(key=lambda f: -f[0])
        print(f"\n# {path}: {len(found)} statements, {sum(f[0] for f in found) * 1000:.1f} ms in the database; "
              "slowest:")
        for seconds, sql, _params in found[:3]:
            print(f"  {seconds * 1000:7.1f} ms  {' '.join(sql.split())[:150]}")
        seconds, sql, params = found[0]
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                print("  plan of the slowest:")
                for (line,) in cur.fetchall():
                    print("    " + line)
            raw.rollback()


if __name__ == "__main__":
    main()

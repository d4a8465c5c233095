"""Least privilege, proved by an exhaustive matrix (S 5.3б, 2.5, 2.11): every route of the
application × the eight roles → the status the role must get, written out by hand in ``TABLE``.

* ``test_the_table_lists_every_route_and_no_other`` walks ``app.url_map``: a route added without
  its row (or a row whose route is gone) fails the suite.
* ``test_every_cell`` asks every (route, method) as every role and reports every mismatch at once.
* ``test_idor_probes`` changes ids in URLs, form fields and the API's body: another person's,
  course's or commission's object answers exactly as an object that does not exist (404 for an
  id in the URL, the same refusal for an id in a form), so probing reveals nothing.

The conventions of the table:

* The roles (columns): ``anon`` (no session), ``student``, ``teacher``, ``ta`` (a teaching
  assistant of a course that withholds flagging and the other process steps from TAs),
  ``member``, ``secretary``, ``chair`` (of commission 1, launched from the LMS with no LMS role),
  ``admin`` (the console's own session after password + TOTP; no LTI identity).
* Every URL is filled from the world's "A side" (``tests/access_world.py``): course A's
  assignment, student A's submission, file, signal, flag and evidence, case A (issued, with its
  written decision) heard by commission 1, its statement and objection, the referred flag still
  waiting for a case (opening a case), the role's own reminder. For the course roles and
  commission 1 these are their own objects; the others must not reach them.
* A POST carries a valid CSRF token and an EMPTY form (a few rows say what else they send, in
  ``EXTRA``). The point is the access decision, not success: a ``400`` for an empty form proves
  the role got past the permission check and was stopped by validation; ``403`` is the role
  check, ``404`` the object check (an object the role may not see is not found), ``LOGIN`` is the
  console's ``302`` to ``/admin/login``, ``401`` is a refused sign-in or a request without the
  integration's token.
* A POST refused for any reason (``LOGIN``, 4xx) changes nothing: every table's row count (the
  audit log's among them), the rows of the tables a step would change and the file store are
  compared before and after. (A failed admin sign-in and a refused LTI login or launch add their
  audit entry by design, and nothing else.)
* The world is built once for the module (one database, one app); cells run in table order, with
  ``/admin/logout`` last and each role's session cookie restored before each request.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlmodel import SQLModel

from evidence.integrations import signature
from plugin.app import create_app
from plugin.kernel.db import make_engine
from plugin.migrations import load_all_models, upgrade
from tests.access_world import ADMIN_PASSWORD, ADMIN_USER, build_access_world
from tests.conftest import TEST_DATABASE_URL, _drop_postgres_schema, _new_postgres_schema, make_config
from tests.factories_work import login

pytestmark = pytest.mark.db

ROLES = ("anon", "student", "teacher", "ta", "member", "secretary", "chair", "admin")
LOGIN = LGN = "302→login"  # the console's redirect to /admin/login (LGN in the table)
NOT_FOUND_ID = 987654

# fmt: off
#: (method, rule) → the status of each role, in the order of ROLES.
TABLE: list[tuple[str, str, tuple[Any, ...]]] = [
    # method  rule                                                      (anon stud tchr ta   memb secr chr  adm)
    # -- public pages -----------------------------------------------------------------------------------------------
    ("GET",  "/",                                                       (200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/healthz",                                                (200, 200, 200, 200, 200, 200, 200, 200)),
    ("POST", "/lang",                                                   (303, 303, 303, 303, 303, 303, 303, 303)),
    ("GET",  "/system-card",                                            (200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/system-card.json",                                       (200, 200, 200, 200, 200, 200, 200, 200)),
    # -- LTI: the platform's endpoints (no session gives anything; an empty request is refused) ---------------------
    ("GET",  "/.well-known/jwks.json",                                  (200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/lti/jwks",                                               (200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/lti/canvas.json",                                        (200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/lti/login",                                              (400, 400, 400, 400, 400, 400, 400, 400)),
    ("POST", "/lti/login",                                              (400, 400, 400, 400, 400, 400, 400, 400)),
    ("POST", "/lti/launch",                                             (400, 400, 400, 400, 400, 400, 400, 400)),
    ("POST", "/lti/launch/storage",                                     (400, 400, 400, 400, 400, 400, 400, 400)),
    ("POST", "/lti/deep-link",                                          (403, 403, 400, 400, 403, 403, 403, 403)),
    # Dynamic registration: the link's token is the credential; without the LMS's configuration URL, 400.
    ("GET",  "/lti/register",                                           (308, 308, 308, 308, 308, 308, 308, 308)),
    ("GET",  "/lti/register/",                                          (400, 400, 400, 400, 400, 400, 400, 400)),
    ("GET",  "/lti/register/<token>",                                   (400, 400, 400, 400, 400, 400, 400, 400)),
    # -- the student's work -----------------------------------------------------------------------------------------
    ("GET",  "/course",                                                 (403, 200, 200, 200, 403, 403, 403, 403)),
    ("GET",  "/notice",                                                 (403, 200, 200, 200, 403, 403, 403, 403)),
    ("POST", "/notice",                                                 (403, 400, 400, 400, 403, 403, 403, 403)),
    ("GET",  "/a/<int:assignment_id>",                                  (403, 200, 303, 303, 403, 403, 403, 403)),
    ("POST", "/a/<int:assignment_id>/submit",                           (403, 400, 403, 403, 403, 403, 403, 403)),
    ("GET",  "/s/<int:submission_id>",                                  (403, 200, 200, 200, 403, 403, 403, 403)),
    ("GET",  "/s/<int:submission_id>/receipt.txt",                      (403, 200, 200, 200, 403, 403, 403, 403)),
    ("GET",  "/s/<int:submission_id>/statement.txt",                    (403, 200, 200, 200, 403, 403, 403, 403)),
    ("GET",  "/s/<int:submission_id>/files/<int:file_id>",              (403, 200, 200, 200, 403, 403, 403, 403)),
    # -- the teacher's pages (teaching assistants included) ---------------------------------------------------------
    ("GET",  "/a/<int:assignment_id>/setup",                            (403, 403, 200, 200, 403, 403, 403, 403)),
    ("POST", "/a/<int:assignment_id>/setup",                            (403, 403, 400, 400, 403, 403, 403, 403)),
    ("GET",  "/a/<int:assignment_id>/submissions",                      (403, 403, 200, 200, 403, 403, 403, 403)),
    ("GET",  "/a/<int:assignment_id>/submissions.csv",                  (403, 403, 200, 200, 403, 403, 403, 403)),
    ("GET",  "/a/<int:assignment_id>/reopen",                           (403, 403, 200, 200, 403, 403, 403, 403)),
    ("POST", "/a/<int:assignment_id>/reopen",                           (403, 403, 400, 400, 403, 403, 403, 403)),
    ("GET",  "/s/<int:submission_id>/review",                           (403, 403, 200, 200, 403, 403, 403, 403)),
    ("GET",  "/s/<int:submission_id>/file/<int:file_id>",               (403, 403, 200, 200, 403, 403, 403, 403)),
    ("POST", "/s/<int:submission_id>/grade",                            (403, 403, 400, 400, 403, 403, 403, 403)),
    ("POST", "/s/<int:submission_id>/gradebook",                        (403, 403, 303, 303, 403, 403, 403, 403)),
    # -- signals: teachers and TAs of the course; the student once a flag on the work is referred -------------------
    ("GET",  "/s/<int:submission_id>/signals/new",                      (403, 403, 200, 200, 403, 403, 403, 403)),
    ("POST", "/s/<int:submission_id>/signals",                          (403, 403, 400, 400, 403, 403, 403, 403)),
    ("POST", "/s/<int:submission_id>/signals/upload",                   (403, 403, 400, 400, 403, 403, 403, 403)),
    ("GET",  "/signals/<int:signal_id>/explain",                        (403, 200, 200, 200, 403, 403, 403, 403)),
    ("GET",  "/signals/<int:signal_id>/report",                         (403, 200, 200, 200, 403, 403, 403, 403)),
    # -- flags: teachers who may flag (this course withholds it from TAs) -------------------------------------------
    ("POST", "/course/flag-policy",                                     (403, 403, 303, 403, 403, 403, 403, 403)),
    ("GET",  "/s/<int:submission_id>/flag",                             (403, 403, 200, 403, 403, 403, 403, 403)),
    ("POST", "/s/<int:submission_id>/flag",                             (403, 403, 400, 403, 403, 403, 403, 403)),
    ("GET",  "/flags/<int:flag_id>",                                    (403, 403, 200, 403, 403, 403, 403, 403)),
    ("POST", "/flags/<int:flag_id>/grounds",                            (403, 403, 400, 403, 403, 403, 403, 403)),
    ("POST", "/flags/<int:flag_id>/evidence",                           (403, 403, 400, 403, 403, 403, 403, 403)),
    ("GET",  "/flags/<int:flag_id>/evidence/<int:item_id>",             (403, 403, 200, 403, 403, 403, 403, 403)),
    # The teacher's 403 is the flag page saying why it cannot be referred again (NotReferable): the state, not the role.
    ("POST", "/flags/<int:flag_id>/refer",                              (403, 403, 403, 403, 403, 403, 403, 403)),
    ("POST", "/flags/<int:flag_id>/close",                              (403, 403, 400, 403, 403, 403, 403, 403)),
    # -- process evidence: the teacher asks and records (withheld from this course's TAs), the student answers ------
    ("GET",  "/s/<int:submission_id>/drafts/request",                   (403, 403, 200, 403, 403, 403, 403, 403)),
    ("POST", "/s/<int:submission_id>/drafts/request",                   (403, 403, 400, 403, 403, 403, 403, 403)),
    ("GET",  "/s/<int:submission_id>/defence/new",                      (403, 403, 200, 403, 403, 403, 403, 403)),
    ("POST", "/s/<int:submission_id>/defence/new",                      (403, 403, 400, 403, 403, 403, 403, 403)),
    ("GET",  "/s/<int:submission_id>/attribution-fix",                  (403, 403, 200, 403, 403, 403, 403, 403)),
    ("POST", "/s/<int:submission_id>/attribution-fix",                  (403, 403, 400, 403, 403, 403, 403, 403)),
    ("GET",  "/defence/<int:defence_id>/record",                        (403, 403, 303, 403, 403, 403, 403, 403)),
    ("POST", "/defence/<int:defence_id>/record",                        (403, 403, 400, 403, 403, 403, 403, 403)),
    ("GET",  "/drafts/<int:request_id>/answer",                         (403, 200, 403, 403, 403, 403, 403, 403)),
    ("POST", "/drafts/<int:request_id>/answer",                         (403, 400, 403, 403, 403, 403, 403, 403)),
    ("GET",  "/drafts/<int:request_id>/files/<int:upload_id>",          (403, 200, 200, 200, 403, 403, 403, 403)),
    # -- tools for staff --------------------------------------------------------------------------------------------
    ("GET",  "/tools/stamp",                                            (403, 403, 200, 200, 403, 403, 403, 403)),
    ("POST", "/tools/stamp",                                            (403, 403, 400, 400, 403, 403, 403, 403)),
    ("POST", "/tools/stamp/download",                                   (403, 403, 404, 404, 403, 403, 403, 403)),
    ("GET",  "/tools/inspect",                                          (403, 403, 200, 200, 403, 403, 403, 403)),
    ("POST", "/tools/inspect",                                          (403, 403, 400, 400, 403, 403, 403, 403)),
    # -- the student's cases ----------------------------------------------------------------------------------------
    ("GET",  "/cases",                                                  (403, 200, 403, 403, 403, 403, 403, 403)),
    ("GET",  "/cases/<int:case_id>",                                    (403, 200, 403, 403, 403, 403, 403, 403)),
    ("GET",  "/cases/<int:case_id>/evidence/<int:item_id>",             (403, 200, 403, 403, 403, 403, 403, 403)),
    ("GET",  "/cases/<int:case_id>/statements/<int:statement_id>",      (403, 200, 403, 403, 403, 403, 403, 403)),
    ("GET",  "/cases/<int:case_id>/documents/<kind>.<ext>",             (403, 200, 404, 404, 404, 404, 404, 403)),
    ("POST", "/cases/<int:case_id>/respond",                            (403, 400, 403, 403, 403, 403, 403, 403)),
    ("POST", "/cases/<int:case_id>/objections",                         (403, 400, 403, 403, 403, 403, 403, 403)),
    ("POST", "/cases/<int:case_id>/appeal",                             (403, 400, 403, 403, 403, 403, 403, 403)),
    ("POST", "/cases/<int:case_id>/appeal/withdraw",                    (403, 400, 403, 403, 403, 403, 403, 403)),
    # -- reminders: every person launched from the LMS or seated on a commission ------------------------------------
    ("GET",  "/reminders",                                              (403, 200, 200, 200, 200, 200, 200, 403)),
    ("POST", "/reminders/<int:reminder_id>/read",                       (403, 303, 303, 303, 303, 303, 303, 403)),
    ("POST", "/reminders/read-all",                                     (403, 303, 303, 303, 303, 303, 303, 403)),
    # -- the commission: members of the case's commission; opening a case: its secretary or chair -------------------
    ("GET",  "/commission",                                             (403, 403, 403, 403, 200, 200, 200, 403)),
    ("GET",  "/commission/flags/<int:flag_id>/open",                    (403, 403, 403, 403, 403, 200, 200, 403)),
    ("POST", "/commission/flags/<int:flag_id>/open",                    (403, 403, 403, 403, 403, 400, 400, 403)),
    ("GET",  "/commission/cases/<int:case_id>",                         (403, 403, 403, 403, 200, 200, 200, 403)),
    ("POST", "/commission/cases/<int:case_id>/notify",                  (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/hearing",                 (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/deliberate",              (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/vote",                    (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/finding",                 (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/sanction",                (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/issue",                   (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/withdraw",                (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/conflict",                (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/objections/<int:objection_id>", (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/convene",                 (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/appeal-vote",             (403, 403, 403, 403, 400, 400, 400, 403)),
    ("POST", "/commission/cases/<int:case_id>/appeal-decision",         (403, 403, 403, 403, 400, 400, 400, 403)),
    ("GET",  "/commission/cases/<int:case_id>/evidence/<int:item_id>",  (403, 403, 403, 403, 200, 200, 200, 403)),
    ("GET",  "/commission/cases/<int:case_id>/statements/<int:statement_id>", (403, 403, 403, 403, 200, 200, 200, 403)),
    ("GET",  "/commission/cases/<int:case_id>/signals/<int:signal_id>/report",
                                                                        (403, 403, 403, 403, 200, 200, 200, 403)),
    ("GET",  "/commission/cases/<int:case_id>/documents/<kind>.<ext>",  (403, 404, 404, 404, 200, 200, 200, 403)),
    ("GET",  "/commission/cases/<int:case_id>/case-file.pdf",           (403, 404, 404, 404, 200, 200, 200, 403)),
    # -- the integration API: its token and signature, never a browser session --------------------------------------
    ("GET",  "/api/v1/openapi.json",                                    (200, 200, 200, 200, 200, 200, 200, 200)),
    ("POST", "/api/v1/signals",                                         (401, 401, 401, 401, 401, 401, 401, 401)),
    # -- the admin console: its own sign-in (password + TOTP); an LTI identity gives nothing ------------------------
    ("GET",  "/admin/login",                                            (200, 200, 200, 200, 200, 200, 200, 302)),
    ("POST", "/admin/login",                                            (401, 401, 401, 401, 401, 401, 401, 302)),
    ("GET",  "/admin/second-factor",                                    (LGN, LGN, LGN, LGN, LGN, LGN, LGN, LGN)),
    ("POST", "/admin/second-factor",                                    (LGN, LGN, LGN, LGN, LGN, LGN, LGN, LGN)),
    ("GET",  "/admin/",                                                 (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("GET",  "/admin/settings",                                         (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("POST", "/admin/settings",                                         (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 303)),
    ("GET",  "/admin/journal",                                          (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("POST", "/admin/journal",                                          (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("GET",  "/admin/journal.csv",                                      (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("GET",  "/admin/journal/<int:entry_id>",                           (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("POST", "/admin/journal/<int:entry_id>",                           (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("GET",  "/admin/integrations",                                     (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("POST", "/admin/integrations",                                     (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("POST", "/admin/integrations/revoke",                              (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("GET",  "/admin/commissions",                                      (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("POST", "/admin/commissions",                                      (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("POST", "/admin/commissions/members",                              (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("POST", "/admin/commissions/members/remove",                       (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("GET",  "/admin/platforms",                                        (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("POST", "/admin/platforms",                                        (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("POST", "/admin/platforms/remove",                                 (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("POST", "/admin/platforms/registration-link",                      (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("GET",  "/admin/notices",                                          (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("POST", "/admin/notices",                                          (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("GET",  "/admin/statistics",                                       (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("GET",  "/admin/statistics.csv",                                   (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("GET",  "/admin/statistics/report.pdf",                            (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("GET",  "/admin/retention",                                        (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 200)),
    ("POST", "/admin/retention/periods",                                (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("POST", "/admin/retention/holds",                                  (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("POST", "/admin/retention/holds/<int:hold_id>/release",            (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 303)),
    ("POST", "/admin/retention/subject/export",                         (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("POST", "/admin/retention/subject/erase",                          (LGN, LGN, LGN, LGN, LGN, LGN, LGN, 400)),
    ("POST", "/admin/logout",                                           (303, 303, 303, 303, 303, 303, 303, 303)),
]
# fmt: on

#: What a row sends besides the CSRF token (``data``) or in its query string (``query``).
EXTRA: dict[tuple[str, str], dict[str, Any]] = {
    # The current setting again (withheld from TAs): a teacher's answer is a redirect, a TA's a refusal.
    ("POST", "/course/flag-policy"): {"data": {"ta_may_flag": "0"}},
    ("GET", "/admin/statistics/report.pdf"): {"query": "?from=2026-01-01&to=2026-12-31&lang=en"},
    # ``reached``: roles whose refusal is the page itself (past the role and object checks), not the
    # generic "your role does not allow this" page.
    ("POST", "/flags/<int:flag_id>/refer"): {"reached": {"teacher"}},
}
ROLE_REFUSAL = "Your role does not allow this action"
#: Each route's ids, from the world's A side (``"reminder"`` is each role's own reminder).
IDS = {"assignment_id": "assignment", "submission_id": "submission", "file_id": "file", "signal_id": "signal",
       "flag_id": "flag", "item_id": "item", "case_id": "case", "statement_id": "statement",
       "objection_id": "objection", "request_id": "draft_request", "upload_id": "draft_upload",
       "defence_id": "defence", "entry_id": "entry", "hold_id": "hold"}
PER_RULE = {"/commission/flags/<int:flag_id>/open": {"flag_id": "waiting_flag"}}
CONSTANTS = {"kind": "decision", "ext": "pdf", "token": "no-such-registration-token"}
#: Routes whose refusal is recorded on purpose (a failed sign-in, a refused launch): their audit
#: entries are the only change allowed.
RECORDS_REFUSAL = {"/admin/login", "/lti/login", "/lti/launch", "/lti/launch/storage"}
#: Tables whose rows (not only their number) a step could change.
CONTENT_TABLES = ("integrity_case", "case_objection", "case_vote", "notification", "flag", "course_policy",
                  "legal_hold", "setting", "submission", "assignment", "oral_defence", "draft_request",
                  "integration", "commission_member", "usage_journal_entry", "lti_platform", "notice_text")


# -- the world, once for the module -------------------------------------------------------------------
class Matrix:
    def __init__(self, app: Flask, world: dict[str, Any]) -> None:
        self.app, self.world = app, world
        self.rt = app.extensions["adal.runtime"]
        self.clients: dict[str, FlaskClient] = {}
        self.tokens: dict[str, str] = {}
        self.cookies: dict[str, str | None] = {}

    def client(self, role: str) -> FlaskClient:
        """The role's client with its signed-in session restored (a launch or a logout clears it)."""
        client = self.clients[role]
        cookie = self.cookies[role]
        if cookie is None:
            client.delete_cookie("session")
        else:
            client.set_cookie("session", cookie)
        return client


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _sign_in_admin(client: FlaskClient, seed: str) -> None:
    token = _csrf(client.get("/admin/login?lang=en").get_data(as_text=True))
    answer = client.post("/admin/login", data={"csrf_token": token, "username": ADMIN_USER,
                                               "password": ADMIN_PASSWORD})
    assert answer.status_code == 303, answer.status_code
    token = _csrf(client.get("/admin/second-factor").get_data(as_text=True))
    answer = client.post("/admin/second-factor", data={"csrf_token": token, "code": pyotp.TOTP(seed).now()})
    assert answer.status_code == 303 and client.get("/admin/").status_code == 200


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    base = tmp_path_factory.mktemp("matrix")
    schema = None
    if TEST_DATABASE_URL is None:
        url = f"sqlite:///{base / 'matrix.sqlite3'}"
    else:
        url, schema = _new_postgres_schema(TEST_DATABASE_URL)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(make_config(base / "instance", url))
    try:
        found = Matrix(app, build_access_world(app))
        actors = {role: found.world[role] for role in ("student", "teacher", "ta", "member", "secretary", "chair")}
        for index, role in enumerate((*ROLES, "member_b", "chair_b")):
            # Each its own address: the sign-in rate limits count per address.
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"127.0.0.{10 + index}"
            if role == "admin":
                _sign_in_admin(client, found.world["admin_seed"])
            elif role != "anon":
                login(client, actors.get(role) or found.world[role])
            found.tokens[role] = _csrf(client.get("/?lang=en").get_data(as_text=True))
            cookie = client.get_cookie("session")
            found.clients[role], found.cookies[role] = client, cookie.value if cookie else None
        yield found
    finally:
        app.extensions["adal.runtime"].engine.dispose()
        if schema is not None:
            _drop_postgres_schema(TEST_DATABASE_URL or "", schema)


# -- helpers ---------------------------------------------------------------------------------------------
def _url(matrix: Matrix, rule: str, role: str) -> str:
    names = {**IDS, **PER_RULE.get(rule, {})}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[-1]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name == "reminder_id":
            own = role if role in matrix.world["reminders"] else "student"
            return str(matrix.world["reminders"][own])
        return str(matrix.world[names[name]])

    return re.sub(r"<([^>]+)>", fill, rule)


def _snapshot(matrix: Matrix) -> dict[str, Any]:
    """Every table's row count, the rows of the tables a step would change, the file store."""
    load_all_models()
    tables = SQLModel.metadata.sorted_tables
    # Table names from our own metadata, not from input.
    counts = ", ".join(f'(SELECT count(*) FROM "{table.name}")' for table in tables)  # noqa: S608
    with matrix.rt.session() as session:
        found: dict[str, Any] = {"counts": tuple(session.execute(text(f"SELECT {counts}")).one())}
        by_name = {table.name: table for table in tables}
        for name in CONTENT_TABLES:
            found[name] = sorted(map(repr, session.execute(select(by_name[name])).all()))
    found["files"] = sorted(matrix.rt.files.iter_blobs())
    return found


def _outcome(response: Any) -> Any:
    if response.status_code == 302 and response.headers.get("Location", "").startswith("/admin/login"):
        return LOGIN
    return response.status_code


def _request(matrix: Matrix, role: str, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
    client = matrix.client(role)
    if method == "POST":
        form = {"csrf_token": matrix.tokens[role], **(data or {})}
        return client.post(url, data=form)
    return client.get(url)


def _cells() -> list[tuple[str, str, str, Any]]:
    """Every cell, in table order, the console's logout last (it ends the admin's session)."""
    cells = [(method, rule, role, expected) for method, rule, row in TABLE for role, expected in zip(ROLES, row,
                                                                                                   strict=True)]
    return sorted(cells, key=lambda cell: cell[1] == "/admin/logout")


# -- the tests -------------------------------------------------------------------------------------------
def test_the_table_lists_every_route_and_no_other(matrix: Matrix) -> None:
    routes = {(method, rule.rule) for rule in matrix.app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = [(method, rule) for method, rule, _row in TABLE]
    assert len(listed) == len(set(listed)), "a route is listed twice"
    assert sorted(routes - set(listed)) == [], "routes missing from the access matrix: add their rows"
    assert sorted(set(listed) - routes) == [], "rows of routes that no longer exist"
    assert all(len(row) == len(ROLES) for _m, _r, row in TABLE)
    assert {key for key in EXTRA} <= set(listed)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """The tables (and ``files``) whose rows differ between two snapshots."""
    names = [table.name for table in SQLModel.metadata.sorted_tables]
    changed = {name for name, old, new in zip(names, before["counts"], after["counts"], strict=True) if old != new}
    return changed | {key for key in after if key != "counts" and after[key] != before[key]}


def test_every_cell(matrix: Matrix) -> None:
    mismatches, unchanged_failures = [], []
    before = None
    for method, rule, role, expected in _cells():
        extra = EXTRA.get((method, rule), {})
        url = _url(matrix, rule, role) + extra.get("query", "")
        check = method == "POST" and (expected == LOGIN or (isinstance(expected, int) and expected >= 400))
        if check and before is None:
            before = _snapshot(matrix)
        response = _request(matrix, role, method, url, extra.get("data"))
        got = _outcome(response)
        if got != expected:
            mismatches.append(f"{method} {rule} as {role}: expected {expected}, got {got} ({url})")
        elif role in extra.get("reached", ()) and ROLE_REFUSAL in response.get_data(as_text=True):
            mismatches.append(f"{method} {rule} as {role}: refused by role, expected the page itself")
        if check:
            after = _snapshot(matrix)
            changed = _changes(before, after) - ({"audit_entry"} if rule in RECORDS_REFUSAL else set())
            if changed:
                unchanged_failures.append(f"{method} {rule} as {role} changed {sorted(changed)}")
            before = after
        else:
            before = None
    cells = len(TABLE) * len(ROLES)
    assert cells >= 1000
    assert not mismatches, f"{len(mismatches)} of {cells} cells differ:\n" + "\n".join(mismatches)
    assert not unchanged_failures, "refused requests changed something:\n" + "\n".join(unchanged_failures)


# -- IDOR probes ------------------------------------------------------------------------------------------
def _probes(w: dict[str, Any]) -> list[tuple[str, str, str, dict[str, str], str]]:
    """(role, method, URL with ``{x}``, form with ``{x}`` in its values, the world's key of the foreign id):
    the role owns the rest of the URL and asks for another person's, course's or commission's object."""
    case, sub, flag = w["case"], w["submission"], w["flag"]
    v = {"expected_version": "1"}
    student = [
        ("GET", "/a/{x}", {}, "assignment_b"), ("POST", "/a/{x}/submit", {}, "assignment_b"),
        ("GET", "/s/{x}", {}, "submission_b"), ("GET", "/s/{x}/receipt.txt", {}, "submission_b"),
        ("GET", "/s/{x}/statement.txt", {}, "submission_b"),
        ("GET", f"/s/{{x}}/files/{w['file_b']}", {}, "submission_b"), ("GET", f"/s/{sub}/files/{{x}}", {}, "file_b"),
        ("GET", "/cases/{x}", {}, "case_b"), ("GET", f"/cases/{{x}}/evidence/{w['item_b']}", {}, "case_b"),
        ("GET", f"/cases/{case}/evidence/{{x}}", {}, "item_b"),
        ("GET", f"/cases/{{x}}/statements/{w['statement_b']}", {}, "case_b"),
        ("GET", f"/cases/{case}/statements/{{x}}", {}, "statement_b"),
        ("GET", "/cases/{x}/documents/decision.pdf", {}, "case_b"),
        ("POST", "/cases/{x}/respond", {**v, "decision": "accept"}, "case_b"),
        ("POST", "/cases/{x}/objections", {"member": str(w["member_b"].user_id), "grounds": "x"}, "case_b"),
        ("POST", "/cases/{x}/appeal", {**v, "appeal_grounds": "procedure", "appeal_statement": "x"}, "case_b"),
        ("POST", "/cases/{x}/appeal/withdraw", v, "case_b"),
        ("GET", "/drafts/{x}/answer", {}, "draft_request_b"), ("POST", "/drafts/{x}/answer", {}, "draft_request_b"),
        ("GET", f"/drafts/{{x}}/files/{w['draft_upload_b']}", {}, "draft_request_b"),
        ("GET", f"/drafts/{w['draft_request']}/files/{{x}}", {}, "draft_upload_b"),
        ("GET", "/signals/{x}/explain", {}, "signal_b"), ("GET", "/signals/{x}/report", {}, "signal_b"),
        ("POST", "/reminders/{x}/read", {}, "reminder_student_b"),
    ]
    teacher = [
        ("GET", "/a/{x}", {}, "assignment_b"), ("POST", "/a/{x}/submit", {}, "assignment_b"),
        ("GET", "/a/{x}/setup", {}, "assignment_b"), ("POST", "/a/{x}/setup", {}, "assignment_b"),
        ("GET", "/a/{x}/submissions", {}, "assignment_b"), ("GET", "/a/{x}/submissions.csv", {}, "assignment_b"),
        ("GET", "/a/{x}/reopen", {}, "assignment_b"), ("POST", "/a/{x}/reopen", {}, "assignment_b"),
        ("GET", "/s/{x}", {}, "submission_b"), ("GET", "/s/{x}/review", {}, "submission_b"),
        ("GET", "/s/{x}/receipt.txt", {}, "submission_b"), ("GET", "/s/{x}/statement.txt", {}, "submission_b"),
        ("GET", f"/s/{{x}}/file/{w['file_b']}", {}, "submission_b"), ("GET", f"/s/{sub}/file/{{x}}", {}, "file_b"),
        ("GET", f"/s/{{x}}/files/{w['file_b']}", {}, "submission_b"), ("GET", f"/s/{sub}/files/{{x}}", {}, "file_b"),
        ("POST", "/s/{x}/grade", {"grade": "5"}, "submission_b"), ("POST", "/s/{x}/gradebook", {}, "submission_b"),
        ("GET", "/s/{x}/flag", {}, "submission_b"), ("POST", "/s/{x}/flag", {}, "submission_b"),
        ("GET", "/s/{x}/signals/new", {}, "submission_b"), ("POST", "/s/{x}/signals", {}, "submission_b"),
        ("POST", "/s/{x}/signals/upload", {}, "submission_b"),
        ("GET", "/s/{x}/drafts/request", {}, "submission_b"), ("POST", "/s/{x}/drafts/request", {}, "submission_b"),
        ("GET", "/s/{x}/defence/new", {}, "submission_b"), ("POST", "/s/{x}/defence/new", {}, "submission_b"),
        ("GET", "/s/{x}/attribution-fix", {}, "submission_b"),
        ("POST", "/s/{x}/attribution-fix", {}, "submission_b"),
        ("GET", "/defence/{x}/record", {}, "defence_b"), ("POST", "/defence/{x}/record", {}, "defence_b"),
        ("GET", f"/drafts/{{x}}/files/{w['draft_upload_b']}", {}, "draft_request_b"),
        ("GET", f"/drafts/{w['draft_request']}/files/{{x}}", {}, "draft_upload_b"),
        ("GET", "/flags/{x}", {}, "flag_b"), ("POST", "/flags/{x}/grounds", {}, "flag_b"),
        ("POST", "/flags/{x}/evidence", {}, "flag_b"), ("POST", "/flags/{x}/close", {}, "flag_b"),
        ("POST", "/flags/{x}/refer", {}, "flag_b"),
        ("GET", f"/flags/{{x}}/evidence/{w['item_b']}", {}, "flag_b"),
        ("GET", f"/flags/{flag}/evidence/{{x}}", {}, "item_b"),
        ("GET", "/signals/{x}/explain", {}, "signal_b"), ("GET", "/signals/{x}/report", {}, "signal_b"),
        ("POST", "/reminders/{x}/read", {}, "reminder_student"),
    ]
    # The TA of a course that withholds flagging: another course's flag is not found (404), not refused (403).
    ta = [("GET", "/flags/{x}", {}, "flag_b"), ("POST", "/flags/{x}/refer", {}, "flag_b"),
          ("GET", "/s/{x}/flag", {}, "submission_b"), ("GET", "/s/{x}/drafts/request", {}, "submission_b"),
          ("GET", "/defence/{x}/record", {}, "defence_b"), ("GET", "/s/{x}/review", {}, "submission_b")]
    commission = [("GET", "/commission/cases/{x}", {}, "case_b"),
                  ("GET", "/commission/cases/{x}/case-file.pdf", {}, "case_b"),
                  ("GET", "/commission/cases/{x}/documents/decision.pdf", {}, "case_b"),
                  ("GET", f"/commission/cases/{{x}}/evidence/{w['item_b']}", {}, "case_b"),
                  ("GET", f"/commission/cases/{case}/evidence/{{x}}", {}, "item_b"),
                  ("GET", f"/commission/cases/{{x}}/statements/{w['statement_b']}", {}, "case_b"),
                  ("GET", f"/commission/cases/{case}/statements/{{x}}", {}, "statement_b"),
                  ("GET", f"/commission/cases/{{x}}/signals/{w['signal_b']}/report", {}, "case_b"),
                  ("GET", f"/commission/cases/{case}/signals/{{x}}/report", {}, "signal_b")]
    commission += [("POST", f"/commission/cases/{{x}}/{step}", {**v, "question": "finding"}, "case_b")
                   for step in ("notify", "hearing", "deliberate", "vote", "finding", "sanction", "issue", "withdraw",
                                "conflict", "convene", "appeal-vote", "appeal-decision")]
    commission += [("POST", f"/commission/cases/{{x}}/objections/{w['objection_b']}", v, "case_b"),
                   ("POST", f"/commission/cases/{case}/objections/{{x}}", v, "objection_b"),
                   ("POST", "/reminders/{x}/read", {}, "reminder_member_b")]
    # A member of ANOTHER commission asks for commission 1's case.
    other = [("GET", "/commission/cases/{x}", {}, "case"), ("GET", "/commission/cases/{x}/case-file.pdf", {}, "case"),
             ("GET", "/commission/cases/{x}/documents/decision.pdf", {}, "case"),
             ("GET", f"/commission/cases/{{x}}/evidence/{w['item']}", {}, "case"),
             ("POST", "/commission/cases/{x}/notify", v, "case"), ("POST", "/commission/cases/{x}/conflict", v, "case")]
    return ([("student", *p) for p in student] + [("teacher", *p) for p in teacher] + [("ta", *p) for p in ta]
            + [(role, *p) for role in ("member", "secretary", "chair") for p in commission]
            + [("member_b", *p) for p in other] + [("chair_b", *p) for p in other])


def _page_text(response: Any, url: str) -> str:
    """The answer as a probe sees it, without what differs by request only: the correlation id, the
    page's own address (the language switch sends the reader back to it) and the CSRF token (signed
    with the second it was made: two requests a second apart get different ones)."""
    body = response.get_data(as_text=True)
    body = body.replace(response.headers.get("X-Correlation-Id", "-"), "<ref>")
    body = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value="<token>"', body)
    return body.replace(url, "<url>").replace(url.replace("/", "%2F"), "<url>")


def _probe(matrix: Matrix, role: str, method: str, template: str, data: dict[str, str], foreign: int
           ) -> tuple[Any, Any, str, str]:
    answers = []
    for value in (foreign, NOT_FOUND_ID):
        url = template.replace("{x}", str(value))
        form = {key: item.replace("{x}", str(value)) for key, item in data.items()}
        response = _request(matrix, role, method, url, form)
        answers.append((response.status_code, _page_text(response, url)))
    (status, body), (missing_status, missing_body) = answers
    return status, missing_status, body, missing_body


def _foreign(w: dict[str, Any], key: str) -> int:
    if key.startswith("reminder_"):
        return int(w["reminders"][key.removeprefix("reminder_")])
    return int(w[key])


def test_idor_probes_in_urls(matrix: Matrix) -> None:
    w = matrix.world
    failures = []
    before = _snapshot(matrix)
    probes = _probes(w)
    for role, method, template, data, key in probes:
        status, missing_status, body, missing_body = _probe(matrix, role, method, template, data, _foreign(w, key))
        where = f"{role} {method} {template} ({key})"
        if (status, missing_status) != (404, 404):
            failures.append(f"{where}: {status} for another's, {missing_status} for none (both must be 404)")
        elif body != missing_body:
            failures.append(f"{where}: the 404 for another's object differs from the 404 for none")
        if status == 200:
            failures.append(f"{where}: ANOTHER'S OBJECT WAS SERVED")
    assert len(probes) >= 100
    assert not failures, f"{len(failures)} of {len(probes)} probes:\n" + "\n".join(failures)
    assert _snapshot(matrix) == before, "a probe changed something"


def test_idor_probes_in_form_fields(matrix: Matrix) -> None:
    """Ids in forms: another course's signal, defence or ground cited as evidence, another
    commission's member objected to, another case's evidence cited in a vote, another course's
    student reopened for. Refused exactly as an id that does not exist, nothing changed."""
    w = matrix.world
    with matrix.rt.session() as session:
        from appeals.models import Case

        version_a2 = str(session.get(Case, w["case_a2"]).version)
    evidence = f"/flags/{w['open_flag']}/evidence"
    ground = str(w["open_ground"])
    probes = [
        ("teacher", evidence, {"kind": "signal", "ev_signal_ground": ground, "ev_signal_description": "x",
                               "ev_signal": "{x}"}, "signal_b"),
        ("teacher", evidence, {"kind": "record", "ev_record_ground": ground, "ev_record_description": "x",
                               "ev_record": "defence:{x}"}, "defence_b"),
        ("teacher", evidence, {"kind": "record", "ev_record_ground": ground, "ev_record_description": "x",
                               "ev_record": "draft_request:{x}"}, "draft_request_b"),
        ("teacher", evidence, {"kind": "note", "ev_note_ground": "{x}", "ev_note_description": "x"}, "ground_b"),
        ("teacher", f"/a/{w['assignment']}/reopen", {"student": "{x}", "due_at": "2099-01-01", "due_time": "10:00",
                                                     "reason": "x"}, "student_b_user"),
        ("student", f"/cases/{w['case']}/objections", {"member": "{x}", "grounds": "x"}, "member_b_user"),
        ("member", f"/commission/cases/{w['case_a2']}/vote",
         {"expected_version": version_a2, "question": "finding", "vote": "responsible", "vote_reasons": "x",
          "cited": "{x}"}, "note_b"),
    ]
    keys = {"student_b_user": w["student_b"].user_id, "member_b_user": w["member_b"].user_id,
            "note_b": w["items_b"]["note"]}
    failures = []
    before = _snapshot(matrix)
    for role, url, data, key in probes:
        foreign = int(keys.get(key) or w[key])
        status, missing_status, body, missing_body = _probe(matrix, role, "POST", url, data, foreign)
        where = f"{role} POST {url} {data} ({key})"
        if status < 400 or status != missing_status:
            failures.append(f"{where}: {status} for another's, {missing_status} for none")
        elif body != missing_body:
            failures.append(f"{where}: the refusal for another's object differs from the one for none")
    assert not failures, "\n".join(failures)
    assert _snapshot(matrix) == before, "a refused form changed something"


def test_idor_probes_in_the_api_body(matrix: Matrix) -> None:
    """The signals API: integrations are installation-wide (an integration is not tied to courses),
    so the body's only id is the submission's: one that does not exist is 404, nothing stored."""
    w = matrix.world
    body = json.dumps({"submission_id": NOT_FOUND_ID, "kind": "detector", "vendor": "GPTZero", "product": "x",
                       "model_version": "1", "score": 50, "scanned_at": "2026-09-01T10:00:00+00:00",
                       "vendor_scan_id": "matrix-probe-1"}).encode()
    stamp = str(int(time.time()))
    secret = w["integration_secret"].encode()
    headers = {"Authorization": f"Bearer {w['integration_token']}", "X-Adal-Timestamp": stamp,
               "X-Adal-Signature": signature(secret, stamp, body), "Content-Type": "application/json"}
    before = _snapshot(matrix)
    answer = matrix.clients["anon"].post("/api/v1/signals", data=body, headers=headers)
    assert answer.status_code == 404 and answer.get_json()["error"] == "unknown_submission"
    assert _snapshot(matrix) == before


def test_console_ids_reveal_nothing_before_sign_in(matrix: Matrix) -> None:
    """A journal entry or a legal hold that exists and one that does not: the same redirect to the
    sign-in page for everyone without a console session, whatever their LMS or commission role."""
    w = matrix.world
    for role in ("anon", "student", "teacher", "chair"):
        for method, template in (("GET", "/admin/journal/{x}"), ("POST", "/admin/journal/{x}"),
                                 ("POST", "/admin/retention/holds/{x}/release")):
            key = "entry" if "journal" in template else "hold"
            outcomes = {_outcome(_request(matrix, role, method, template.replace("{x}", str(value))))
                        for value in (w[key], NOT_FOUND_ID)}
            assert outcomes == {LOGIN}, (role, method, template, outcomes)

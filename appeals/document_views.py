"""Downloads of written decisions and of the case file (blueprint ``case_documents``).

* ``case_documents.student_document``: ``/cases/<id>/documents/<kind>.<ext>``, the student's own
  written decision (``kind`` "decision" or "appeal", ``ext`` "pdf" or "docx").
* ``case_documents.commission_document``: ``/commission/cases/<id>/documents/<kind>.<ext>``, the
  same for a member of the case's commission.
* ``case_documents.case_file``: ``/commission/cases/<id>/case-file.pdf``, the whole case in one
  printable PDF, in the member's language, made on request.

Anonymous visitors get 403. Anyone else who is not the case's student (for the first route) or a
member of its commission (for the others), another student or a teacher alike, gets 404, whether
or not the case or the document exists. A member recused from the case gets 403: they know the
case, but not its evidence.
"""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, Response, abort, g, send_file
from flask_babel import get_locale
from flask_babel import gettext as _

from appeals.cases import membership, recused_users
from appeals.documents import case_file_pdf, document_of
from appeals.models import DOCUMENT_KINDS, Case, DecisionDocument
from plugin.kernel.clock import now_utc
from plugin.kernel.errors import NotFound, NotPermitted
from plugin.kernel.users import Actor
from plugin.kernel.web import current_actor, db, send_stored_file

bp = Blueprint("case_documents", __name__)
EXTENSIONS = ("pdf", "docx")


def _actor() -> Actor:
    actor = current_actor()
    if actor is None or actor.user_id is None:
        abort(403)
    g.actor = actor
    return actor


def _case(case_id: int) -> Case:
    case = db().get(Case, case_id)
    if case is None:
        raise NotFound(_("There is no such case."))
    return case


def _member_case(case_id: int) -> Case:
    """A case of a commission the actor sits on; 404 otherwise, 403 when recused from it."""
    actor = _actor()
    case = _case(case_id)
    if membership(db(), actor, case.commission_id) is None:
        raise NotFound(_("There is no such case."))
    if actor.user_id in recused_users(db(), case.id or 0):
        raise NotPermitted(_("You are recused from this case and cannot act in it."))
    return case


def _document(case: Case, kind: str, ext: str) -> Response:
    if kind not in DOCUMENT_KINDS or ext not in EXTENSIONS:
        raise NotFound(_("There is no such file."))
    document: DecisionDocument | None = document_of(db(), case.id or 0, kind)
    if document is None:
        raise NotFound(_("There is no such file."))
    sha256 = document.pdf_sha256 if ext == "pdf" else document.docx_sha256
    return send_stored_file(sha256, f"{case.number}-{kind}.{ext}")


@bp.get("/cases/<int:case_id>/documents/<kind>.<ext>")
def student_document(case_id: int, kind: str, ext: str) -> Response:
    """The student's own written decision."""
    actor = _actor()
    case = _case(case_id)
    if case.student_id != actor.user_id:
        raise NotFound(_("There is no such case."))
    return _document(case, kind, ext)


@bp.get("/commission/cases/<int:case_id>/documents/<kind>.<ext>")
def commission_document(case_id: int, kind: str, ext: str) -> Response:
    return _document(_member_case(case_id), kind, ext)


@bp.get("/commission/cases/<int:case_id>/case-file.pdf")
def case_file(case_id: int) -> Response:
    case = _member_case(case_id)
    data = case_file_pdf(db(), case, now=now_utc(), language=str(get_locale() or "kk"))
    response = send_file(BytesIO(data), mimetype="application/pdf", as_attachment=True,
                         download_name=f"{case.number}-case-file.pdf", etag=False, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response

"""Pages of one signal (blueprint ``signals``): the plain-language explanation (S 6.4) and the
vendor's report as it was received.

Teachers of the course see them; the student who owns the work sees them once a flag on it has
been referred to the commission. Anyone else gets 404, whether or not the signal exists.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, render_template

from evidence.signals import CAVEAT, explain_signal, visible_signal
from plugin.kernel.errors import NotFound
from plugin.kernel.users import Role
from plugin.kernel.web import db, require_roles, send_stored_file

bp = Blueprint("signals", __name__, template_folder="templates")


@bp.get("/signals/<int:signal_id>/explain")
@require_roles(Role.TEACHER, Role.STUDENT)
def explain(signal_id: int) -> str:
    session = db()
    signal, submission, assignment = visible_signal(session, g.actor, signal_id)
    return render_template("evidence/signal_explain.html", explanation=explain_signal(session, signal),
                           signal=signal, submission=submission, assignment=assignment, caveat=CAVEAT)


@bp.get("/signals/<int:signal_id>/report")
@require_roles(Role.TEACHER, Role.STUDENT)
def report(signal_id: int) -> Response:
    signal, _submission, _assignment = visible_signal(db(), g.actor, signal_id)
    if not signal.report_sha256:
        raise NotFound()
    return send_stored_file(signal.report_sha256, signal.report_name or "report.json")

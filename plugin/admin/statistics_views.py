"""The statistics page of the admin console (``/admin/statistics``), its CSV and the monitoring
report PDF: every figure comes suppressed from ``plugin.admin.statistics.gather``.

The routes join the console's blueprint (``plugin.admin.auth.bp``), so they share its sign-in,
layout and menu; importing this module is what adds them (the app factory does it).

Thin views: parse the filter, read the figures, render. A filter that is not valid (an unknown
term, a date that is not one, a period that ends before it starts) is a 400 with the reason, and
nothing is read or changed.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, render_template, request
from flask_babel import gettext as _

from plugin.admin.auth import admin_required, bp
from plugin.admin.report import describe, disparity_rule, render_monitoring_report
from plugin.admin.statistics import Scope, Statistics, available_terms, bar_rows, gather, period_scope
from plugin.admin.suppression import MIN_COUNT, MIN_GROUP_FOR_TIMES
from plugin.kernel.errors import InvalidInput
from plugin.kernel.i18n import LANGUAGE_NAMES, LANGUAGES
from plugin.kernel.settings import get_setting
from plugin.kernel.web import db


def _term_scope() -> Scope:
    term = (request.args.get("term") or "").strip()
    if not term:
        return Scope()
    if term not in available_terms(db()):
        raise InvalidInput(_("There is no term %(term)s in the data.", term=term[:40]))
    return Scope(term=term)


def _date(name: str) -> date:
    value = (request.args.get(name) or "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("Give the dates as YYYY-MM-DD (for example 2027-01-31).")) from None


@bp.get("/statistics")
@admin_required
def statistics() -> str:
    scope = _term_scope()
    figures = gather(db(), scope)
    return render_template("admin/statistics.html", current="statistics", figures=figures, scope=scope,
                           bar_rows=bar_rows, describe=describe, disparity_rule=disparity_rule(),
                           min_count=MIN_COUNT, min_group=MIN_GROUP_FOR_TIMES,
                           report_languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES])


@bp.get("/statistics.csv")
@admin_required
def statistics_csv() -> Response:
    figures = gather(db(), _term_scope())
    body = statistics_as_csv(figures)
    response = Response(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = "attachment; filename=adal-statistics.csv"
    return response


@bp.get("/statistics/report.pdf")
@admin_required
def statistics_report() -> Response:
    zone = ZoneInfo(get_setting(db(), "institution.timezone"))
    scope = period_scope(_date("from"), _date("to"), zone)
    lang = request.args.get("lang") or "kk"
    if lang not in LANGUAGES:
        raise InvalidInput(_("The report is made in Kazakh, Russian or English."))
    pdf = render_monitoring_report(db(), scope, lang=lang, zone=zone)
    response = Response(pdf, mimetype="application/pdf")
    name = f"adal-monitoring-{scope.start:%Y%m%d}-{(scope.end - timedelta(days=1)):%Y%m%d}-{lang}.pdf"  # type: ignore[operator]
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response


def statistics_as_csv(figures: Statistics) -> str:
    """Every published figure, one per line: table, row, column, count (``hidden`` when hidden)."""
    out = io.StringIO()
    writer = csv.writer(out)
    hidden = _("hidden")
    total = _("Total")
    writer.writerow([_("Table"), _("Row"), _("Column"), _("Count")])

    def value(count: int | None) -> Any:
        return hidden if count is None else count

    for title, table in _two_way_tables(figures):
        for label, cells, row_total in table.rows():
            for column, count in zip(table.column_labels, cells, strict=True):
                writer.writerow([title, str(label), str(column), value(count)])
            writer.writerow([title, str(label), total, value(row_total)])
        for column, count in table.column_line():
            writer.writerow([title, total, str(column), value(count)])
        writer.writerow([title, total, total, value(table.published.total)])
    for title, line in _one_way_lines(figures):
        for label, count in line.items():
            writer.writerow([title, str(label), "", value(count)])
        writer.writerow([title, total, "", value(line.published.total)])
    return out.getvalue()


def _two_way_tables(figures: Statistics) -> list[tuple[str, Any]]:
    return [(_("Cases by outcome and incident level"), figures.outcomes),
            (_("Cases by term and language of the work"), figures.term_language),
            (_("Submissions by term and language"), figures.usage)]


def _one_way_lines(figures: Statistics) -> list[tuple[str, Any]]:
    return [(_("Cases by course"), figures.courses), (_("Cases by commission (faculty)"), figures.commissions),
            (_("Appeals by outcome"), figures.appeals), (_("Flags by state"), figures.flags)]

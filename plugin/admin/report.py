"""The monitoring report (S 9.3): a PDF for the head of the institution, at least twice a year,
with the use of Adal, appeals and complaints, and incident statistics for a period, in kk, ru or
en. Every figure is the suppressed one from ``plugin.admin.statistics.gather``: the report shows
nothing the statistics page would hide, and names no person.

Drawn with reportlab in DejaVu Sans (embedded, so Kazakh letters show and extract), like the
attribution appendix.
"""

from __future__ import annotations

import io
import math
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlmodel import Session

from plugin.admin.statistics import (
    ALPHA,
    MARKED_RATIO,
    MIN_SUBMISSIONS,
    Chart,
    Line,
    RateComparison,
    Scope,
    Statistics,
    Table,
    bar_rows,
    gather,
)
from plugin.admin.suppression import MIN_COUNT, MIN_GROUP_FOR_TIMES
from plugin.kernel.clock import now_utc
from plugin.kernel.errors import AdalError
from plugin.kernel.settings import SettingError, get_setting

_FONT_DIRS = (  # Debian/Ubuntu (fonts-dejavu-core), Fedora, Arch
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/TTF"),
)
_FONT, _BOLD = "AdalReportDejaVuSans", "AdalReportDejaVuSans-Bold"
_INK, _MUTED, _ACCENT, _LINE = "#1b1f24", "#4a5360", "#0b5cad", "#d6dbe1"


class ReportError(AdalError):
    """The report cannot be drawn on this machine (its font is missing)."""

    status = 500


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont(_FONT, str(regular)))
            pdfmetrics.registerFont(TTFont(_BOLD, str(bold)))
            return
    raise ReportError("the DejaVu Sans font is not installed (Debian: apt-get install fonts-dejavu-core)")


# -- words shared with the page -------------------------------------------------------------------
def disparity_rule() -> str:
    return _("A difference is marked when each group has at least %(n)d submissions, one group's cases per "
             "submission are at least %(ratio)s times the other's, and a two-proportion test gives p < %(alpha)s. "
             "Cases are those opened in the period or term; submissions, every version handed in.",
             n=MIN_SUBMISSIONS, ratio=_number(MARKED_RATIO), alpha=_number(ALPHA, 2))


def _number(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def _per_hundred(rate: float | None) -> str:
    return "" if rate is None else _number(100 * rate)


def describe(comparison: RateComparison) -> str:
    """One sentence on one comparison, in the current language."""
    a, b = str(comparison.label_a), str(comparison.label_b)
    if comparison.verdict == "too_few":
        return _("%(a)s and %(b)s: too few submissions to compare (each group needs at least %(n)d).",
                 a=a, b=b, n=MIN_SUBMISSIONS)
    if not comparison.shown:
        if comparison.verdict == "marked":
            high, low = (a, b) if comparison.higher == "a" else (b, a)
            return _("Marked difference: cases per submission are markedly higher for %(high)s than for %(low)s. "
                     "The rates are not shown, because they would reveal a hidden count.", high=high, low=low)
        return _("No marked difference between %(a)s and %(b)s. The rates are not shown, because they would "
                 "reveal a hidden count.", a=a, b=b)
    ratio = "∞" if comparison.ratio is None or math.isinf(comparison.ratio) else _number(comparison.ratio)
    p_value = comparison.p_value if comparison.p_value is not None else 1.0
    p_text = "< 0.001" if p_value < 0.001 else f"= {p_value:.3f}"
    rates = _("%(a)s: %(ra)s cases per 100 submissions; %(b)s: %(rb)s (ratio %(ratio)s, p %(p)s).",
              a=a, ra=_per_hundred(comparison.rate_a), b=b, rb=_per_hundred(comparison.rate_b), ratio=ratio, p=p_text)
    if comparison.verdict == "marked":
        return _("Marked difference. %(rates)s", rates=rates)
    return _("No marked difference. %(rates)s", rates=rates)


# -- the PDF --------------------------------------------------------------------------------------
def render_monitoring_report(session: Session, scope: Scope, *, lang: str, zone: ZoneInfo,
                             now: datetime | None = None) -> bytes:
    """The report for ``scope`` (a period: ``start`` and ``end`` set) in ``lang``, as PDF bytes.
    Reads only; raises ``ReportError`` when the font is missing. Needs an app context (the
    translations)."""
    if scope.start is None or scope.end is None:
        raise ValueError("the monitoring report covers a period")
    _register_fonts()
    made = now or now_utc()
    with force_locale(lang):
        figures = gather(session, scope)
        try:
            institution = str(get_setting(session, "system_card.institution") or "")
        except SettingError:
            institution = ""
        return _draw(figures, lang=lang, zone=zone, made=made, institution=institution)


def _draw(figures: Statistics, *, lang: str, zone: ZoneInfo, made: datetime, institution: str) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    scope = figures.scope
    assert scope.start is not None and scope.end is not None
    first = scope.start.astimezone(zone).date()
    last = (scope.end.astimezone(zone) - timedelta(days=1)).date()
    styles = {
        "title": ParagraphStyle("title", fontName=_BOLD, fontSize=16, leading=20, spaceAfter=6, textColor=_INK),
        "h2": ParagraphStyle("h2", fontName=_BOLD, fontSize=12.5, leading=16, spaceBefore=10, spaceAfter=4,
                             textColor=_INK),
        "h3": ParagraphStyle("h3", fontName=_BOLD, fontSize=10, leading=13, spaceBefore=6, spaceAfter=2,
                             textColor=_INK),
        "body": ParagraphStyle("body", fontName=_FONT, fontSize=9.5, leading=12.5, spaceAfter=4, textColor=_INK),
        "small": ParagraphStyle("small", fontName=_FONT, fontSize=8, leading=10, textColor=_MUTED),
        "cell": ParagraphStyle("cell", fontName=_FONT, fontSize=7.5, leading=9, textColor=_INK),
        "cellb": ParagraphStyle("cellb", fontName=_BOLD, fontSize=7.5, leading=9, textColor=_INK),
    }

    def p(text: str, style: str = "body") -> Any:
        return Paragraph(escape(text), styles[style])

    width = A4[0] - 36 * mm
    story: list[Any] = [
        p(_("Monitoring report on the use of Adal"), "title"),
        p(_("Period: %(first)s to %(last)s", first=f"{first:%d.%m.%Y}", last=f"{last:%d.%m.%Y}")),
    ]
    if institution:
        story.append(p(_("Organisation: %(name)s", name=institution)))
    story += [
        p(_("Made on %(date)s for the head of the organisation (S 9.3: at least twice a year).",
            date=f"{made.astimezone(zone):%d.%m.%Y}")),
        p(_("No person is named in this report. Counts from 1 to %(n)d are hidden, and so are other counts that "
            "would let them be worked out from the totals; such counts read “hidden”. Times are shown only for "
            "a group of at least %(m)d decisions.", n=MIN_COUNT - 1, m=MIN_GROUP_FOR_TIMES), "small"),
        p(_("Use of Adal"), "h2"),
        _table(_("Submissions by term and language"), figures.usage, _("Term"), styles, width),
        _chart(_("Flags by state"), bar_rows(figures.flags.items()), styles, width),
        _line(_("Flags by state"), figures.flags, _("State"), styles, width),
        p(_("Incident statistics"), "h2"),
        _chart(_("Cases by outcome"), bar_rows(figures.outcomes.row_line()), styles, width),
        _chart(_("Cases by incident level"), bar_rows(figures.outcomes.column_line()), styles, width),
        _table(_("Cases by outcome and incident level"), figures.outcomes, _("Outcome"), styles, width),
        _table(_("Cases by term and language of the work"), figures.term_language, _("Term"), styles, width),
        _line(_("Cases by course"), figures.courses, _("Course"), styles, width),
        p(_("Courses carry no faculty in the LMS data, so the faculty breakdown is by commission: each commission "
            "serves the institution or one faculty."), "small"),
        _line(_("Cases by commission (faculty)"), figures.commissions, _("Commission"), styles, width),
        p(_("Days from the flag to the decision"), "h3"),
        _times(figures, styles, width),
        p(_("Appeals and complaints"), "h2"),
        _chart(_("Appeals by outcome"), bar_rows(figures.appeals.items()), styles, width),
        _line(_("Appeals by outcome"), figures.appeals, _("Outcome"), styles, width),
        p(_("Adal records appeals against the commission's decisions and objections to its members; other "
            "complaints are received outside Adal and are not counted here."), "small"),
        p(_("Disparity check"), "h2"),
        p(disparity_rule(), "small"),
        p(describe(figures.languages_compared)),
        *[p(describe(c)) for c in figures.courses_compared],
        Spacer(1, 4),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=_("Monitoring report on the use of Adal"), author="Adal",
                            lang=lang, initialFontName=_FONT)  # no unused, unembedded Helvetica
    doc.build(story)
    return out.getvalue()


def _shown(value: int | None) -> str:
    return _("hidden") if value is None else str(value)


def _grid(rows: list[list[str]], styles: dict[str, Any], widths: list[float], caption: str) -> Any:
    from reportlab.platypus import KeepTogether, Paragraph, TableStyle
    from reportlab.platypus import Table as PdfTable

    cells = [[Paragraph(escape(text), styles["cellb" if r == 0 or c == 0 or r == len(rows) - 1 else "cell"])
              for c, text in enumerate(row)] for r, row in enumerate(rows)]
    table = PdfTable(cells, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, _LINE),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, _INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), _FONT),
        ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]))
    return KeepTogether([Paragraph(escape(caption), styles["h3"]), table])


def _table(caption: str, table: Table, corner: str, styles: dict[str, Any], width: float) -> Any:
    header = [corner, *map(str, table.column_labels), _("Total")]
    rows = [[str(label), *map(_shown, cells), _shown(total)] for label, cells, total in table.rows()]
    footer = [_("Total"), *map(_shown, table.published.column_totals), _shown(table.published.total)]
    first = min(width * 0.22, 40 * 2.835)
    rest = (width - first) / (len(header) - 1)
    return _grid([header, *rows, footer], styles, [first, *[rest] * (len(header) - 1)], caption)


def _line(caption: str, line: Line, heading: str, styles: dict[str, Any], width: float) -> Any:
    rows = [[heading, _("Count")], *[[str(label), _shown(value)] for label, value in line.items()],
            [_("Total"), _shown(line.published.total)]]
    return _grid(rows, styles, [width * 0.75, width * 0.25], caption)


def _times(figures: Statistics, styles: dict[str, Any], width: float) -> Any:
    rows = [[_("Cases"), _("Lower quartile"), _("Median"), _("Upper quartile")]]
    for figure in figures.times:
        d = figure.durations
        rows.append([str(figure.label), *((_number(d.lower_quartile), _number(d.median), _number(d.upper_quartile))
                                          if d else (_("Too few decisions to show"), "", ""))])
    rows.append([_("In days."), "", "", ""])
    return _grid(rows, styles, [width * 0.4, width * 0.2, width * 0.2, width * 0.2],
                 _("Days from the flag to the decision"))


def _chart(title: str, chart: Chart, styles: dict[str, Any], width: float) -> Any:
    """The page's bar chart, drawn with the same geometry; its numbers are in the table after it."""
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib import colors
    from reportlab.platypus import KeepTogether, Paragraph

    scale = min(1.3, width / chart.width)
    drawing = Drawing(chart.width * scale, chart.height * scale, initialFontName=_FONT)
    for bar in chart.bars:
        base = chart.height - bar.top  # reportlab's y grows upwards

        def at(y: float) -> float:
            return (base - y) * scale  # noqa: B023  (used at once, inside this iteration)

        drawing.add(String(0, at(13), str(bar.label)[:70], fontName=_FONT, fontSize=8.5,
                           fillColor=colors.HexColor(_INK)))
        if bar.value is None:
            drawing.add(String(0, at(31), _("hidden"), fontName=_FONT, fontSize=8.5,
                               fillColor=colors.HexColor(_MUTED)))
            continue
        if bar.length:
            drawing.add(Rect(0, at(34), bar.length * scale, 14 * scale, fillColor=colors.HexColor(_ACCENT),
                             strokeColor=None))
        drawing.add(String((bar.length + 4) * scale, at(31), str(bar.value), fontName=_FONT, fontSize=8.5,
                           fillColor=colors.HexColor(_INK)))
    return KeepTogether([Paragraph(escape(title), styles["h3"]), drawing])

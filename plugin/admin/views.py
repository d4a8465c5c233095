"""The admin console's pages (blueprint ``admin``, under ``/admin/``): overview, institution
settings, the usage journal, integrations, commissions, platforms and registration links,
notices. Each page calls the same service as the matching ``adal`` command; every POST is
CSRF-checked (the app's CSRFProtect) and its service writes the audit entry, with the actor
``system:admin:<username>``.

Thin views: parse the form, call one service, redirect with a message. A refused form comes back
as its page with the problems (400), and the request boundary rolls back, so nothing changed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from plugin.admin.auth import FLASH, admin_actor, admin_required, bp, current_admin
from plugin.admin.journal import JournalError, JournalInput, add_entry, edit_entry, get_entry, journal_csv, list_entries
from plugin.kernel.clock import now_utc
from plugin.kernel.errors import InvalidInput, NotFound
from plugin.kernel.settings import SPECS, SettingError, get_setting, list_settings, parse_setting_text, set_setting
from plugin.kernel.web import db

SECTIONS = (
    ("admin.overview", "overview"),
    ("admin.settings", "settings"),
    ("admin.journal", "journal"),
    ("admin.integrations", "integrations"),
    ("admin.commissions", "commissions"),
    ("admin.platforms", "platforms"),
    ("admin.notices", "notices"),
    ("admin.statistics", "statistics"),  # other console pages, listed when their module is installed
    ("admin.retention", "retention"),
)


@bp.context_processor
def _console() -> dict[str, Any]:
    titles = {"overview": _("Overview"), "settings": _("Institution settings"), "journal": _("Usage journal"),
              "integrations": _("Integrations"), "commissions": _("Commissions"),
              "platforms": _("Platforms"), "notices": _("Notices"), "statistics": _("Statistics"),
              "retention": _("Retention")}
    return {"admin_sections": [(endpoint, titles[name]) for endpoint, name in SECTIONS
                               if endpoint in current_app.view_functions],
            "admin_account": current_admin}


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


def _done(message: str, endpoint: str, **values: Any) -> Response:
    flash(message, FLASH)
    return redirect(url_for(endpoint, **values), code=303)


# -- overview -----------------------------------------------------------------------------------
@bp.get("/")
@admin_required
def overview() -> str:
    from appeals.commissions import list_commissions
    from evidence.integrations import list_integrations
    from lti.registry import list_platforms
    from plugin.kernel.notices import current_version

    session = db()
    counts = {
        "platforms": len(list_platforms(session)),
        "integrations": sum(1 for found, _count in list_integrations(session) if found.active),
        "commissions": len(list_commissions(session)),
        "journal": len(list_entries(session)),
    }
    return render_template("admin/overview.html", counts=counts, notice=current_version(session), current="overview")


# -- institution settings -----------------------------------------------------------------------
def _shown(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _settings_page(values: dict[str, str], errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    rows = [(spec, values.get(spec.key, _shown(value)), changed, spec.key.replace(".", "-"))
            for spec, value, changed in list_settings(db())]
    return _render("admin/settings.html", status, rows=rows, errors=errors, current="settings")


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings() -> Any:
    if request.method == "GET":
        return _settings_page({}, {})
    session, actor, now = db(), admin_actor(), now_utc()
    typed = {key: request.form.get(key, "") for key in SPECS if key in request.form}
    errors: dict[str, str] = {}
    changed = []
    for key, text in typed.items():
        try:
            value = parse_setting_text(key, text.strip())
            if value != get_setting(session, key):
                set_setting(session, actor, key, value, now=now)
                changed.append(key)
        except SettingError as exc:
            errors[key.replace(".", "-")] = str(exc)
    if errors:
        return _settings_page(typed, errors, 400)
    return _done(ngettext("%(num)d setting saved.", "%(num)d settings saved.", len(changed)), "admin.settings")


# -- usage journal ------------------------------------------------------------------------------
def _journal_input() -> JournalInput:
    form = request.form
    return JournalInput(system_name=form.get("system_name", ""), scenario=form.get("scenario", ""),
                        responsible_unit=form.get("responsible_unit", ""),
                        decision_number=form.get("decision_number", ""), decision_date=form.get("decision_date", ""),
                        note=form.get("note", ""))


@bp.route("/journal", methods=["GET", "POST"])
@admin_required
def journal() -> Any:
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = _journal_input()
        try:
            add_entry(db(), admin_actor(), data, now=now_utc())
        except JournalError as exc:
            values, errors = dict(data.__dict__), exc.problems
        else:
            return _done(_("The entry was added to the usage journal."), "admin.journal")
    return _render("admin/journal.html", 400 if errors else 200, entries=list_entries(db()), values=values,
                   errors=errors, current="journal")


@bp.route("/journal/<int:entry_id>", methods=["GET", "POST"])
@admin_required
def journal_entry(entry_id: int) -> Any:
    entry = get_entry(db(), entry_id)
    errors: dict[str, str] = {}
    values = {"system_name": entry.system_name, "scenario": entry.scenario, "responsible_unit": entry.responsible_unit,
              "decision_number": entry.decision_number, "decision_date": entry.decision_date.isoformat(),
              "note": entry.note or ""}
    if request.method == "POST":
        data = _journal_input()
        try:
            edit_entry(db(), admin_actor(), entry_id, data, now=now_utc())
        except JournalError as exc:
            values, errors = dict(data.__dict__), exc.problems
        else:
            return _done(_("The journal entry was saved."), "admin.journal")
    return _render("admin/journal_entry.html", 400 if errors else 200, entry=entry, values=values, errors=errors,
                   current="journal")


@bp.get("/journal.csv")
@admin_required
def journal_export() -> Response:
    body = journal_csv(list_entries(db()))
    response = Response(body.encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="adal-usage-journal.csv"'
    return response


# -- integrations -------------------------------------------------------------------------------
def _integrations_page(status: int = 200, **context: Any) -> tuple[str, int]:
    from evidence.integrations import list_integrations

    context.setdefault("errors", {})
    context.setdefault("issued", None)
    return _render("admin/integrations.html", status, rows=list_integrations(db()), current="integrations",
                   **context)


@bp.route("/integrations", methods=["GET", "POST"])
@admin_required
def integrations() -> Any:
    from evidence.integrations import add_integration

    if request.method == "GET":
        return _integrations_page()
    name = request.form.get("name", "")
    try:
        issued = add_integration(db(), admin_actor(), name, now=now_utc())
    except InvalidInput as exc:
        return _integrations_page(400, errors={"name": str(exc)}, name=name)
    # Shown in this answer only: the token and the secret are not kept in clear anywhere.
    return _integrations_page(issued=issued)


@bp.post("/integrations/revoke")
@admin_required
def integration_revoke() -> Any:
    from evidence.integrations import revoke_integration

    name = request.form.get("name", "")
    try:
        revoke_integration(db(), admin_actor(), name, now=now_utc())
    except (InvalidInput, NotFound) as exc:
        return _integrations_page(400, errors={"revoke": str(exc)})
    return _done(_("Integration %(name)s revoked: its token no longer works.", name=name.strip()),
                 "admin.integrations")


# -- commissions --------------------------------------------------------------------------------
def _commissions_page(status: int = 200, **context: Any) -> tuple[str, int]:
    from appeals.commissions import list_commissions, role_title

    context.setdefault("errors", {})
    context.setdefault("values", {})
    return _render("admin/commissions.html", status, listings=list_commissions(db()), role_title=role_title,
                   current="commissions", **context)


@bp.route("/commissions", methods=["GET", "POST"])
@admin_required
def commissions() -> Any:
    from appeals.commissions import create_commission

    if request.method == "GET":
        return _commissions_page()
    name, scope = request.form.get("name", ""), request.form.get("scope", "") or "institution"
    try:
        found = create_commission(db(), admin_actor(), name, scope=scope, now=now_utc())
    except InvalidInput as exc:
        return _commissions_page(400, errors={"name": str(exc)}, values={"name": name, "scope": scope})
    return _done(_("Commission %(name)s created.", name=found.name), "admin.commissions")


@bp.post("/commissions/members")
@admin_required
def commission_member_add() -> Any:
    from appeals.commissions import add_member, role_title

    form = request.form
    values = {name: form.get(name, "") for name in ("commission", "issuer", "subject", "role", "display_name")}
    try:
        seat = add_member(db(), admin_actor(), values["commission"], issuer=values["issuer"],
                          subject=values["subject"], role=values["role"], display_name=values["display_name"] or None,
                          now=now_utc())
    except (InvalidInput, NotFound) as exc:
        return _commissions_page(400, errors={"member": str(exc)}, values=values)
    return _done(_("%(person)s is on %(commission)s as %(role)s.", person=seat.user.display_name,
                   commission=values["commission"].strip(), role=role_title(values["role"])), "admin.commissions")


@bp.post("/commissions/members/remove")
@admin_required
def commission_member_remove() -> Any:
    from appeals.commissions import remove_member

    form = request.form
    try:
        seat = remove_member(db(), admin_actor(), form.get("commission", ""), issuer=form.get("issuer", ""),
                             subject=form.get("subject", ""), now=now_utc())
    except (InvalidInput, NotFound) as exc:
        return _commissions_page(400, errors={"remove": str(exc)})
    return _done(_("%(person)s is no longer on %(commission)s.", person=seat.user.display_name,
                   commission=form.get("commission", "").strip()), "admin.commissions")


# -- platforms and registration links -----------------------------------------------------------
PLATFORM_FIELDS = ("issuer", "client_id", "deployment_id", "keyset_url", "auth_login_url", "auth_token_url",
                   "audience")


def _platforms_page(status: int = 200, **context: Any) -> tuple[str, int]:
    from lti.registry import list_platforms

    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("link", None)
    return _render("admin/platforms.html", status, rows=list_platforms(db()), current="platforms", **context)


@bp.route("/platforms", methods=["GET", "POST"])
@admin_required
def platforms() -> Any:
    from lti.registry import add_platform

    if request.method == "GET":
        return _platforms_page()
    values = {name: request.form.get(name, "").strip() for name in PLATFORM_FIELDS}
    auto = request.form.get("auto_register_deployments") == "1"
    try:
        found = add_platform(db(), admin_actor(), issuer=values["issuer"], client_id=values["client_id"],
                             deployment_id=values["deployment_id"], keyset_url=values["keyset_url"],
                             auth_login_url=values["auth_login_url"], auth_token_url=values["auth_token_url"],
                             auth_audience=values["audience"] or None, auto_register_deployments=auto,
                             now=now_utc())
    except InvalidInput as exc:
        return _platforms_page(400, errors={"platform": str(exc)}, values=values)
    return _done(_("Platform %(issuer)s (client %(client)s) registered with deployment %(deployment)s.",
                   issuer=found.issuer, client=found.client_id, deployment=values["deployment_id"]),
                 "admin.platforms")


@bp.post("/platforms/remove")
@admin_required
def platform_remove() -> Any:
    from lti.registry import remove_platform

    try:
        remove_platform(db(), admin_actor(), issuer=request.form.get("issuer", ""),
                        client_id=request.form.get("client_id", ""), now=now_utc())
    except NotFound as exc:
        return _platforms_page(400, errors={"remove": str(exc)})
    return _done(_("Platform removed."), "admin.platforms")


@bp.post("/platforms/registration-link")
@admin_required
def registration_link() -> Any:
    from lti.dynreg import create_registration_link

    raw = request.form.get("valid_hours", "24").strip()
    if not raw.isdecimal() or not 1 <= int(raw) <= 24 * 14:
        return _platforms_page(400, errors={"valid_hours": _("Give a number of hours from 1 to 336.")})
    hours = int(raw)
    token = create_registration_link(db(), admin_actor(), now=now_utc(), valid_for=timedelta(hours=hours))
    base = (current_app.config.get("ADAL_BASE_URL") or request.url_root).rstrip("/")
    # Shown in this answer only: the database keeps the token's hash.
    return _platforms_page(link={"url": f"{base}/lti/register/{token}", "hours": hours})


# -- notices ------------------------------------------------------------------------------------
def _notices_page(status: int = 200, **context: Any) -> tuple[str, int]:
    from plugin.kernel.notices import current_version, versions

    context.setdefault("errors", {})
    return _render("admin/notices.html", status, rows=versions(db()), current_notice=current_version(db()),
                   current="notices", **context)


@bp.route("/notices", methods=["GET", "POST"])
@admin_required
def notices() -> Any:
    from plugin.kernel.notices import current_version, publish_notice

    if request.method == "GET":
        return _notices_page()
    session = db()
    lang = request.form.get("lang", "")
    upload = request.files.get("file")
    if lang not in ("kk", "ru", "en"):
        return _notices_page(400, errors={"lang": _("Choose the language of the notice.")})
    if upload is None or not upload.filename:
        return _notices_page(400, errors={"file": _("Choose the notice's TOML file.")})
    try:
        text = upload.read().decode("utf-8")
        needs_plain = get_setting(session, "institution.type") in ("school", "college")
        published = publish_notice(session, admin_actor(), text, lang=lang, require_adapted=needs_plain,
                                   now=now_utc())
    except UnicodeDecodeError:
        return _notices_page(400, errors={"file": _("The file is not UTF-8 text.")})
    except InvalidInput as exc:
        return _notices_page(400, errors={"file": str(exc)})
    message = _("Published version %(version)d in %(lang)s.", version=published.version, lang=lang)
    if current_version(session) != published.version:
        message += " " + _("Version %(version)d becomes current once it is published in both kk and ru.",
                           version=published.version)
    return _done(message, "admin.notices")

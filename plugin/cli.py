"""The ``adal`` command. Each command builds the app from the environment (``ADAL_*``)."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy.engine import make_url

from plugin.app import create_app
from plugin.config import ConfigError, load_config
from plugin.kernel import audit
from plugin.kernel.clock import now_utc
from plugin.kernel.db import READ_ONLY
from plugin.kernel.errors import InvalidInput
from plugin.kernel.i18n import LANGUAGES, normalise
from plugin.kernel.runtime import Runtime
from plugin.kernel.settings import SettingError, get_setting, list_settings, parse_setting_text, set_setting
from plugin.kernel.users import Actor


def cli_language() -> str:
    """ADAL_LANG, else the language of LANG when it is kk or ru, else English (a server console)."""
    for variable in ("ADAL_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        chosen = normalise(os.environ.get(variable))
        if chosen in LANGUAGES:
            return chosen
    return "en"


@contextmanager
def _app() -> Iterator[Flask]:
    try:
        app = create_app(load_config())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    with app.app_context(), force_locale(cli_language()):
        yield app


def _runtime(app: Flask) -> Runtime:
    return app.extensions["adal.runtime"]  # type: ignore[no-any-return]


def _cli_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor.system(f"cli:{user}")


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _schema_is_current(runtime: Runtime) -> bool:
    from alembic.script import ScriptDirectory

    from plugin.migrations import alembic_config, current_heads

    heads = set(ScriptDirectory.from_config(alembic_config(runtime.engine)).get_heads())
    return current_heads(runtime.engine) == heads


@click.group(help="Adal: academic integrity and AI-use disclosure for Moodle and Canvas (LTI 1.3).")
def main() -> None:
    pass


@main.command(help="Create the instance folder, keys and database (safe to run again).")
def init() -> None:
    from plugin.migrations import upgrade

    with _app() as app:
        runtime = _runtime(app)
        upgrade(runtime.engine)
        runtime.files.root.mkdir(parents=True, exist_ok=True)
        from lti.keys import signing_key

        with runtime.session() as session:
            signing_key(session, now=now_utc())  # so that /lti/jwks has a key before any LMS asks
            session.commit()
        config = app.config["ADAL_CONFIG"]
        click.echo(_("Instance folder: %(path)s", path=str(config.instance_path)))
        click.echo(_("Database: %(url)s", url=_safe_url(config.database_url)))
        click.echo(_("File store: %(path)s", path=str(runtime.files.root)))
        click.echo(_("Adal is ready."))


@main.command(help="Adal with a built-in demo LMS on 127.0.0.1, to try every role without Moodle or Canvas.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def demo(port: int) -> None:
    from dataclasses import replace

    from werkzeug.serving import run_simple

    from plugin.demo import install_demo
    from plugin.migrations import upgrade

    try:
        # Loopback only, and Adal's address is the loopback one whatever ADAL_BASE_URL says.
        config = replace(load_config(), base_url=None)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    app = create_app(config)
    upgrade(app.extensions["adal.runtime"].engine)
    base = f"http://127.0.0.1:{port}"
    install_demo(app, base)
    from plugin.admin.demo import install_demo_admin

    install_demo_admin(app)  # shown on the demo page, so that the admin console can be tried
    with app.app_context(), force_locale(cli_language()):
        click.echo(_("Adal demo: open %(url)s in your browser (Ctrl+C stops it).", url=f"{base}/demo/"))
    # One process, threads: the demo LMS keeps its gradebook in memory.
    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False)


@main.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply every pending migration.")
def db_upgrade() -> None:
    from plugin.migrations import current_revision, upgrade

    with _app() as app:
        runtime = _runtime(app)
        upgrade(runtime.engine)
        click.echo(_("Database schema is at revision %(rev)s.", rev=current_revision(runtime.engine) or "-"))


@main.command(help="Run the web server (gunicorn).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--access-log", is_flag=True,
              help="Log every request to standard output (the reverse proxy usually does).")
def serve(host: str, port: int, workers: int, threads: int, access_log: bool) -> None:
    with _app() as app:
        if not _schema_is_current(_runtime(app)):
            raise click.ClickException(_("The database schema is not up to date: run `adal db upgrade` first."))
    runner = _start_job_runner() if load_config().copy_mode == "background" else None
    try:
        run_gunicorn(f"{host}:{port}", workers=workers, threads=threads, access_log=access_log)
    finally:
        if runner is not None:
            runner.terminate()
            runner.wait(timeout=30)


def run_gunicorn(bind: str, *, workers: int, threads: int, access_log: bool = False) -> None:
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {"bind": bind, "workers": workers, "threads": threads, "worker_class": "gthread",
                               "accesslog": "-" if access_log else None, "timeout": 60,
                               "graceful_timeout": 10}.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return create_app(load_config())  # in each worker: nothing is built before the fork

    _Server().run()


@main.group(help="Work done after the response (stamped copies of submissions in background mode).")
def jobs() -> None:
    pass


@jobs.command("run", help="Make every pending stamped copy; with --watch, keep doing so (adal serve starts this "
                          "when ADAL_COPY_MODE=background).")
@click.option("--watch", is_flag=True, help="Keep running, looking for new work every --interval seconds.")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.1, 3600))
def jobs_run(watch: bool, interval: float) -> None:
    import time

    from attribution.submissions import finish_copies, pending_copies

    with _app() as app:
        runtime = _runtime(app)
        done = 0
        while True:
            with runtime.session() as session:
                waiting = pending_copies(session)
            for submission_id in waiting:
                with runtime.session() as session:
                    if finish_copies(session, submission_id, now=now_utc()):
                        done += 1
                    session.commit()
            if not watch:
                break
            if not waiting:
                time.sleep(interval)
        click.echo(ngettext("%(num)d submission's copies made.", "%(num)d submissions' copies made.", done))


@main.group("deadlines", help="Case deadlines: a response time that ended, an appeal window that closed.")
def deadlines() -> None:
    pass


@deadlines.command("run", help="Move the cases whose deadline passed (idempotent: run it from cron, e.g. every "
                               "15 minutes); a decision whose appeal window closed becomes final and takes effect.")
def deadlines_run() -> None:
    from appeals.appeal import run_deadlines
    from appeals.effects import send_effects, unsent_cases

    with _app() as app:
        runtime = _runtime(app)
        now = now_utc()
        with runtime.session() as session:
            fired = run_deadlines(session, now=now)
            session.commit()
            unsent = unsent_cases(session)  # this run's, and any the LMS refused before: sent again
        for case_id in unsent:
            send_effects(runtime, case_id, now=now)
        click.echo(ngettext("%(num)d case moved past its deadline.", "%(num)d cases moved past their deadline.",
                            len(fired)))


def _start_job_runner() -> Any:
    """``adal jobs run --watch`` beside the web workers, at a lower CPU priority, so a burst of
    submissions is answered first and copied right after."""
    import subprocess

    adal = Path(sys.executable).parent / "adal"  # the console script installed beside this Python
    # preexec_fn is safe here: no thread has been started in this process yet
    return subprocess.Popen([str(adal), "jobs", "run", "--watch"],  # noqa: S603  (our own command, fixed arguments)
                            preexec_fn=lambda: os.nice(10))


@main.group("audit", help="The tamper-evident audit log.")
def audit_group() -> None:
    pass


@audit_group.command("verify", help="Check the whole chain; exit 1 and name the first bad entry.")
def audit_verify() -> None:
    with _app() as app:
        runtime = _runtime(app)
        with runtime.session() as session:
            session.connection(execution_options=READ_ONLY)  # a long read must not hold writers up
            result = audit.verify(session, runtime.audit)
        if not result.ok:
            click.echo(_("Audit log FAILED verification: %(problem)s", problem=result.problem), err=True)
            sys.exit(1)
        click.echo(ngettext("Audit log verified: %(num)d entry, chain intact.",
                            "Audit log verified: %(num)d entries, chain intact.", result.entries))
        if result.note:
            click.echo(result.note)


@main.group("files", help="The content-addressed file store.")
def files_group() -> None:
    pass


@files_group.command("verify", help="Re-hash every stored file; exit 1 on any mismatch.")
def files_verify() -> None:
    with _app() as app:
        problems = _runtime(app).files.verify()
        for problem in problems:
            click.echo(problem, err=True)
        if problems:
            sys.exit(1)
        click.echo(_("File store verified."))


@main.group("decisions", help="Written decisions of the commission (DOCX and PDF, kept on file).")
def decisions_group() -> None:
    pass


@decisions_group.command("verify", help="Check every written decision against the recorded decision and the file "
                                        "store; exit 1 on any mismatch.")
def decisions_verify() -> None:
    from appeals.documents import verify_all

    with _app() as app:
        with _runtime(app).session() as session:
            session.connection(execution_options=READ_ONLY)
            count, problems = verify_all(session)
        for problem in problems:
            click.echo(problem, err=True)
        if problems:
            sys.exit(1)
        click.echo(ngettext("%(num)d written decision verified: it matches the recorded decision.",
                            "%(num)d written decisions verified: they match the recorded decisions.", count))


@main.group(help="Institution settings (stored in the database).")
def settings() -> None:
    pass


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@settings.command("list", help="Every setting with its value and description.")
def settings_list() -> None:
    with _app() as app, _runtime(app).session() as session:
        for spec, value, changed in list_settings(session):
            marker = "*" if changed else " "
            click.echo(f"{marker} {spec.key} = {_show(value)}")
            click.echo(f"    {spec.help}")
        click.echo(_("* changed from the default"))


@settings.command("get", help="Print one setting's value as JSON.")
@click.argument("key")
def settings_get(key: str) -> None:
    with _app() as app, _runtime(app).session() as session:
        try:
            click.echo(_show(get_setting(session, key)))
        except SettingError as exc:
            raise click.ClickException(str(exc)) from None


@settings.command("set", help="Set a setting; VALUE is JSON (a plain word is taken as text).")
@click.argument("key")
@click.argument("value")
def settings_set(key: str, value: str) -> None:
    with _app() as app, _runtime(app).session() as session:
        try:
            clean = set_setting(session, _cli_actor(), key, parse_setting_text(key, value), now=now_utc())
        except SettingError as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(f"{key} = {_show(clean)}")


@main.group(help="The institution's notice on AI use and personal data (S 6.1, B.1), in versions.")
def notice() -> None:
    pass


@notice.command("publish", help="Publish one language of a notice version from a TOML file "
                                "(see plugin/demo/notices/ for the fields). A version is current once "
                                "it is published in kk and ru.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lang", "lang", required=True, type=click.Choice(["kk", "ru", "en"]))
def notice_publish(file: Path, lang: str) -> None:
    from plugin.kernel.notices import current_version, publish_notice

    with _app() as app, _runtime(app).session() as session:
        needs_plain = get_setting(session, "institution.type") in ("school", "college")
        try:
            text = file.read_text(encoding="utf-8")
            published = publish_notice(session, _cli_actor(), text, lang=lang, require_adapted=needs_plain,
                                       now=now_utc())
        except (InvalidInput, UnicodeDecodeError) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        current = current_version(session)
        click.echo(_("Published version %(version)d in %(lang)s.", version=published.version, lang=lang))
        if current == published.version:
            click.echo(_("Version %(version)d is the current notice.", version=current))
        else:
            click.echo(_("Version %(version)d becomes current once it is published in both kk and ru.",
                         version=published.version))


@notice.command("list", help="Published versions, their languages and which one is current.")
def notice_list() -> None:
    from plugin.kernel.notices import current_version, versions

    with _app() as app, _runtime(app).session() as session:
        current = current_version(session)
        rows = versions(session)
        if not rows:
            click.echo(_("No notice has been published yet: students cannot hand in work until one is."))
        for version, langs in rows:
            marker = "*" if version == current else " "
            click.echo(f"{marker} {version}  {' '.join(sorted(langs))}")


@main.group(help="Detector and originality services allowed to post signals to /api/v1/signals.")
def integration() -> None:
    pass


@integration.command("add", help="Create an integration; prints its token and HMAC secret once.")
@click.argument("name")
def integration_add(name: str) -> None:
    from evidence.integrations import add_integration

    with _app() as app, _runtime(app).session() as session:
        try:
            issued = add_integration(session, _cli_actor(), name, now=now_utc())
        except InvalidInput as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(_("Integration %(name)s added. Copy the token and the secret now: they are shown only this "
                     "once.", name=issued.integration.name))
        click.echo(f"token:  {issued.token}")
        click.echo(f"secret: {issued.secret}")


@integration.command("list", help="Integrations, whether each is active, and how many signals each has sent.")
def integration_list() -> None:
    from evidence.integrations import list_integrations

    with _app() as app, _runtime(app).session() as session:
        rows = list_integrations(session)
        if not rows:
            click.echo(_("No integration has been added."))
        for found, count in rows:
            state = _("active") if found.active else _("revoked")
            click.echo(f"{found.name}  {state}  {found.created_at:%Y-%m-%d %H:%M}Z  {found.created_by}  "
                       + ngettext("%(num)d signal", "%(num)d signals", count))


@integration.command("revoke", help="Stop accepting an integration's token; the signals it sent stay.")
@click.argument("name")
def integration_revoke(name: str) -> None:
    from evidence.integrations import revoke_integration
    from plugin.kernel.errors import NotFound

    with _app() as app, _runtime(app).session() as session:
        try:
            revoke_integration(session, _cli_actor(), name, now=now_utc())
        except (InvalidInput, NotFound) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(_("Integration %(name)s revoked: its token no longer works.", name=name.strip()))


@main.group(help="Integrity commissions and their members (chair, secretaries, members).")
def commission() -> None:
    pass


def _commission_error(exc: Exception, session: Any) -> click.ClickException:
    session.rollback()
    return click.ClickException(str(exc))


@commission.command("create", help="Create a commission, without members yet.")
@click.argument("name")
@click.option("--scope", default="institution", show_default=True,
              help="What it serves: the institution or a faculty (free text).")
def commission_create(name: str, scope: str) -> None:
    from appeals.commissions import create_commission

    with _app() as app, _runtime(app).session() as session:
        try:
            found = create_commission(session, _cli_actor(), name, scope=scope, now=now_utc())
        except InvalidInput as exc:
            raise _commission_error(exc, session) from None
        session.commit()
        click.echo(_("Commission %(name)s created. Add its chair, a secretary and members with "
                     "`adal commission add-member`.", name=found.name))


@commission.command("add-member", help="Seat a person, found by their LMS identity (issuer + subject), on a "
                                       "commission. A commission has exactly one chair.")
@click.argument("name")
@click.option("--issuer", required=True, help="The person's LMS (its issuer, iss), e.g. https://moodle.school.kz")
@click.option("--subject", required=True, help="The person's user id in that LMS (sub).")
@click.option("--role", required=True, type=click.Choice(["chair", "secretary", "member"]))
@click.option("--name", "display_name", default=None,
              help="Their name, required when they have never opened Adal (their LMS launch later refreshes it).")
def commission_add_member(name: str, issuer: str, subject: str, role: str, display_name: str | None) -> None:
    from appeals.commissions import UnknownPerson, add_member, role_title
    from plugin.kernel.errors import NotFound

    with _app() as app, _runtime(app).session() as session:
        try:
            seat = add_member(session, _cli_actor(), name, issuer=issuer, subject=subject, role=role,
                              display_name=display_name, now=now_utc())
        except UnknownPerson:
            session.rollback()
            raise click.ClickException(_("No one with the LMS identity %(subject)s at %(issuer)s has opened Adal "
                                         "yet: give their name with --name so that Adal can create them.",
                                         subject=subject.strip(), issuer=issuer.strip())) from None
        except (InvalidInput, NotFound) as exc:
            raise _commission_error(exc, session) from None
        session.commit()
        click.echo(_("%(person)s is on %(commission)s as %(role)s.", person=seat.user.display_name,
                     commission=name.strip(), role=role_title(role)))


@commission.command("remove-member", help="Take a person off a commission. Their seat is deactivated, not deleted: "
                                          "the cases they took part in keep their record.")
@click.argument("name")
@click.option("--issuer", required=True, help="The person's LMS (its issuer, iss).")
@click.option("--subject", required=True, help="The person's user id in that LMS (sub).")
def commission_remove_member(name: str, issuer: str, subject: str) -> None:
    from appeals.commissions import list_commissions, remove_member
    from plugin.kernel.errors import NotFound

    with _app() as app, _runtime(app).session() as session:
        try:
            seat = remove_member(session, _cli_actor(), name, issuer=issuer, subject=subject, now=now_utc())
        except (InvalidInput, NotFound) as exc:
            raise _commission_error(exc, session) from None
        session.commit()
        click.echo(_("%(person)s is no longer on %(commission)s.", person=seat.user.display_name,
                     commission=name.strip()))
        listing = next(found for found in list_commissions(session) if found.commission.id == seat.member.commission_id)
        for problem in listing.problems():
            click.echo(_("Note: %(problem)s", problem=problem))


@commission.command("list", help="Commissions, their members with roles, and whether each can take cases.")
def commission_list() -> None:
    from appeals.commissions import list_commissions, role_title

    with _app() as app, _runtime(app).session() as session:
        listings = list_commissions(session)
        if not listings:
            click.echo(_("No commission has been created."))
        for listing in listings:
            found = listing.commission
            click.echo(f"{found.name}  ({found.scope})")
            for seat in listing.seats:
                status = "" if seat.member.active else "  " + _("(former member)")
                click.echo(f"    {role_title(seat.member.role):<12} {seat.user.display_name}  "
                           f"{seat.user.issuer or '-'} {seat.user.subject or '-'}{status}")
            problems = listing.problems()
            if problems:
                click.echo("    " + _("Cannot take cases yet: %(problems)s", problems=" ".join(problems)))
            else:
                click.echo("    " + _("Ready to take cases."))


@main.group(help="LMS platforms registered with Adal (LTI 1.3).")
def platform() -> None:
    pass


@platform.command("add", help="Register a platform, or add a deployment to a registered one.")
@click.option("--issuer", required=True, help="The platform's issuer (iss), e.g. https://moodle.school.kz")
@click.option("--client-id", required=True)
@click.option("--deployment-id", required=True)
@click.option("--keyset-url", required=True, help="The platform's public keyset (JWKS) URL.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authentication URL.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 access token URL.")
@click.option("--audience", default=None, help="Audience for token requests, when it differs from the token URL.")
@click.option("--auto-register-deployments", is_flag=True,
              help="Accept launches from deployments of this platform that were not registered.")
def platform_add(issuer: str, client_id: str, deployment_id: str, keyset_url: str, auth_login_url: str,
                 auth_token_url: str, audience: str | None, auto_register_deployments: bool) -> None:
    from lti.registry import add_platform

    with _app() as app, _runtime(app).session() as session:
        try:
            found = add_platform(session, _cli_actor(), issuer=issuer, client_id=client_id,
                                 deployment_id=deployment_id, keyset_url=keyset_url, auth_login_url=auth_login_url,
                                 auth_token_url=auth_token_url, auth_audience=audience,
                                 auto_register_deployments=auto_register_deployments, now=now_utc())
        except InvalidInput as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(_("Platform %(issuer)s (client %(client)s) registered with deployment %(deployment)s.",
                     issuer=found.issuer, client=found.client_id, deployment=deployment_id))


@platform.command("list", help="Registered platforms and their deployments.")
def platform_list() -> None:
    from lti.registry import list_platforms

    with _app() as app, _runtime(app).session() as session:
        rows = list_platforms(session)
        if not rows:
            click.echo(_("No platform is registered."))
        for found, deployments in rows:
            click.echo(f"{found.issuer}  client_id={found.client_id}  deployments={','.join(deployments)}"
                       f"{'  auto-register' if found.auto_register_deployments else ''}")
            click.echo(f"    keyset={found.keyset_url}  login={found.auth_login_url}  token={found.auth_token_url}")


@platform.command("remove", help="Remove a platform registration and its deployments.")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
def platform_remove(issuer: str, client_id: str) -> None:
    from lti.registry import remove_platform
    from plugin.kernel.errors import NotFound

    with _app() as app, _runtime(app).session() as session:
        try:
            remove_platform(session, _cli_actor(), issuer=issuer, client_id=client_id, now=now_utc())
        except NotFound as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(_("Platform removed."))


@platform.command("registration-link",
                  help="Print a one-time LTI Dynamic Registration URL for an LMS administrator to paste.")
@click.option("--valid-hours", default=24, show_default=True, type=click.IntRange(1, 24 * 14))
@click.option("--base-url", default=None, help="Adal's public https address (default: ADAL_BASE_URL).")
def platform_registration_link(valid_hours: int, base_url: str | None) -> None:
    from datetime import timedelta

    from lti.dynreg import create_registration_link

    with _app() as app, _runtime(app).session() as session:
        base = (base_url or app.config["ADAL_BASE_URL"] or "").rstrip("/")
        if not base:
            raise click.ClickException(_("Set ADAL_BASE_URL (or pass --base-url): the LMS must reach Adal by it."))
        token = create_registration_link(session, _cli_actor(), now=now_utc(), valid_for=timedelta(hours=valid_hours))
        session.commit()
        click.echo(f"{base}/lti/register/{token}")
        click.echo(ngettext("It works once, for %(num)d hour.", "It works once, for %(num)d hours.", valid_hours))


@main.group(help="Adal's own signing keys (published at /lti/jwks).")
def keys() -> None:
    pass


@keys.command("rotate", help="Publish a new signing key; older keys stay in the JWKS for the grace period.")
@click.option("--grace-days", default=7, show_default=True, type=click.IntRange(0, 365))
def keys_rotate(grace_days: int) -> None:
    from datetime import timedelta

    from lti.keys import rotate_keys

    with _app() as app, _runtime(app).session() as session:
        key = rotate_keys(session, _cli_actor(), now=now_utc(), grace=timedelta(days=grace_days))
        session.commit()
        click.echo(ngettext("New signing key %(kid)s; older keys stay published for %(num)d day.",
                            "New signing key %(kid)s; older keys stay published for %(num)d days.",
                            grace_days, kid=key.kid))


@main.command(help="Routine clean-up for cron (hourly): expired LTI login states, leftovers of interrupted uploads.")
def housekeeping() -> None:
    from lti.launch import purge_login_states

    with _app() as app:
        runtime = _runtime(app)
        with runtime.session() as session:
            states = purge_login_states(session, now=now_utc())
            session.commit()
        parts = runtime.files.sweep_temp()
        click.echo(_("Removed %(states)d expired login states and %(parts)d unfinished uploads.",
                     states=states, parts=parts))


@main.group("admin", help="Admin console accounts (password and TOTP second factor); the console is at /admin/.")
def admin_group() -> None:
    pass


def _print_enrolment(enrolment: Any) -> None:
    """The TOTP enrolment and recovery codes, printed this once: nothing shows them again."""
    import io

    import segno

    click.echo(_("Add this account to an authenticator app (FreeOTP, Aegis, Google Authenticator, ...): scan the QR "
                 "code, or enter the address below. It is shown only this once."))
    qr = io.StringIO()
    segno.make(enrolment.uri, error="m").terminal(out=qr, compact=True)
    click.echo(qr.getvalue())
    click.echo(enrolment.uri)
    click.echo("")
    click.echo(_("Recovery codes: each signs in once instead of a code from the app. Print or write them down and "
                 "keep them somewhere safe."))
    for code in enrolment.recovery_codes:
        click.echo(f"  {code}")


@admin_group.command("create", help="Create an admin; the password is asked twice (or read from standard input).")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def admin_create(username: str, password_stdin: bool) -> None:
    from plugin.admin.accounts import create_admin

    with _app() as app, _runtime(app).session() as session:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
        try:
            enrolment = create_admin(session, _cli_actor(), username, password, now=now_utc())
        except InvalidInput as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(_("Admin %(name)s created.", name=enrolment.account.username))
        _print_enrolment(enrolment)


@admin_group.command("list", help="Admins, whether each is locked, recovery codes left, sessions open.")
def admin_list() -> None:
    from plugin.admin.accounts import is_locked, list_admins

    with _app() as app, _runtime(app).session() as session:
        now = now_utc()
        rows = list_admins(session, now=now)
        if not rows:
            click.echo(_("No admin has been created: run `adal admin create USERNAME`."))
        for row in rows:
            account = row.account
            state = (_("locked until %(when)s", when=f"{account.locked_until:%Y-%m-%d %H:%M}Z")
                     if account.locked_until is not None and is_locked(account, now) else _("active"))
            click.echo(f"{account.username}  {state}  {account.created_at:%Y-%m-%d}  "
                       + ngettext("%(num)d recovery code left", "%(num)d recovery codes left",
                                  row.recovery_codes_left) + "  "
                       + ngettext("%(num)d open session", "%(num)d open sessions", row.open_sessions))


@admin_group.command("unlock", help="Lift a lockout after failed sign-in attempts.")
@click.argument("username")
def admin_unlock(username: str) -> None:
    from plugin.admin.accounts import unlock_admin
    from plugin.kernel.errors import NotFound

    with _app() as app, _runtime(app).session() as session:
        try:
            account = unlock_admin(session, _cli_actor(), username, now=now_utc())
        except NotFound as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(_("Admin %(name)s unlocked.", name=account.username))


@admin_group.command("reset-second-factor", help="A new TOTP seed and new recovery codes (the old ones stop "
                                                  "working, open sessions end); prints the new enrolment once.")
@click.argument("username")
def admin_reset_second_factor(username: str) -> None:
    from plugin.admin.accounts import reset_second_factor
    from plugin.kernel.errors import NotFound

    with _app() as app, _runtime(app).session() as session:
        try:
            enrolment = reset_second_factor(session, _cli_actor(), username, now=now_utc())
        except NotFound as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(_("The second factor of %(name)s was reset.", name=enrolment.account.username))
        _print_enrolment(enrolment)


@main.group(help="Retention periods per data category (S 5.3в): delete or anonymise what has expired.")
def retention() -> None:
    pass


@retention.command("run", help="Delete or anonymise expired data (for cron, daily); --dry-run only lists it. "
                                "Open cases and anything under a legal hold are kept. Safe to run again.")
@click.option("--dry-run", is_flag=True, help="Print what would go, per category, and change nothing.")
def retention_run(dry_run: bool) -> None:
    from plugin.admin.retention_views import echo_retention_report, run_and_remove_files

    with _app() as app:
        report = run_and_remove_files(_runtime(app), _cli_actor(), now=now_utc(), dry_run=dry_run)
        for line in echo_retention_report(report):
            click.echo(line)


@main.group(help="Legal holds: keep a case, a person or a course out of retention and erasure.")
def hold() -> None:
    pass


@hold.command("add", help="Put a case (by its number or id), a person (user id) or a course (id) under a hold.")
@click.option("--case", "case", default=None, help="The case's number (e.g. 2026-0001) or id.")
@click.option("--user", "user_id", default=None, type=int, help="The person's user id.")
@click.option("--course", "course_id", default=None, type=int, help="The course's id.")
@click.option("--reason", required=True, help="Why the data must be kept (a dispute, a request by an authority).")
def hold_add(case: str | None, user_id: int | None, course_id: int | None, reason: str) -> None:
    from plugin.admin.holds import add_hold
    from plugin.admin.retention_views import case_id_of
    from plugin.kernel.errors import NotFound

    given = [(kind, value) for kind, value in (("case", case), ("user", user_id), ("course", course_id))
             if value is not None]
    if len(given) != 1:
        raise click.UsageError(_("Name exactly one of --case, --user or --course."))
    kind, value = given[0]
    with _app() as app, _runtime(app).session() as session:
        try:
            subject_id = case_id_of(session, str(value)) if kind == "case" else int(value)
            found = add_hold(session, _cli_actor(), kind, subject_id, reason=reason, now=now_utc())
        except (InvalidInput, NotFound) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(_("Legal hold #%(id)d added.", id=found.id))


@hold.command("remove", help="Release a legal hold (it stays listed as released).")
@click.argument("hold_id", type=int)
def hold_remove(hold_id: int) -> None:
    from plugin.admin.holds import release_hold
    from plugin.kernel.errors import NotFound

    with _app() as app, _runtime(app).session() as session:
        try:
            release_hold(session, _cli_actor(), hold_id, now=now_utc())
        except (InvalidInput, NotFound) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(_("Legal hold #%(id)d released.", id=hold_id))


@hold.command("list", help="Active legal holds (with --all, released ones too).")
@click.option("--all", "show_all", is_flag=True, help="Include released holds.")
def hold_list(show_all: bool) -> None:
    from plugin.admin.holds import describe_subject, list_holds

    with _app() as app, _runtime(app).session() as session:
        holds = list_holds(session, include_released=show_all)
        if not holds:
            click.echo(_("No legal hold is active."))
        for found in holds:
            state = _("released %(date)s", date=f"{found.released_at:%Y-%m-%d}") if found.released_at else _("active")
            click.echo(f"#{found.id}  {describe_subject(session, found.subject_kind, found.subject_id)}  {state}  "
                       f"{found.created_at:%Y-%m-%d}  {found.created_by}  {found.reason}")


@main.group(help="Data-subject requests (S 5.3г): a person's data exported, or erased on request.")
def subject() -> None:
    pass


@subject.command("export", help="Write everything Adal keeps about a person to a ZIP (JSON, files, README).")
@click.argument("user_id", type=int)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def subject_export(user_id: int, output: Path) -> None:
    from plugin.admin.subjects import export_subject
    from plugin.kernel.errors import NotFound

    with _app() as app, _runtime(app).session() as session:
        try:
            export = export_subject(session, _cli_actor(), user_id, now=now_utc())
        except NotFound as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        output.write_bytes(export.to_zip())
        session.commit()  # the export is audited once the file exists
        click.echo(_("Wrote %(output)s: %(rows)d rows and %(files)d files.", output=str(output),
                     rows=sum(len(rows) for rows in export.data["tables"].values()), files=len(export.files)))
        for sha in export.missing_files:
            click.echo(_("Note: file %(sha)s is no longer in the store.", sha=sha), err=True)


@subject.command("erase", help="Delete or anonymise a person's data. Refused while they or their cases are under a "
                               "legal hold or a case is open; a sanction record within its period is kept.")
@click.argument("user_id", type=int)
@click.option("--dry-run", is_flag=True, help="Print what would be erased and kept, and change nothing.")
def subject_erase(user_id: int, dry_run: bool) -> None:
    from plugin.admin.retention_views import echo_erasure, erase_and_remove_files
    from plugin.kernel.errors import NotFound

    with _app() as app:
        try:
            result = erase_and_remove_files(_runtime(app), _cli_actor(), user_id, now=now_utc(), dry_run=dry_run)
        except (InvalidInput, NotFound) as exc:
            raise click.ClickException(str(exc)) from None
        for line in echo_erasure(result):
            click.echo(line)


@main.group(help="Reports for the head of the institution, without personal data.")
def report() -> None:
    pass


@report.command("monitoring", help="The monitoring report (S 9.3) for a period, as PDF: use of Adal, appeals and "
                                   "incident statistics, small counts hidden.")
@click.option("--from", "first", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The first day (YYYY-MM-DD), in the institution's time zone.")
@click.option("--to", "last", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The last day, included.")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None, help="The report's language (default: ADAL_LANG).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def report_monitoring(first: Any, last: Any, lang: str | None, output: Path) -> None:
    from zoneinfo import ZoneInfo

    from plugin.admin.report import render_monitoring_report
    from plugin.admin.statistics import period_scope

    with _app() as app, _runtime(app).session() as session:
        zone = ZoneInfo(get_setting(session, "institution.timezone"))
        try:
            scope = period_scope(first.date(), last.date(), zone)
        except InvalidInput as exc:
            raise click.ClickException(str(exc)) from None
        pdf = render_monitoring_report(session, scope, lang=lang or cli_language(), zone=zone)
        try:
            output.write_bytes(pdf)
        except OSError as exc:
            raise click.ClickException(f"{output}: {exc.strerror}") from None
        click.echo(_("Wrote %(output)s.", output=str(output)))


@main.group(help="Reminders of commission cases, in Adal and by e-mail when SMTP is configured.")
def reminders() -> None:
    pass


@reminders.command("run", help="Create the reminders due now and e-mail those not sent yet; meant for cron (every "
                               "15 minutes). Running it again creates and sends nothing twice.")
def reminders_run() -> None:
    from appeals.reminders import run_reminders

    with _app() as app:
        runtime = _runtime(app)
        config = app.config["ADAL_CONFIG"]
        with runtime.session() as session:
            summary = run_reminders(session, now=now_utc(), mail=runtime.ports.mail_impl, base_url=config.base_url)
        for failure in summary.failures:
            click.echo(_("Not e-mailed (retried on the next run): reminder %(failure)s", failure=failure), err=True)
        if summary.mail_configured:
            click.echo(_("Reminders: %(created)d created, %(emailed)d e-mailed, %(failed)d failed.",
                         created=summary.created, emailed=summary.emailed, failed=summary.failed))
        else:
            click.echo(_("Reminders: %(created)d created; no e-mail is sent (ADAL_SMTP_HOST is not set).",
                         created=summary.created))
        if summary.failed:
            sys.exit(1)


# -- stamping: no instance folder, no database, nothing but the requested output ------------------
@contextmanager
def _translations_only() -> Iterator[None]:
    """Translated messages without an installation (``stamp`` and ``inspect`` touch nothing)."""
    from flask_babel import Babel

    from plugin.app import TRANSLATIONS

    bare = Flask("adal-cli")
    bare.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(bare)
    with bare.app_context(), force_locale(cli_language()):
        yield


def _stamp_limits() -> Any:
    from attribution.provenance import Limits

    def megabytes(name: str, default: int) -> int:
        raw = os.environ.get(name)
        if not raw:
            return default
        if not raw.isdecimal() or int(raw) < 1:
            raise click.ClickException(f"{name} must be a whole number of megabytes")
        return int(raw) * 1024 * 1024

    base = Limits()
    return Limits(max_file_bytes=megabytes("ADAL_STAMP_MAX_FILE_MB", base.max_file_bytes),
                  max_total_uncompressed=megabytes("ADAL_STAMP_MAX_UNCOMPRESSED_MB", base.max_total_uncompressed),
                  max_member_bytes=megabytes("ADAL_STAMP_MAX_MEMBER_MB", base.max_member_bytes))


@main.command(help="Stamp AI provenance (metadata and the visible label) into PDF, DOCX, PPTX or XLSX files. "
                   "The originals are not changed. Put `--` before file names that start with '-'.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--service", required=True, help="The AI service, e.g. ChatGPT.")
@click.option("--model", required=True, help="The model, e.g. GPT-4o.")
@click.option("--model-version", required=True, help="The model's version, e.g. 2024-08-06.")
@click.option("--date", "generation_date", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Date the AI was used, YYYY-MM-DD.")
@click.option("--responsible", default=None, help="The responsible person (S C.3), e.g. A. Testova.")
@click.option("--task", "tasks", multiple=True, help="What AI was used for; repeat for several.")
@click.option("--lang", default="kk", show_default=True, type=click.Choice(["kk", "ru", "en"]),
              help="Language of the visible label.")
@click.option("--synthetic", is_flag=True,
              help="Images, video, audio: also label them SYNTHETIC media made with AI (S C.3).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Output file (one input only).")
@click.option("--out-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for the outputs (same names).")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64), metavar="N",
              help="Stamp PDF and Office files in N processes at once (media always share one exiftool).")
@click.option("--visible-band", is_flag=True,
              help="With --synthetic, images also get a NAME.labelled.EXT copy with the label in a band at the bottom.")
@click.option("--no-content-credentials", is_flag=True,
              help="Do not sign Content Credentials (C2PA), even when a signing certificate is configured.")
def stamp(files: tuple[Path, ...], service: str, model: str, model_version: str, generation_date: Any,
          responsible: str | None, tasks: tuple[str, ...], lang: str, synthetic: bool, output: Path | None,
          out_dir: Path | None, jobs: int, visible_band: bool, no_content_credentials: bool) -> None:
    import logging

    from attribution.provenance import Provenance, StampError
    from attribution.stamping import default_output

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file gets our one line, not pypdf's log
    with _translations_only():
        if output is not None and len(files) != 1:
            raise click.UsageError(_("-o names one output file: give one input, or use --out-dir."))
        if output is not None and out_dir is not None:
            raise click.UsageError(_("Use either -o or --out-dir, not both."))
        if out_dir is not None and not out_dir.is_dir():
            raise click.ClickException(_("%(dir)s is not a directory.", dir=str(out_dir)))
        if visible_band and not synthetic:
            raise click.UsageError(_("--visible-band draws the synthetic-media label: add --synthetic."))
        try:
            provenance = Provenance(service=service, model=model, model_version=model_version,
                                    generation_date=generation_date.date(), responsible=responsible, tasks=tasks)
        except StampError as exc:
            raise click.ClickException(str(exc)) from None
        from attribution.media import ExifTool
        from attribution.stamping import collect_inputs

        if any(path.is_dir() for path in files) and out_dir is None:
            raise click.UsageError(_("A directory is stamped into another one: add --out-dir DIR."))
        work, skipped = collect_inputs(list(files), skip=out_dir)
        if not work:
            raise click.ClickException(_("Nothing to stamp: no PDF, Office, image, video or MP3 file was found."))
        if visible_band:
            _check_band_font()
        credentials = None if no_content_credentials else _content_credentials()  # refused before any file
        done: list[tuple[Path, Path]] = []  # (source, output) stamped, for the Content Credentials summary
        limits, stamped, labelled, failures = _stamp_limits(), 0, 0, []
        planned: list[tuple[Path, Path]] = []  # (source, output), in input order
        for src, relative in work:
            if output is not None:
                dest = output
            elif out_dir is not None:
                dest = out_dir / relative
                dest.parent.mkdir(parents=True, exist_ok=True)
            else:
                try:
                    dest = default_output(src)
                except StampError:
                    dest = src.with_name(src.name + ".ai-stamped")  # unreadable: stamp_file says why
            planned.append((src, dest))
        from attribution.batch import stamp_batch

        # one exiftool process for the whole batch (started when first needed); documents in --jobs workers
        with ExifTool() as exiftool, click.progressbar(
                length=len(planned), label=_("Stamping"), file=sys.stderr, hidden=not sys.stderr.isatty()) as bar:
            for outcome in stamp_batch(planned, provenance, jobs=jobs, lang=lang, limits=limits, synthetic=synthetic,
                                       visible_band=visible_band, exiftool=exiftool, credentials=credentials):
                bar.update(1)
                if outcome.ok:
                    stamped += 1
                    done.append((outcome.src, outcome.dest))
                    labelled += 1 if outcome.labelled is not None else 0
                    continue
                failures.append((outcome.index, outcome.error))  # the reason names the file
        if out_dir is not None:  # no empty folder left for files that failed (others may share it until now)
            for index, _reason in failures:
                _remove_empty_parents(planned[index][1], out_dir)
        for _index, reason in sorted(failures):  # in input order, whichever worker finished first
            click.echo(_("FAILED: %(reason)s", reason=reason), err=True)
        click.echo(_("Stamped %(stamped)d, skipped %(skipped)d (not a kind Adal stamps), failed %(failed)d.",
                     stamped=stamped, skipped=len(skipped), failed=len(failures)))
        if visible_band:
            click.echo(ngettext("%(num)d labelled copy with a visible band.",
                                "%(num)d labelled copies with a visible band.", labelled))
        _content_credentials_summary(done, credentials, limits)
        if failures:
            sys.exit(1)


def _content_credentials() -> Any:
    """The configured C2PA signing certificate, checked now; None when none is configured."""
    from attribution.credentials import CredentialsError, load_credentials
    from plugin.config import content_credentials_files

    try:
        files = content_credentials_files()
        if files.cert is None or files.key is None:
            return None
        return load_credentials(files.cert, files.key, tsa_url=files.tsa_url)
    except (ConfigError, CredentialsError) as exc:
        raise click.ClickException(_("Content Credentials cannot be signed: %(reason)s", reason=str(exc))) from None


def _content_credentials_summary(done: list[tuple[Path, Path]], credentials: Any, limits: Any) -> None:
    """What became of Content Credentials: how many files were signed, which could not be, and
    which inputs carried a manifest that the stamp has broken (their hash no longer matches)."""
    from attribution.credentials import SIGNABLE, Unavailable, manifest_present, read_credentials, unavailable_reason
    from attribution.provenance import StampError, sniff

    signed, formats, broken = 0, {}, []
    for src, dest in done:
        try:
            kind = sniff(src, limits)
            had_manifest = manifest_present(src, kind, limits)
        except StampError:
            continue  # stamped, so readable a moment ago; nothing more to say about it
        reason = unavailable_reason(src, kind) if credentials is not None else None
        if credentials is not None and reason is None:
            signed += 1
            continue
        if reason is Unavailable.FORMAT:
            formats.setdefault(kind.upper(), []).append(src)
        elif reason is Unavailable.SIGNED_PDF:
            click.echo(_("%(file)s carries a digital signature: no Content Credentials were added, because they "
                         "would rewrite the PDF and break its signature.", file=str(src)))
        if had_manifest and kind not in SIGNABLE:
            broken.append(src)  # Adal rewrites the package's properties; c2pa cannot check it
        elif had_manifest:
            try:
                before, after = read_credentials(src, kind), read_credentials(dest, kind)
            except StampError:
                continue
            # the same fields stamped again change no byte; a manifest broken before is not news
            if before is not None and before.intact and (after is None or not after.intact):
                broken.append(src)
    if credentials is not None:
        click.echo(ngettext("Content Credentials (C2PA) signed as %(signer)s: %(num)d file.",
                            "Content Credentials (C2PA) signed as %(signer)s: %(num)d files.", signed,
                            signer=credentials.signer_name))
    if formats:
        count = sum(len(found) for found in formats.values())
        click.echo(ngettext("Content Credentials are not available for %(kinds)s files: %(num)d file was stamped "
                            "without them.", "Content Credentials are not available for %(kinds)s files: %(num)d "
                            "files were stamped without them.", count, kinds=", ".join(sorted(formats))))
    for src in broken:
        click.echo(_("WARNING: %(file)s carried Content Credentials (C2PA); they do not match the stamped copy "
                     "any more, so C2PA readers will report it as altered.", file=str(src)), err=True)
    if broken and credentials is None:
        click.echo(_("With a signing certificate configured (ADAL_C2PA_CERT, ADAL_C2PA_KEY) and without "
                     "--no-content-credentials, Adal signs new Content Credentials over its stamp and keeps the old "
                     "ones as their history."), err=True)


def _remove_empty_parents(dest: Path, top: Path) -> None:
    parent = dest.parent
    while parent != top and top in parent.parents and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _check_band_font() -> None:
    from attribution.band import FONT_FILE, FONT_PACKAGE, FontMissing, load_font

    try:
        load_font(font_file=FONT_FILE)
    except FontMissing:
        raise click.ClickException(_("The font for the visible band is missing (%(file)s): install the Debian "
                                     "package %(package)s.", file=str(FONT_FILE), package=FONT_PACKAGE)) from None


@main.command("inspect", help="Show the AI provenance a file carries, and check its Content Credentials (C2PA).")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inspect_command(file: Path, as_json: bool) -> None:
    from dataclasses import asdict

    from attribution.provenance import StampError
    from attribution.stamping import inspect_file

    with _translations_only():
        trust_anchors = _trust_anchors()
        try:
            report = inspect_file(file, limits=_stamp_limits(), trust_anchors=trust_anchors)
        except StampError as exc:
            raise click.ClickException(str(exc)) from None
        if as_json:
            click.echo(json.dumps({**asdict(report), "has_ai_provenance": report.has_ai_provenance},
                                  ensure_ascii=False, indent=2))
            return
        click.echo(_("File: %(file)s (%(kind)s)", file=str(file), kind=report.kind.upper()))
        if not report.has_ai_provenance:
            click.echo(_("This file carries no AI provenance: no AI-Generated field and no IPTC "
                         "digital source type saying it was made with AI."))
        for name, value in report.fields.items():
            click.echo(f"  {name}: {value}")
        if report.digital_source_type:
            click.echo(f"  IPTC DigitalSourceType: {report.digital_source_type}")
        if report.ai_system_used:
            click.echo(f"  IPTC AISystemUsed: {report.ai_system_used} {report.ai_system_version_used or ''}".rstrip())
        if report.visible_label:
            click.echo(_("  Visible label: %(text)s", text=report.visible_label))
        if report.content_credentials is not None:
            _show_content_credentials(report.content_credentials, trusting=trust_anchors is not None)
        else:
            click.echo(_("  C2PA manifest: %(state)s", state=_("present") if report.c2pa_manifest else _("none")))
        for note in report.notes:
            click.echo(f"  ({note})")


def _trust_anchors() -> str | None:
    """The PEM roots ``adal inspect`` trusts for Content Credentials, when configured."""
    from attribution.credentials import CredentialsError, load_trust_anchors
    from plugin.config import content_credentials_files

    try:
        path = content_credentials_files().trust_anchors
        return load_trust_anchors(path) if path is not None else None
    except (ConfigError, CredentialsError) as exc:
        raise click.ClickException(_("Content Credentials cannot be checked: %(reason)s", reason=str(exc))) from None


def _show_content_credentials(found: Any, *, trusting: bool) -> None:
    signer = found.signer or _("unknown")
    if found.organization and found.organization != found.signer:
        signer = f"{signer} ({found.organization})"
    if found.state == "trusted":
        click.echo(_("  Content Credentials (C2PA): valid and trusted, signed by %(signer)s", signer=signer))
    elif found.state == "valid" and trusting:
        click.echo(_("  Content Credentials (C2PA): valid, but the signer %(signer)s is not in the trust list",
                     signer=signer))
    elif found.state == "valid":
        click.echo(_("  Content Credentials (C2PA): valid, signed by %(signer)s; no trust list is configured "
                     "(ADAL_C2PA_TRUST_ANCHORS), so the signer is not checked", signer=signer))
    elif found.state == "invalid":
        click.echo(_("  Content Credentials (C2PA): INVALID: the file or its manifest changed after signing, "
                     "or the signature does not verify (signed by %(signer)s)", signer=signer))
    else:
        click.echo(_("  Content Credentials (C2PA): present, but cannot be read"))
    if found.digital_source_type:
        source = found.digital_source_type.rstrip("/").rsplit("/", 1)[-1]
        click.echo(_("    AI: %(action)s, digital source type %(source)s", action=found.action or "-", source=source)
                   if found.ai else _("    Action: %(action)s, digital source type %(source)s",
                                      action=found.action or "-", source=source))
    if found.adal:
        click.echo(_("    Adal provenance in the manifest:"))
        for name, value in found.adal.items():
            click.echo(f"      {name}: {value}")
    if found.manifests > 1:
        click.echo(ngettext("    History: %(num)d earlier manifest", "    History: %(num)d earlier manifests",
                            found.manifests - 1))
    for error in found.errors:
        if not (found.state == "valid" and error.startswith("signingCredential.untrusted")):
            click.echo(_("    problem: %(error)s", error=error))


@main.command("export-pdf", help="Convert an Adal-stamped DOCX to PDF with LibreOffice, keeping its AI provenance "
                                 "(LibreOffice alone drops it). The DOCX is not changed.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output PDF (default: FILE with .pdf).")
@click.option("--timeout", default=120, show_default=True, type=click.IntRange(5, 3600), metavar="SECONDS",
              help="Seconds LibreOffice may take before it is stopped.")
def export_pdf_command(file: Path, output: Path | None, timeout: int) -> None:
    import logging

    from attribution.export import SOFFICE_PACKAGE, ConverterMissing, NoProvenance, default_pdf_output, export_pdf
    from attribution.provenance import StampError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    with _translations_only():
        dest = output or default_pdf_output(file)
        try:
            export_pdf(file, dest, limits=_stamp_limits(), timeout=timeout)
        except ConverterMissing:
            raise click.ClickException(_("LibreOffice is needed to convert to PDF: install the Debian package "
                                         "%(package)s.", package=SOFFICE_PACKAGE)) from None
        except NoProvenance as exc:
            raise click.ClickException(_("%(file)s carries no complete Adal provenance to keep (%(reason)s); "
                                         "stamp it first with `adal stamp`.", file=str(file), reason=exc.reason)) \
                from None
        except StampError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(_("Wrote %(output)s with the AI provenance of %(file)s.", output=str(dest), file=str(file)))

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

    from plugin.migrations import alembic_config, current_revision

    heads = set(ScriptDirectory.from_config(alembic_config(runtime.engine)).get_heads())
    return current_revision(runtime.engine) in heads


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
    run_gunicorn(f"{host}:{port}", workers=workers, threads=threads, access_log=access_log)


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
    from plugin.kernel.errors import InvalidInput

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
def stamp(files: tuple[Path, ...], service: str, model: str, model_version: str, generation_date: Any,
          responsible: str | None, tasks: tuple[str, ...], lang: str, synthetic: bool, output: Path | None,
          out_dir: Path | None) -> None:
    import logging

    from attribution.provenance import Provenance, StampError
    from attribution.stamping import default_output, stamp_file

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file gets our one line, not pypdf's log
    with _translations_only():
        if output is not None and len(files) != 1:
            raise click.UsageError(_("-o names one output file: give one input, or use --out-dir."))
        if output is not None and out_dir is not None:
            raise click.UsageError(_("Use either -o or --out-dir, not both."))
        if out_dir is not None and not out_dir.is_dir():
            raise click.ClickException(_("%(dir)s is not a directory.", dir=str(out_dir)))
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
        limits, stamped, failures = _stamp_limits(), 0, []
        with ExifTool() as exiftool, click.progressbar(
                work, label=_("Stamping"), file=sys.stderr, hidden=not sys.stderr.isatty()) as bar:
            for src, relative in bar:  # one exiftool process for the whole batch, started when first needed
                try:
                    if output is not None:
                        dest = output
                    elif out_dir is not None:
                        dest = out_dir / relative
                        dest.parent.mkdir(parents=True, exist_ok=True)
                    else:
                        dest = default_output(src)
                    stamp_file(src, dest, provenance, lang=lang, limits=limits, synthetic=synthetic,
                               exiftool=exiftool)
                    stamped += 1
                except StampError as exc:
                    failures.append(str(exc))  # the reason names the file
                    if out_dir is not None and dest.parent != out_dir and not any(dest.parent.iterdir()):
                        dest.parent.rmdir()  # no empty folder left for a file that failed
        for reason in failures:
            click.echo(_("FAILED: %(reason)s", reason=reason), err=True)
        click.echo(_("Stamped %(stamped)d, skipped %(skipped)d (not a kind Adal stamps), failed %(failed)d.",
                     stamped=stamped, skipped=len(skipped), failed=len(failures)))
        if failures:
            sys.exit(1)


@main.command("inspect", help="Show the AI provenance a PDF, DOCX, PPTX or XLSX file carries.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inspect_command(file: Path, as_json: bool) -> None:
    from dataclasses import asdict

    from attribution.provenance import StampError
    from attribution.stamping import inspect_file

    with _translations_only():
        try:
            report = inspect_file(file, limits=_stamp_limits())
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
        click.echo(_("  C2PA manifest: %(state)s", state=_("present") if report.c2pa_manifest else _("none")))
        for note in report.notes:
            click.echo(f"  ({note})")

"""The composition root: the only module that imports every blueprint and wires the ports."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from lti.jwks import PlatformKeyCache
from lti.services import LtiServices, PlatformTokens
from plugin.config import Config, load_config
from plugin.kernel import i18n, ratelimit, web
from plugin.kernel.crypto import SecretBox
from plugin.kernel.db import make_engine
from plugin.kernel.filestore import FileStore
from plugin.kernel.runtime import AuditKeyring, Runtime
from plugin.kernel.users import ROLE_TITLES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()
csrf = CSRFProtect()


def build_runtime(config: Config) -> Runtime:
    """Everything services reach through their session, built from one configuration, with the
    LMS ports wired to LTI Advantage (the CLI and jobs get them too)."""
    runtime = Runtime(
        engine=make_engine(config.database_url),
        files=FileStore(config.file_store_path),
        box=SecretBox(config.data_key),
        audit=AuditKeyring(key=config.audit_key, head_path=config.audit_head_path),
        redis_url=config.redis_url,
    )
    services = LtiServices(runtime, PlatformTokens())
    runtime.ports.grades_impl = services
    runtime.ports.roster_impl = services
    if config.smtp is not None:  # reminders by e-mail only when the institution set a mail server
        from plugin.kernel.mail import SmtpMail, SmtpSettings

        smtp = config.smtp
        runtime.ports.mail_impl = SmtpMail(SmtpSettings(host=smtp.host, port=smtp.port, sender=smtp.sender,
                                                        security=smtp.security, user=smtp.user,
                                                        password=smtp.password))
    return runtime


def create_app(config: Config | None = None) -> Flask:
    config = config or load_config()
    secure = bool(config.base_url and config.base_url.startswith("https://"))
    app = Flask(
        "plugin",
        instance_path=str(config.instance_path),
        static_folder=str(PROJECT_ROOT / "static"),
        template_folder="templates",
    )
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        # Inside an LMS iframe the session cookie is third-party: it needs SameSite=None, which
        # browsers accept only with Secure, i.e. over https. On loopback http it stays Lax.
        SESSION_COOKIE_SAMESITE="None" if secure else "Lax",
        SESSION_COOKIE_SECURE=secure,
        ADAL_BASE_URL=config.base_url,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        BABEL_DEFAULT_LOCALE=i18n.DEFAULT_LANGUAGE,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session: a student may take an hour
        ADAL_FRAME_ANCESTORS=config.frame_ancestors,
        ADAL_CONFIG=config,
        ADAL_ADMIN_IDLE_MINUTES=config.admin_idle_minutes,
        ADAL_ADMIN_SESSION_HOURS=config.admin_session_hours,
        TESTING=config.testing,
    )
    if config.proxy_fix_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=config.proxy_fix_hops, x_proto=config.proxy_fix_hops,
            x_host=config.proxy_fix_hops, x_port=config.proxy_fix_hops,
        )
    app.extensions["adal.runtime"] = build_runtime(config)
    ratelimit.install(app, redis_url=config.redis_url, prefix=config.rate_limit_prefix,
                      rates={bucket: ratelimit.Rate(*rate) for bucket, rate in config.rate_limits.items()})
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)

    @app.context_processor
    def _template_globals() -> dict[str, object]:
        from flask_babel import get_locale

        # The product's name is a name, not a phrase: the same in every language.
        return {"languages": i18n.LANGUAGE_NAMES, "current_language": str(get_locale()), "product_name": "Adal",
                "role_titles": ROLE_TITLES}

    from appeals import document_views, reminder_views, student_views
    from appeals import views as commission_views
    from attribution import teacher_views, tools_views
    from attribution import views as work_views
    from evidence import api_views, flag_views, process_views, signal_views
    from lti import dynreg_views
    from lti import views as lti_views
    from plugin.admin import (
        retention_views,  # noqa: F401  (adds /admin/retention to the console's blueprint)
        statistics_views,  # noqa: F401  (adds /admin/statistics to the console's blueprint)
        system_card,
    )
    from plugin.admin import views as admin_views
    from plugin.kernel.views import bp as core_bp

    app.extensions["adal.lti_keys"] = PlatformKeyCache()
    app.register_blueprint(core_bp)
    app.register_blueprint(lti_views.bp)
    app.register_blueprint(dynreg_views.bp)
    app.register_blueprint(tools_views.bp)
    app.register_blueprint(work_views.bp)
    app.register_blueprint(teacher_views.bp)
    app.register_blueprint(signal_views.bp)
    app.register_blueprint(flag_views.bp)
    app.register_blueprint(process_views.bp)
    app.register_blueprint(student_views.bp)  # appeals: the student's cases
    app.register_blueprint(commission_views.bp)  # appeals: the commission's queue and case pages
    app.register_blueprint(reminder_views.bp)  # appeals: a person's reminders (/reminders)
    app.register_blueprint(document_views.bp)  # appeals: written decisions and the case file
    app.register_blueprint(api_views.bp)
    app.register_blueprint(admin_views.bp)  # the admin console, its own sign-in with a second factor
    app.register_blueprint(system_card.bp)  # public: the system card and data flows (S 6.5, 6.6)
    csrf.exempt(api_views.bp)  # token- and HMAC-authenticated integrations, no browser session
    # The platform posts to these from its own origin: LTI's state, nonce and signature protect them.
    csrf.exempt(lti_views.login)
    csrf.exempt(lti_views.launch)
    csrf.exempt(lti_views.launch_with_platform_storage)
    from appeals.commissions import arrival_context

    app.context_processor(arrival_context)  # the arrival page's commission seats (lti may not import appeals)
    web.install(app)
    return app

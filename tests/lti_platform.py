"""An independent LTI 1.3 platform for tests, built on PyPI's ``lti1p3platform``.

It does not import Adal: it only knows Adal's URLs, as a real LMS does. It serves its JWKS, starts
an OIDC login towards the tool, answers the tool's authentication request with a signed id_token
in an auto-submitting form, and can sign arbitrary claims for attack tests.
"""

from __future__ import annotations

import html
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, redirect, request
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration

from tests.servers import serve_wsgi

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
TA = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
MENTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"
ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"


_PLATFORM_KEYS: dict[str, str] = {}


def platform_key(name: str) -> str:
    """One key per platform name for the whole run: RSA key generation is the slow part."""
    if name not in _PLATFORM_KEYS:
        _PLATFORM_KEYS[name] = new_private_key_pem()
    return _PLATFORM_KEYS[name]


def new_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class _Request:
    def __init__(self, get_data: dict[str, Any], form_data: dict[str, Any]) -> None:
        self.get_data, self.form_data = get_data, form_data


class TestPlatform:
    """One LMS: issuer, client id, deployment, key pair, and a small HTTP server."""

    __test__ = False  # not a pytest test class

    def __init__(self, name: str, client_id: str = "adal-client", deployment_id: str = "dep-1") -> None:
        self.name, self.client_id, self.deployment_id = name, client_id, deployment_id
        self.private_pem = platform_key(name)
        # the kid lti1p3platform itself derives from the key (a thumbprint), so its tokens match
        self.kid = Registration.get_jwk(self.private_pem)["kid"]
        self.base_url = ""
        self.tool_base = ""
        self.pending: dict[str, dict[str, Any]] = {}  # lti_message_hint -> launch parameters
        self.jwks_delay = 0.0
        self.jwks_broken = False
        self.extra_public_keys: list[dict[str, Any]] = []
        self.jwks_requests = 0
        self.placed_links: list[dict[str, Any]] = []  # content items the tool returned by deep linking
        self.deep_link_errors: list[str] = []
        self.app = self._build_app()

    # -- registration as lti1p3platform sees it ---------------------------------------------------
    def registration(self) -> Registration:
        reg = Registration()
        reg.set_iss(self.base_url).set_client_id(self.client_id).set_deployment_id(self.deployment_id)
        reg.set_oidc_login_url(self.tool_base + "/lti/login").set_launch_url(self.tool_base + "/lti/launch")
        reg.set_platform_public_key(public_pem(self.private_pem)).set_platform_private_key(self.private_pem)
        reg.set_deeplink_launch_url(self.tool_base + "/lti/launch")
        reg.set_tool_key_set_url(self.tool_base + "/lti/jwks")
        return reg

    @property
    def issuer(self) -> str:
        return self.base_url

    def cli_args(self) -> dict[str, str]:
        return {"issuer": self.issuer, "client_id": self.client_id, "deployment_id": self.deployment_id,
                "keyset_url": self.base_url + "/jwks", "auth_login_url": self.base_url + "/auth",
                "auth_token_url": self.base_url + "/token"}

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(
            serialization.load_pem_public_key(public_pem(self.private_pem).encode()), as_dict=True)
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk, *self.extra_public_keys]}

    def sign(self, claims: dict[str, Any], *, headers: dict[str, Any] | None = None, key: str | None = None,
             algorithm: str = "RS256") -> str:
        return jwt.encode(claims, key or self.private_pem, algorithm=algorithm,
                          headers={"kid": self.kid, **(headers or {})})

    def claims(self, *, nonce: str, sub: str = "student-001", roles: list[str] | None = None,
               context_id: str = "course-101", **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer, "aud": self.client_id, "sub": sub, "nonce": nonce, "iat": now, "exp": now + 300,
            "name": "Aigerim Testova",
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
            "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": self.deployment_id,
            "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": self.tool_base + "/lti/launch",
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "rl-1"},
            # a course-level link by default (Adal's course page); pass custom=None for an assignment link
            "https://purl.imsglobal.org/spec/lti/claim/custom": {"adal_view": "home"},
            "https://purl.imsglobal.org/spec/lti/claim/roles": roles if roles is not None else [LEARNER],
            "https://purl.imsglobal.org/spec/lti/claim/context": {"id": context_id, "title": "Synthetic Course 101"},
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not None}

    # -- the HTTP side ---------------------------------------------------------------------------
    def _build_app(self) -> Flask:
        app = Flask(f"platform-{self.name}")
        platform = self

        class Conf(LTI1P3PlatformConfAbstract):
            def init_platform_config(self, **kwargs: Any) -> None:
                pass

            def get_registration_by_params(self, **kwargs: Any) -> Registration:
                return platform.registration()

        class Login(OIDCLoginAbstract):
            def set_lti_message_hint(self, **kwargs: Any) -> None:
                self._lti_message_hint = kwargs["hint"]

            def get_redirect(self, url: str) -> Any:
                return redirect(url)

        class Launch(LTIAdvantageMessageLaunchAbstract):
            def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> str:
                fields = "".join(f'<input type="hidden" name="{k}" value="{html.escape(str(v))}">'
                                 for k, v in launch_data.items() if k != "launch_url")
                return (f'<form id="f" method="post" action="{html.escape(launch_data["launch_url"])}">{fields}'
                        '<button>Continue</button></form><script>document.forms[0].submit()</script>')

        @app.get("/jwks")
        def jwks() -> Any:
            platform.jwks_requests += 1
            if platform.jwks_delay:
                time.sleep(platform.jwks_delay)
            if platform.jwks_broken:
                return "down", 503
            return jsonify(platform.jwks())

        @app.get("/start")
        def start() -> Any:
            """What the LMS does when a user clicks the tool link: an OIDC third-party login."""
            hint = uuid.uuid4().hex
            platform.pending[hint] = dict(request.args)
            login = Login(_Request({}, {}), Conf())
            login.set_lti_message_hint(hint=hint)
            url = login.prepare_preflight_url(request.args.get("user", "student-001"))
            if request.args.get("storage") == "1":
                url += "&lti_storage_target=_parent"  # this platform keeps data for its frames
            return login.get_redirect(url)

        @app.get("/frame")
        def frame() -> str:
            """A course page showing the tool in a frame; with storage=1 it offers LTI Platform Storage."""
            query = html.escape(request.query_string.decode())
            storage = request.args.get("storage") == "1"
            handler = """<script>
            var stored = {};
            var tool = TOOL_ORIGIN;
            window.addEventListener("message", function (event) {
              var m = event.data || {};
              var reply = {message_id: m.message_id, subject: m.subject + ".response"};
              if (m.subject === "lti.capabilities") {
                reply.supported_messages = [{subject: "lti.capabilities"}, {subject: "lti.put_data"},
                                            {subject: "lti.get_data"}];
              } else if (event.origin !== tool) {
                return;  // only the tool's own origin may store or read its data
              } else if (m.subject === "lti.put_data") {
                stored[m.key] = m.value; reply.key = m.key; reply.value = m.value;
                window.putCount = (window.putCount || 0) + 1;
              } else if (m.subject === "lti.get_data") {
                reply.key = m.key; reply.value = stored[m.key];
              } else { return; }
              event.source.postMessage(reply, event.origin === "null" ? "*" : event.origin);
            });
            </script>""".replace("TOOL_ORIGIN", json.dumps(platform.tool_base))
            return (f"<!doctype html><title>Course</title>{handler if storage else ''}"
                    f'<iframe name="tool" title="Adal" src="/start?{query}" width="800" height="600"></iframe>')

        @app.get("/auth")
        def auth() -> Any:
            """The platform's authentication endpoint: answer the tool with a signed launch."""
            params = dict(request.args)
            # Like Moodle's, a message hint may start the same launch again (a new window).
            wanted = platform.pending.get(params.get("lti_message_hint", ""))
            if wanted is None or params.get("redirect_uri") != platform.tool_base + "/lti/launch":
                return "unknown login or wrong redirect_uri", 400
            launch = Launch(_Request(params, {}), Conf())
            roles = {"student": [LEARNER], "teacher": [INSTRUCTOR], "ta": [INSTRUCTOR, TA],
                     "mentor": [MENTOR], "admin": [ADMIN]}[wanted.get("role", "student")]
            launch.set_user_data(params["login_hint"], roles, full_name=wanted.get("name", "Aigerim Testova"))
            link = wanted.get("link")
            if link is not None:  # launch a link the tool placed earlier, with its custom parameters
                item = platform.placed_links[int(link)]
                launch.set_resource_link_claim(f"placed-{link}", title=item["title"])
                launch.set_custom_parameters_claim(item.get("custom", {}))
                launch.set_ags(platform.base_url + "/lineitems", platform.base_url + f"/lineitems/{link}")
            else:  # the course-level link (a course menu entry): Adal's course page, not an assignment
                launch.set_resource_link_claim("rl-1", title="Essay 1")
                launch.set_custom_parameters_claim({"adal_view": "home"})
            if wanted.get("message") == "deeplink":
                launch.set_dl(platform.base_url + "/deep-link-return", title="Adal", accept_types={"ltiResourceLink"})
            launch.set_launch_context_claim(wanted.get("course", "course-101"), context_title="Synthetic Course 101")
            if wanted.get("locale"):
                launch.set_extra_claims({"https://purl.imsglobal.org/spec/lti/claim/launch_presentation":
                                         {"locale": wanted["locale"], "document_target": "iframe"}})
            launch._registration = platform.registration()
            return launch.lti_launch()

        @app.post("/deep-link-return")
        def deep_link_return() -> Any:
            """Where the tool sends its choice: verified with the tool's JWKS, as an LMS does."""
            try:
                conf = Conf()
                conf.get_registration()
                items = conf.validate_deeplinking_resp(dict(request.form))
                claims = jwt.decode(request.form["JWT"], options={"verify_signature": False})  # verified above
                if (claims["iss"], claims["aud"]) != (platform.client_id, platform.issuer) or claims[
                        "https://purl.imsglobal.org/spec/lti/claim/deployment_id"] != platform.deployment_id:
                    raise ValueError("deep linking response addressed to someone else")
            except Exception as exc:
                platform.deep_link_errors.append(repr(exc))
                return "invalid deep linking response", 400
            platform.placed_links.extend(items)
            return jsonify(placed=len(items))

        return app

    @contextmanager
    def serve(self, tool_base: str) -> Iterator[TestPlatform]:
        self.tool_base = tool_base
        with serve_wsgi(self.app) as url:
            self.base_url = url
            yield self


def login_params(location: str) -> dict[str, str]:
    """The query of Adal's redirect to the platform's auth endpoint."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

"""The LMS side of LTI Dynamic Registration 1.0, behaving like Moodle's mod/lti, for tests.

It does not import Adal: it only knows the tool's public address, as a real LMS does. It serves an
OpenID configuration and a registration endpoint that checks the Bearer registration token (once,
as Moodle does), validates the tool's registration request, records what it received and answers
with a client id and a deployment id. It can be told to refuse the registration, to lie about its
issuer, or to answer slowly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, jsonify, request

from tests.servers import serve_wsgi

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
CONFIGURATION_PATH = "/mod/lti/openid-configuration.php"
REGISTRATION_PATH = "/mod/lti/openid-registration.php"
#: Moodle signs a JWT for each registration; any opaque string does for the tests.
DEFAULT_REGISTRATION_TOKEN = "moodle-registration-token-1"


class FakeLmsRegistration:
    """One LMS that an administrator is registering a tool in."""

    __test__ = False  # not a pytest test class

    def __init__(self, tool_base: str, *, registration_token: str = DEFAULT_REGISTRATION_TOKEN,
                 client_id: str = "dynreg-client-1", deployment_id: str = "7") -> None:
        self.tool_base = tool_base.rstrip("/")
        self.registration_token = registration_token
        self.client_id, self.deployment_id = client_id, deployment_id
        self.base_url = ""
        # behaviour switches
        self.reject_with: int | None = None  # answer the registration with this status (e.g. 400)
        self.issuer_override: str | None = None  # lie about the issuer
        self.registration_delay = 0.0
        self.omit_deployment_id = False
        self.success_status = 200  # Moodle answers 200; OAuth 2.0 Dynamic Client Registration says 201
        # Moodle lists message types as strings; the spec (and Canvas) as objects with a "type"
        self.messages_supported: list[Any] = ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"]
        self.authorization_server: str | None = None  # the audience for token requests, when not the token URL
        # what it saw
        self.configuration_requests: list[dict[str, str]] = []  # headers of each configuration GET
        self.registrations: list[dict[str, Any]] = []  # accepted registration bodies
        self.registration_attempts = 0
        self.problems: list[str] = []  # why a registration was refused
        self._token_used = False
        self._lock = threading.Lock()
        self.app = self._build_app()

    @property
    def openid_configuration_url(self) -> str:
        return self.base_url + CONFIGURATION_PATH

    def configuration(self) -> dict[str, Any]:
        base = self.base_url
        extra = {"authorization_server": self.authorization_server} if self.authorization_server else {}
        return {
            **extra,
            "issuer": self.issuer_override or base,
            "token_endpoint": base + "/mod/lti/token.php",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "jwks_uri": base + "/mod/lti/certs.php",
            "authorization_endpoint": base + "/mod/lti/auth.php",
            "registration_endpoint": base + REGISTRATION_PATH,
            "scopes_supported": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                                 "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
                                 "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                                 "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                                 "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
                                 "openid"],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
            PLATFORM_CONFIGURATION: {
                "product_family_code": "moodle",
                "version": "4.5",
                "messages_supported": self.messages_supported,
                "placements": ["AddContentMenu"],
            },
        }

    # -- validation of the tool's registration request, as the LMS would do it -----------------
    def _problems(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["body is not a JSON object"]
        tool = self.tool_base
        wanted = {
            "application_type": "web", "token_endpoint_auth_method": "private_key_jwt",
            "initiate_login_uri": tool + "/lti/login", "jwks_uri": tool + "/lti/jwks",
        }
        found = [f"{key} is {body.get(key)!r}, expected {value!r}" for key, value in wanted.items()
                 if body.get(key) != value]
        for key in ("client_name", "scope"):
            if not isinstance(body.get(key), str) or not body[key]:
                found.append(f"missing required attribute {key}")
        if "id_token" not in (body.get("response_types") or []):
            found.append("invalid_response_types")
        if not {"implicit", "client_credentials"} <= set(body.get("grant_types") or []):
            found.append("invalid_grant_types")
        redirect_uris = body.get("redirect_uris")
        if not isinstance(redirect_uris, list) or tool + "/lti/launch" not in redirect_uris:
            found.append("invalid_redirect_uris")
        config = body.get(TOOL_CONFIGURATION)
        if not isinstance(config, dict):
            return [*found, f"missing required attribute {TOOL_CONFIGURATION}"]
        domain = config.get("domain")
        target = config.get("target_link_uri")
        if not domain or not isinstance(target, str) or f"//{domain}/" not in target:
            found.append("target_link_uri is not in the tool's domain")
        messages = config.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) and m.get("type") for m in messages):
            found.append("invalid messages")
        else:
            for message in messages:
                if not str(message.get("target_link_uri", target)).startswith(tool + "/"):
                    found.append(f"message {message['type']} points outside the tool")
        if not isinstance(config.get("claims", []), list):
            found.append("invalid claims")
        return found

    def _build_app(self) -> Flask:
        app = Flask("fake_lms_registration")

        @app.get(CONFIGURATION_PATH)
        def openid_configuration():
            self.configuration_requests.append(dict(request.headers))
            return jsonify(self.configuration())

        @app.post(REGISTRATION_PATH)
        def openid_registration():
            self.registration_attempts += 1
            if self.registration_delay:
                time.sleep(self.registration_delay)
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                return "missing_registration_token", 401
            with self._lock:
                if header[len("Bearer "):].strip() != self.registration_token:
                    return "invalid_registration_token", 401
                if self._token_used:
                    return "token_already_used", 401
                body = request.get_json(silent=True)
                problems = self._problems(body)
                if problems:
                    self.problems.extend(problems)
                    return "; ".join(problems), 400
                if self.reject_with is not None:
                    return jsonify({"error": "invalid_client_metadata",
                                    "error_description": "this LMS does not accept new tools today"}), \
                        self.reject_with
                self._token_used = True
                self.registrations.append(body)
            answer = {**body, "client_id": self.client_id}
            tool_config = {**body[TOOL_CONFIGURATION]}
            if not self.omit_deployment_id:
                tool_config["deployment_id"] = self.deployment_id
            answer[TOOL_CONFIGURATION] = tool_config
            return jsonify(answer), self.success_status

        return app

    @contextmanager
    def serve(self) -> Iterator[FakeLmsRegistration]:
        with serve_wsgi(self.app) as url:
            self.base_url = url
            yield self

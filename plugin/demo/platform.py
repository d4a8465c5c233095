"""A small but real LTI 1.3 platform for `adal demo`: a synthetic course and people, OIDC login,
signed launches (resource link and deep linking), a token endpoint that checks Adal's client
assertion, AGS line items and scores (shown on a gradebook page) and NRPS membership.

It runs inside the `adal demo` process on 127.0.0.1 only and keeps its state in memory. It talks
to Adal only over HTTP, as an LMS would: nothing here calls Adal's code.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from jwt.algorithms import RSAAlgorithm

LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/"
SCOPES = {
    "lineitem": AGS + "scope/lineitem",
    "lineitem.readonly": AGS + "scope/lineitem.readonly",
    "result.readonly": AGS + "scope/result.readonly",
    "score": AGS + "scope/score",
    "nrps": NRPS + "scope/contextmembership.readonly",
}
CLIENT_ID, DEPLOYMENT_ID = "adal-demo", "demo-deployment-1"


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    roles: tuple[str, ...]
    locale: str
    title: Any  # lazy translated role title for the demo page
    seat: str | None = None  # chair, secretary or member of the demo's commission (set up in Adal by install_demo)


# Invented people: the names say so ("Демо", "Сынақ" = test, "Үлгі" = sample; in Russian "Тест", "Пример").
PEOPLE = (
    Person("student-aigerim", "Айгерім Демоқызы", (LIS + "Learner",), "kk", _l("student")),
    Person("student-timur", "Тимур Сынақов", (LIS + "Learner",), "ru", _l("student")),
    Person("teacher-bakyt", "Бақыт Үлгіұлы", (LIS + "Instructor",), "kk", _l("teacher")),
    Person("ta-dana", "Дана Көмекшіқызы", (LIS + "Instructor", "http://purl.imsglobal.org/vocab/lis/v2/membership/"
                                           "Instructor#TeachingAssistant"), "kk", _l("teaching assistant")),
    Person("mentor-erlan", "Ерлан Тәлімгеров", (LIS + "Mentor",), "ru", _l("mentor (no Adal workflow)")),
)
FACULTY = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"
# The school's integrity commission: staff who teach no demo course, so that a case, and later an
# appeal panel without the members who decided it, can be formed without the course's teachers.
# They open Adal from the LMS's front page, outside any course: a launch without a context claim.
COMMISSION = (
    Person("commission-gulnar", "Гүлнар Сынаққызы", (FACULTY,), "kk", _l("commission chair"), "chair"),
    Person("commission-yerzhan", "Ержан Үлгібеков", (FACULTY,), "kk", _l("commission secretary"), "secretary"),
    Person("commission-asel", "Әсел Демобаева", (FACULTY,), "kk", _l("commission member"), "member"),
    Person("commission-kanat", "Қанат Сынақбаев", (FACULTY,), "kk", _l("commission member"), "member"),
    Person("commission-olga", "Ольга Тестова", (FACULTY,), "ru", _l("commission member"), "member"),
    Person("commission-ruslan", "Руслан Примеров", (FACULTY,), "ru", _l("commission member"), "member"),
    Person("commission-madina", "Мадина Үлгіқызы", (FACULTY,), "kk", _l("commission member"), "member"),
)
COURSE = {"id": "demo-course-101", "label": "ДЕМО-101", "title": "Академиялық жазу (демо курс)"}


@dataclass
class DemoState:
    tool_base: str
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537,
                                                                                     key_size=2048))
    kid: str = field(default_factory=lambda: uuid.uuid4().hex)
    pending: dict[str, dict[str, str]] = field(default_factory=dict)  # lti_message_hint -> launch wish
    links: list[dict[str, Any]] = field(default_factory=list)  # resource links placed by deep linking
    line_items: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (line item, user) -> score
    tokens: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict)
    used_jti: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def issuer(self) -> str:
        return self.tool_base + "/demo"

    def registration(self) -> dict[str, str]:
        """What `adal platform add` needs for this platform."""
        return {"issuer": self.issuer, "client_id": CLIENT_ID, "deployment_id": DEPLOYMENT_ID,
                "keyset_url": self.issuer + "/jwks", "auth_login_url": self.issuer + "/auth",
                "auth_token_url": self.issuer + "/token"}

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def tool_key(self, token: str) -> Any:
        """Adal's public key for ``token``, fetched from Adal's JWKS as an LMS would."""
        kid = jwt.get_unverified_header(token).get("kid")
        keys = requests.get(self.tool_base + "/lti/jwks", timeout=5).json()["keys"]
        for key in keys:
            if key.get("kid") == kid:
                return RSAAlgorithm.from_jwk(key)
        raise jwt.InvalidTokenError("unknown kid")


def _person(key: str) -> Person:
    for person in (*PEOPLE, *COMMISSION):
        if person.key == key:
            return person
    abort(404)


def _front_page_claims(state: DemoState, person: Person, nonce: str) -> dict[str, Any]:
    """A launch from the LMS's front page: no context claim (LTI 1.3 allows it), so no course,
    roster or gradebook services either; the person's institution role only."""
    now = int(time.time())
    return {
        "iss": state.issuer, "aud": CLIENT_ID, "azp": CLIENT_ID, "sub": person.key, "name": person.name,
        "nonce": nonce, "iat": now, "exp": now + 300,
        LTI + "deployment_id": DEPLOYMENT_ID, LTI + "version": "1.3.0", LTI + "roles": list(person.roles),
        LTI + "message_type": "LtiResourceLinkRequest", LTI + "target_link_uri": state.tool_base + "/lti/launch",
        LTI + "resource_link": {"id": "demo-front-page", "title": "Adal"}, LTI + "custom": {"adal_view": "home"},
        LTI + "launch_presentation": {"locale": person.locale, "document_target": "iframe",
                                      "return_url": state.issuer + "/"},
    }


def create_blueprint(state: DemoState) -> Blueprint:
    bp = Blueprint("demo", __name__, url_prefix="/demo", template_folder="templates")

    @bp.get("/")
    def home() -> str:
        return render_template("demo/home.html", people=PEOPLE, course=COURSE, links=state.links,
                               commission=COMMISSION)

    @bp.get("/start")
    def start() -> Response:
        """Clicking the Adal link in the course: the platform starts an OIDC third-party login."""
        person = _person(request.args.get("person", ""))
        message = request.args.get("message", "resource")
        link = request.args.get("link", "")
        known_link = not link or (link.isdecimal() and int(link) < len(state.links))
        if message not in ("resource", "deeplink") or not known_link:
            abort(400)
        if person.seat is not None and (message != "resource" or link):
            abort(400)  # commission members are in no course: no picker, no assignment
        hint = secrets.token_urlsafe(16)
        with state.lock:
            state.pending[hint] = {"person": person.key, "message": message, "link": link}
        query = {"iss": state.issuer, "login_hint": person.key, "target_link_uri": state.tool_base + "/lti/launch",
                 "lti_message_hint": hint, "client_id": CLIENT_ID, "lti_deployment_id": DEPLOYMENT_ID}
        return redirect(state.tool_base + "/lti/login?" + urlencode(query), code=302)

    @bp.get("/auth")
    def auth() -> str:
        """The platform's OIDC authorization endpoint: answer with a signed launch."""
        args = request.args
        with state.lock:
            wish = state.pending.pop(args.get("lti_message_hint", ""), None)
        if (wish is None or args.get("client_id") != CLIENT_ID or args.get("scope") != "openid"
                or args.get("response_type") != "id_token" or args.get("response_mode") != "form_post"
                or args.get("redirect_uri") != state.tool_base + "/lti/launch" or not args.get("nonce")
                or args.get("login_hint") != wish["person"]):
            abort(400)
        person = _person(wish["person"])
        if person.seat is not None:
            token = jwt.encode(_front_page_claims(state, person, args["nonce"]), state.key, algorithm="RS256",
                               headers={"kid": state.kid})
            return render_template("demo/post.html", action=args["redirect_uri"],
                                   fields={"id_token": token, "state": args.get("state", "")})
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": state.issuer, "aud": CLIENT_ID, "azp": CLIENT_ID, "sub": person.key, "name": person.name,
            "nonce": args["nonce"], "iat": now, "exp": now + 300,
            LTI + "deployment_id": DEPLOYMENT_ID, LTI + "version": "1.3.0", LTI + "roles": list(person.roles),
            LTI + "target_link_uri": state.tool_base + "/lti/launch",
            LTI + "context": {"id": COURSE["id"], "label": COURSE["label"], "title": COURSE["title"],
                              "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
            LTI + "launch_presentation": {"locale": person.locale, "document_target": "iframe",
                                          "return_url": state.issuer + "/"},
            NRPS + "claim/namesroleservice": {"context_memberships_url": state.issuer + "/memberships",
                                              "service_versions": ["2.0"]},
            AGS + "claim/endpoint": {"scope": list(SCOPES.values())[:4], "lineitems": state.issuer + "/lineitems"},
        }
        if wish["message"] == "deeplink":
            claims[LTI + "message_type"] = "LtiDeepLinkingRequest"
            claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": state.issuer + "/deep-link-return", "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"], "accept_multiple": False,
                "data": secrets.token_urlsafe(8)}
        else:
            claims[LTI + "message_type"] = "LtiResourceLinkRequest"
            if wish["link"]:
                link = state.links[int(wish["link"])]
                claims[LTI + "resource_link"] = {"id": link["resource_link_id"], "title": link["title"]}
                claims[LTI + "custom"] = link.get("custom", {})
                claims[AGS + "claim/endpoint"]["lineitem"] = link["line_item_url"]
            else:
                claims[LTI + "resource_link"] = {"id": "demo-course-home", "title": "Adal"}
                claims[LTI + "custom"] = {"adal_view": "home"}  # a course-level link, not an assignment
        token = jwt.encode(claims, state.key, algorithm="RS256", headers={"kid": state.kid})
        return render_template("demo/post.html", action=args["redirect_uri"],
                               fields={"id_token": token, "state": args.get("state", "")})

    @bp.get("/jwks")
    def jwks() -> Response:
        return jsonify(state.jwks())

    @bp.post("/deep-link-return")
    def deep_link_return() -> Response:
        """Adal's answer from the picker, verified with Adal's published key."""
        try:
            token = request.form["JWT"]
            claims = jwt.decode(token, state.tool_key(token), algorithms=["RS256"], audience=state.issuer,
                                issuer=CLIENT_ID)
        except (KeyError, jwt.PyJWTError, requests.RequestException):
            abort(400)
        if claims.get(LTI + "message_type") != "LtiDeepLinkingResponse":
            abort(400)
        for item in claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", []):
            if item.get("type") != "ltiResourceLink":
                continue
            with state.lock:
                number = len(state.links)
                line_item_id = f"li-{number}"
                line_item = item.get("lineItem") or {}
                state.line_items[line_item_id] = {
                    "id": state.issuer + f"/lineitems/{line_item_id}", "label": line_item.get("label", item["title"]),
                    "scoreMaximum": line_item.get("scoreMaximum", 100), "resourceId": line_item.get("resourceId", ""),
                    "tag": line_item.get("tag", ""), "resourceLinkId": f"demo-link-{number}"}
                state.links.append({"title": item.get("title", "Adal"), "custom": item.get("custom", {}),
                                    "resource_link_id": f"demo-link-{number}",
                                    "line_item_url": state.issuer + f"/lineitems/{line_item_id}"})
        return redirect(url_for("demo.home"), code=303)

    # -- services Adal calls back ---------------------------------------------------------------
    @bp.post("/token")
    def token() -> Response:
        form = request.form
        try:
            assertion = form["client_assertion"]
            claims = jwt.decode(assertion, state.tool_key(assertion), algorithms=["RS256"],
                                audience=state.issuer + "/token", options={"require": ["exp", "iat", "jti"]})
        except (KeyError, jwt.PyJWTError, requests.RequestException):
            return jsonify(error="invalid_client"), 401  # type: ignore[return-value]
        if (form.get("grant_type") != "client_credentials" or claims.get("iss") != CLIENT_ID
                or claims.get("sub") != CLIENT_ID
                or form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"):
            return jsonify(error="invalid_grant"), 400  # type: ignore[return-value]
        with state.lock:
            if claims["jti"] in state.used_jti:
                return jsonify(error="invalid_grant"), 400  # type: ignore[return-value]
            state.used_jti.add(claims["jti"])
            scopes = frozenset(form.get("scope", "").split()) & set(SCOPES.values())
            access = secrets.token_urlsafe(24)
            state.tokens[access] = (time.time() + 3600, scopes)
        return jsonify(access_token=access, token_type="Bearer",  # noqa: S106 - the OAuth2 token type, not a secret
                       expires_in=3600, scope=" ".join(sorted(scopes)))

    def _require_any(scopes: tuple[str, ...]) -> None:
        """A valid bearer token from our token endpoint that grants one of ``scopes``."""
        header = request.headers.get("Authorization", "")
        found = state.tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
        if found is None or found[0] < time.time():
            abort(401)
        if not found[1] & set(scopes):
            abort(403)

    def _require(scope: str) -> None:
        _require_any((scope,))

    @bp.get("/lineitems")
    def line_items() -> Response:
        _require_any((SCOPES["lineitem"], SCOPES["lineitem.readonly"]))
        wanted = request.args.get("resource_link_id")
        items = [i for i in state.line_items.values() if not wanted or i["resourceLinkId"] == wanted]
        response = jsonify(items)
        response.mimetype = "application/vnd.ims.lis.v2.lineitemcontainer+json"
        return response

    @bp.post("/lineitems")
    def create_line_item() -> tuple[Response, int]:
        _require(SCOPES["lineitem"])
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("scoreMaximum"), int | float) or not body.get("label"):
            abort(400)
        with state.lock:
            line_item_id = f"li-{len(state.line_items)}-{secrets.token_hex(2)}"
            item = {"id": state.issuer + f"/lineitems/{line_item_id}", "label": body["label"],
                    "scoreMaximum": body["scoreMaximum"], "resourceId": body.get("resourceId", ""),
                    "tag": body.get("tag", ""), "resourceLinkId": body.get("resourceLinkId", "")}
            state.line_items[line_item_id] = item
        response = jsonify(item)
        response.mimetype = "application/vnd.ims.lis.v2.lineitem+json"
        return response, 201

    @bp.post("/lineitems/<line_item_id>/scores")
    def post_score(line_item_id: str) -> tuple[str, int]:
        _require(SCOPES["score"])
        if line_item_id not in state.line_items:
            abort(404)
        if request.mimetype != "application/vnd.ims.lis.v1.score+json":
            abort(415)
        body = request.get_json(silent=True) or {}
        if not body.get("userId") or body.get("activityProgress") is None or body.get("gradingProgress") is None:
            abort(400)
        with state.lock:
            state.scores[(line_item_id, str(body["userId"]))] = body
        return "", 204

    @bp.get("/memberships")
    def memberships() -> Response:
        _require(SCOPES["nrps"])
        page = int(request.args.get("page", "0")) if request.args.get("page", "0").isdecimal() else 0
        size = 2
        chunk = PEOPLE[page * size:(page + 1) * size]
        response = jsonify({"id": request.url, "context": {"id": COURSE["id"], "label": COURSE["label"],
                                                         "title": COURSE["title"]},
                            "members": [{"user_id": p.key, "name": p.name, "roles": list(p.roles),
                                         "status": "Active"} for p in chunk]})
        response.mimetype = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
        if (page + 1) * size < len(PEOPLE):
            response.headers["Link"] = f'<{state.issuer}/memberships?page={page + 1}>; rel="next"'
        return response

    @bp.get("/gradebook")
    def gradebook() -> str:
        students = [p for p in PEOPLE if LIS + "Learner" in p.roles]
        return render_template("demo/gradebook.html", items=state.line_items, students=students,
                               scores=state.scores)

    return bp

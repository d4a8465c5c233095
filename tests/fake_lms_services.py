"""A fake LMS's LTI Advantage services for tests: token endpoint, AGS line items and scores, NRPS.

It does not import Adal: it knows Adal only by its client id and public key set (fetched from
Adal's ``/lti/jwks`` or given), as a real platform does. The token endpoint checks the
client-credentials grant and its JWT client assertion (RS256 by a published key, ``iss`` = ``sub``
= client id, ``aud`` = the token URL, current, a ``jti`` used once) and issues a token bound to the
scopes asked for; every service endpoint checks the bearer token and its scope. It can be told to
refuse tokens, answer slowly, give short-lived tokens, forget its tokens or link to another page.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import jwt
import requests
from flask import Flask, Response, jsonify, request

from tests.servers import serve_wsgi

AGS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPE_LINEITEM = AGS_SCOPE + "lineitem"
SCOPE_LINEITEM_READONLY = AGS_SCOPE + "lineitem.readonly"
SCOPE_RESULT_READONLY = AGS_SCOPE + "result.readonly"
SCOPE_SCORE = AGS_SCOPE + "score"
SCOPE_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ALL_SCOPES = frozenset({SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE,
                        SCOPE_MEMBERSHIPS})
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_MEMBERSHIPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}


def synthetic_members(count: int) -> list[dict[str, Any]]:
    """Invented people: a teacher and ``count - 1`` students."""
    people = [{"user_id": "teacher-001", "name": "Dana Synthetic", "roles": [INSTRUCTOR], "status": "Active"}]
    people += [{"user_id": f"student-{i:03d}", "given_name": "Student", "family_name": f"Number{i}",
                "roles": [LEARNER], "status": "Active"} for i in range(1, count)]
    return people


class FakeLmsServices:
    """One LMS's service endpoints on a loopback port. State is read and set by the tests."""

    __test__ = False  # not a pytest test class

    def __init__(self, *, client_id: str = "adal-client", context_id: str = "course-101",
                 jwks_url: str | None = None, jwks: dict[str, Any] | None = None,
                 members: list[dict[str, Any]] | None = None, page_size: int = 2) -> None:
        self.client_id, self.context_id = client_id, context_id
        self.jwks_url, self._jwks = jwks_url, jwks
        self.members = members if members is not None else synthetic_members(5)
        self.page_size = page_size
        self.base_url = ""
        self.audience: str | None = None  # the token URL unless set
        self.granted_scopes: frozenset[str] = ALL_SCOPES
        # what the tests steer
        self.token_refusal: tuple[int, str] | None = None  # (status, body) instead of a token
        self.token_delay = 0.0
        self.service_delay = 0.0
        self.expires_in: Any = 3600
        self.answer_scope: bool | str = True  # echo the scopes in the token answer, leave them out, or this
        self.next_link_override: str | None = None
        # what happened
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.token_requests: list[dict[str, Any]] = []  # accepted: form, header and claims
        self.rejections: list[str] = []  # why a request was refused
        self.scores: list[dict[str, Any]] = []  # each: line item, content type, body
        self.line_items: dict[int, dict[str, Any]] = {}
        self.tokens: dict[str, tuple[frozenset[str], float]] = {}  # token -> (scopes, expires at)
        self._jtis: set[str] = set()
        self._lock = threading.Lock()
        self._release = threading.Event()  # wakes delayed handlers when the server stops
        self.app = self._build_app()

    # -- addresses a launch names -----------------------------------------------------------------
    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def lineitems_url(self) -> str:
        return f"{self.base_url}/ags/{self.context_id}/lineitems?type_id=7"  # a query, as Moodle has

    @property
    def memberships_url(self) -> str:
        return f"{self.base_url}/nrps/{self.context_id}/memberships"

    def line_item_url(self, number: int) -> str:
        return f"{self.base_url}/ags/{self.context_id}/lineitems/{number}/lineitem?type_id=7"

    def launch_claims(self, scopes: list[str] | None = None) -> dict[str, Any]:
        """The AGS and NRPS claims of a launch into this course."""
        return {
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": sorted(ALL_SCOPES - {SCOPE_MEMBERSHIPS}) if scopes is None else scopes,
                "lineitems": self.lineitems_url},
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": self.memberships_url, "service_versions": ["2.0"]},
        }

    def add_line_item(self, *, label: str, score_maximum: float, resource_link_id: str | None = None,
                      tag: str | None = None) -> str:
        with self._lock:
            number = len(self.line_items) + 1
            self.line_items[number] = {"id": self.line_item_url(number), "label": label,
                                       "scoreMaximum": score_maximum,
                                       **({"resourceLinkId": resource_link_id} if resource_link_id else {}),
                                       **({"tag": tag} if tag else {})}
        return self.line_item_url(number)

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    # -- checks -----------------------------------------------------------------------------------
    def _public_key(self, kid: str) -> Any:
        for refetch in (False, True):
            if refetch or self._jwks is None:
                if self.jwks_url is None:
                    break
                with requests.get(self.jwks_url, timeout=5) as response:
                    self._jwks = response.json()
            for jwk in (self._jwks or {}).get("keys", []):
                if jwk.get("kid") == kid:
                    return jwt.PyJWK(jwk).key
        return None

    def _refuse(self, status: int, error: str, why: str) -> Response:
        with self._lock:
            self.rejections.append(why)
        response = jsonify({"error": error, "error_description": why})
        response.status_code = status
        return response

    def _check_assertion(self, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]] | str:
        """(header, claims) of a valid client assertion, else why not."""
        if form.get("grant_type") != "client_credentials":
            return "grant_type is not client_credentials"
        if form.get("client_assertion_type") != JWT_BEARER:
            return "client_assertion_type is not jwt-bearer"
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "client_assertion is not a JWT"
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            return "assertion header lacks RS256 or kid"
        key = self._public_key(header["kid"])
        if key is None:
            return "assertion kid is not in the tool's JWKS"
        try:
            claims = jwt.decode(assertion, key, algorithms=["RS256"], audience=self.audience or self.token_url,
                                issuer=self.client_id, leeway=5,
                                options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]})
        except jwt.PyJWTError as exc:
            return f"assertion refused: {exc}"
        if claims["sub"] != self.client_id:
            return "sub is not the client id"
        if not 0 < claims["exp"] - claims["iat"] <= 600 or claims["iat"] > time.time() + 60:
            return "assertion lifetime is not short and current"
        with self._lock:
            if claims["jti"] in self._jtis:
                return "jti reused"
            self._jtis.add(claims["jti"])
        return header, claims

    def _bearer(self, *scopes: str) -> Response | None:
        """None when the request's bearer token is valid and holds one of ``scopes``."""
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return self._refuse(401, "invalid_token", "no bearer token")
        with self._lock:
            held = self.tokens.get(auth[len("Bearer "):])
        if held is None or held[1] < time.time():
            return self._refuse(401, "invalid_token", "unknown or expired token")
        if not held[0] & set(scopes):
            return self._refuse(403, "insufficient_scope", f"token lacks {scopes}")
        return None

    def _paused(self, seconds: float) -> Response | None:
        """Wait ``seconds``; when the server stops meanwhile, an answer that does nothing more (a
        late handler must not call Adal while the test tears it down)."""
        if seconds and self._release.wait(seconds):
            return Response("stopping", status=503)
        return None

    # -- the HTTP side ----------------------------------------------------------------------------
    def _build_app(self) -> Flask:
        app = Flask("fake-lms-services")
        fake = self

        @app.before_request
        def note() -> None:
            with fake._lock:
                fake.requests.append((request.method, request.path))

        @app.post("/token")
        def token() -> Any:
            stopping = fake._paused(fake.token_delay)
            if stopping is not None:
                return stopping
            if fake.token_refusal is not None:
                status, body = fake.token_refusal
                return Response(body, status=status, mimetype="application/json" if body.startswith("{") else
                                "text/html")
            if request.mimetype != "application/x-www-form-urlencoded":
                return fake._refuse(400, "invalid_request", "not a form")
            form = request.form.to_dict()
            checked = fake._check_assertion(form)
            if isinstance(checked, str):
                return fake._refuse(400, "invalid_client", checked)
            scopes = frozenset(form.get("scope", "").split())
            if not scopes or not scopes <= fake.granted_scopes:
                return fake._refuse(400, "invalid_scope", f"scopes not granted: {sorted(scopes)}")
            value = secrets.token_urlsafe(24)
            expires = fake.expires_in if isinstance(fake.expires_in, int | float) else 3600
            with fake._lock:
                fake.tokens[value] = (scopes, time.time() + expires)
                fake.token_requests.append({"form": form, "header": checked[0], "claims": checked[1],
                                            "scopes": scopes})
            answer = {"access_token": value, "token_type": "Bearer", "expires_in": fake.expires_in}
            if fake.answer_scope:
                answer["scope"] = fake.answer_scope if isinstance(fake.answer_scope, str) else " ".join(sorted(scopes))
            return jsonify(answer)

        @app.get("/ags/<context>/lineitems")
        def line_items(context: str) -> Any:
            refused = fake._bearer(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
            if refused is not None:
                return refused
            if context != fake.context_id or request.args.get("type_id") != "7":
                return fake._refuse(404, "not_found", "unknown context")
            wanted_link, wanted_tag = request.args.get("resource_link_id"), request.args.get("tag")
            with fake._lock:
                found = [item for item in fake.line_items.values()
                         if (wanted_link is None or item.get("resourceLinkId") == wanted_link)
                         and (wanted_tag is None or item.get("tag") == wanted_tag)]
            return Response(json.dumps(found), mimetype=MEDIA_LINEITEMS)

        @app.post("/ags/<context>/lineitems")
        def create_line_item(context: str) -> Any:
            refused = fake._bearer(SCOPE_LINEITEM)
            if refused is not None:
                return refused
            if request.mimetype != MEDIA_LINEITEM:
                return fake._refuse(415, "unsupported_media_type", f"line item as {request.mimetype}")
            body = request.get_json(force=True)
            if not isinstance(body.get("label"), str) or not isinstance(body.get("scoreMaximum"), int | float):
                return fake._refuse(400, "invalid_request", "line item lacks label or scoreMaximum")
            url = fake.add_line_item(label=body["label"], score_maximum=body["scoreMaximum"],
                                     resource_link_id=body.get("resourceLinkId"), tag=body.get("tag"))
            with fake._lock:
                created = next(item for item in fake.line_items.values() if item["id"] == url)
            return Response(json.dumps(created), status=201, mimetype=MEDIA_LINEITEM)

        @app.post("/ags/<context>/lineitems/<int:number>/lineitem/scores")
        def score(context: str, number: int) -> Any:
            stopping = fake._paused(fake.service_delay)
            if stopping is not None:
                return stopping
            refused = fake._bearer(SCOPE_SCORE)
            if refused is not None:
                return refused
            if number not in fake.line_items or request.args.get("type_id") != "7":
                return fake._refuse(404, "not_found", "unknown line item")
            if request.mimetype != MEDIA_SCORE:
                return fake._refuse(415, "unsupported_media_type", f"score as {request.mimetype}")
            body = json.loads(request.get_data(as_text=True))
            problem = _score_problem(body)
            if problem:
                return fake._refuse(400, "invalid_request", problem)
            with fake._lock:
                fake.scores.append({"line_item": number, "content_type": request.content_type, "body": body})
            return Response(status=204)

        @app.get("/nrps/<context>/memberships")
        def memberships(context: str) -> Any:
            stopping = fake._paused(fake.service_delay)
            if stopping is not None:
                return stopping
            refused = fake._bearer(SCOPE_MEMBERSHIPS)
            if refused is not None:
                return refused
            if MEDIA_MEMBERSHIPS not in request.headers.get("Accept", ""):
                return fake._refuse(406, "not_acceptable", "Accept lacks the membership container type")
            page = int(request.args.get("page", "1"))
            start = (page - 1) * fake.page_size
            body = {"id": request.url, "context": {"id": context, "title": "Synthetic Course 101"},
                    "members": fake.members[start:start + fake.page_size]}
            response = Response(json.dumps(body), mimetype=MEDIA_MEMBERSHIPS)
            if start + fake.page_size < len(fake.members):
                following = fake.next_link_override or f"{fake.memberships_url}?page={page + 1}"
                response.headers["Link"] = f'<{following}>; rel="next"'
            return response

        return app

    @contextmanager
    def serve(self) -> Iterator[FakeLmsServices]:
        with serve_wsgi(self.app) as url:
            self.base_url = url
            try:
                yield self
            finally:
                self._release.set()  # delayed handlers give up before the server stops


def _score_problem(body: Any) -> str | None:
    """Why a score body is not a valid AGS score, or None."""
    if not isinstance(body, dict):
        return "score is not an object"
    if not isinstance(body.get("userId"), str) or not body["userId"]:
        return "userId missing"
    if body.get("activityProgress") not in ACTIVITY or body.get("gradingProgress") not in GRADING:
        return "progress values outside the AGS vocabulary"
    timestamp = body.get("timestamp")
    try:
        parsed = datetime.fromisoformat(timestamp) if isinstance(timestamp, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        return "timestamp is not ISO 8601 with a zone"
    if "scoreGiven" in body:
        given, maximum = body["scoreGiven"], body.get("scoreMaximum")
        if not isinstance(given, int | float) or not isinstance(maximum, int | float) or maximum <= 0 or given < 0:
            return "scoreGiven needs a non-negative number and a positive scoreMaximum"
    return None

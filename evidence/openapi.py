"""The OpenAPI 3.1 description of Adal's integration API, served at ``/api/v1/openapi.json``.

Written by hand as data, next to the code it describes; ``tests/integration/test_signal_api.py``
runs schemathesis against it, so the document and the behaviour cannot drift apart unnoticed.
"""

from __future__ import annotations

import copy
from typing import Any

from evidence.integrations import MAX_BODY_BYTES, MAX_SKEW_SECONDS

_PERCENT = {"type": "number", "minimum": 0, "maximum": 100}
_LINE = {"type": "string", "minLength": 1, "maxLength": 100}
_URL = {"type": "string", "format": "uri", "maxLength": 2000, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}
_SCAN_ID = {"type": "string", "minLength": 1, "maxLength": 200,
            "description": "The vendor's id of the scan. The same id again returns the signal already stored."}
_SUBMISSION_ID = {"type": "integer", "minimum": 1,
                  "description": "Adal's submission number: the teacher's page of the submission and the "
                                 "student's receipt show it."}
_WHEN = {"type": "string", "format": "date-time",
         "description": "When the scan ran, ISO 8601 with a time zone, e.g. 2026-09-14T10:05:00Z."}

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Adal integration API",
        "version": "1.0.0",
        "summary": "Detector and originality services post their results about a submission to Adal.",
        "description": (
            "A detector result is stored and shown as a signal, never as proof (the national ethical standard "
            "for AI in education, S 2.10, 3.3, 6.11). Each integration gets a bearer token and an HMAC secret "
            "from `adal integration add NAME`.\n\n"
            "Sign every request: `X-Adal-Timestamp` is the current Unix time in seconds, and `X-Adal-Signature` "
            "is `sha256=` followed by the lowercase hex HMAC-SHA256, keyed by the secret, of the timestamp, a "
            "dot, and the raw request body (`{timestamp}.{body}`). Requests more than "
            f"{MAX_SKEW_SECONDS // 60} minutes old or ahead are refused; the body is at most "
            f"{MAX_BODY_BYTES // 1024} KB. A refused request stores nothing."
        ),
        "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/signals": {
            "post": {
                "operationId": "postSignal",
                "summary": "Attach a detector score or an originality report to a submission",
                "parameters": [
                    {"name": "X-Adal-Timestamp", "in": "header", "required": True,
                     "description": "Unix time in seconds when the request was signed.",
                     "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}},
                    {"name": "X-Adal-Signature", "in": "header", "required": True,
                     "description": "sha256= and the hex HMAC-SHA256 of `{timestamp}.{body}`.",
                     "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"oneOf": [
                        {"$ref": "#/components/schemas/SignalFields"},
                        {"$ref": "#/components/schemas/SignalVendorReport"},
                    ]}}},
                },
                "responses": {
                    "201": {"description": "Stored.", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Stored"}}}},
                    "200": {"description": "This scan was stored before; nothing changed.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stored"}}}},
                    "400": {"$ref": "#/components/responses/Error"},
                    "401": {"$ref": "#/components/responses/Error"},
                    "404": {"$ref": "#/components/responses/Error"},
                    "409": {"$ref": "#/components/responses/Error"},
                    "413": {"$ref": "#/components/responses/Error"},
                    "429": {"$ref": "#/components/responses/TooManyRequests"},
                },
            },
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "The OpenAPI document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            },
        },
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "The token printed by `adal integration add NAME`."},
        },
        "schemas": {
            "MatchedSource": {
                "type": "object", "additionalProperties": False, "required": ["title", "percent"],
                "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 300},
                               "url": _URL, "percent": _PERCENT},
            },
            "SignalFields": {
                "type": "object", "additionalProperties": False,
                "required": ["submission_id", "kind", "vendor", "product", "model_version", "score", "scanned_at",
                             "vendor_scan_id"],
                "properties": {
                    "submission_id": _SUBMISSION_ID,
                    "kind": {"type": "string", "enum": ["detector", "originality"],
                             "description": "detector: the probability, in per cent, that the text is "
                                            "machine-generated; originality: the share of non-original text "
                                            "(copied and AI content), in per cent."},
                    "vendor": _LINE, "product": _LINE, "model_version": _LINE,
                    "score": _PERCENT,
                    "scanned_at": _WHEN,
                    "vendor_scan_id": _SCAN_ID,
                    "report_url": _URL,
                    "matched_sources": {"type": "array", "maxItems": 50,
                                        "items": {"$ref": "#/components/schemas/MatchedSource"},
                                        "description": "Originality reports only."},
                },
            },
            "SignalVendorReport": {
                "type": "object", "additionalProperties": False, "required": ["submission_id", "vendor_report"],
                "properties": {
                    "submission_id": _SUBMISSION_ID,
                    "vendor_report": {
                        "type": "object",
                        "description": "The vendor's AI-detection response as it came: GPTZero "
                                       "(/v2/predict/text or /v2/predict/files) or Copyleaks "
                                       "(/v2/writer-detector/{scanId}/check).",
                    },
                    "vendor": {"type": "string", "enum": ["gptzero", "copyleaks"],
                               "description": "Optional: otherwise recognised from the report's shape."},
                    "vendor_scan_id": {**_SCAN_ID, "description": "Needed when the report carries no scan id "
                                                                  "(GPTZero's scanId, Copyleaks' "
                                                                  "scannedDocument.scanId)."},
                    "scanned_at": {**_WHEN, "description": "When the report carries no date (GPTZero): the time "
                                                           "of the scan. Without it Adal takes the time of receipt."},
                },
            },
            "Stored": {
                "type": "object", "required": ["id", "submission_id", "created"],
                "properties": {"id": {"type": "integer"}, "submission_id": {"type": "integer"},
                               "created": {"type": "boolean"},
                               "kind": {"type": "string"}, "score": {"type": "number"}},
            },
            "Error": {
                "type": "object", "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string", "description": "A stable code, e.g. bad_signature, "
                                                               "stale_timestamp, invalid_field."},
                    "message": {"type": "string", "description": "What is wrong, in the request's language."},
                    "field": {"type": "string", "description": "The field (or JSON path) that is wrong."},
                    "errors": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        },
        "responses": {
            "Error": {"description": "Refused; nothing was stored.",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "TooManyRequests": {
                "description": "Too many requests with this token in a short time (error rate_limited); nothing "
                               "was stored. Wait the number of seconds in Retry-After and send it again.",
                "headers": {"Retry-After": {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"},
                                            "description": "Seconds to wait."}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    },
}


def openapi_document() -> dict[str, Any]:
    """A fresh copy (callers may add the server's address)."""
    return copy.deepcopy(_DOCUMENT)

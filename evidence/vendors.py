"""Parsers for the AI-detection reports that detector vendors return, so that a teacher can upload
the vendor's JSON (or an integration can post it) instead of copying numbers by hand.

The field names follow the vendors' public documentation:

- GPTZero, ``POST /v2/predict/text`` and ``/v2/predict/files`` (https://gptzero.stoplight.io/,
  linked from https://gptzero.me/docs; how to read the fields:
  https://support.gptzero.me/hc/en-us/articles/15129916391831-How-do-I-use-and-interpret-the-results-from-your-API):
  ``version`` (the model), ``scanId``, ``documents[].completely_generated_prob``,
  ``class_probabilities`` {ai, human, mixed}, ``predicted_class``, ``confidence_category``
  (high/medium/low), ``confidence_score``, ``document_classification``, ``sentences[]``.
- Copyleaks AI Content Detection, ``POST /v2/writer-detector/{scanId}/check``
  (https://docs.copyleaks.com/reference/actions/writer-detector/check,
  https://docs.copyleaks.com/reference/data-types/ai-detector/ai-detector,
  https://docs.copyleaks.com/reference/data-types/authenticity/scanned-document):
  ``modelVersion``, ``summary`` {ai, human} (fractions of the text), ``results[]`` with
  ``classification`` (1 human, 2 AI) and word positions, ``scannedDocument`` {scanId, totalWords,
  creationTime}.

The input is hostile until proven otherwise: a size and a nesting limit, no NaN or infinities,
only ``json.loads`` (never eval). Anything wrong raises ``VendorFormatError`` naming the JSON
path, so a teacher (or an integration's developer) knows which field to fix.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _

from plugin.kernel.errors import InvalidInput

MAX_REPORT_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_TEXT = 100
MAX_SCAN_ID = 200
VENDORS = ("gptzero", "copyleaks")


class VendorFormatError(InvalidInput):
    """The report does not have the vendor's documented shape; ``path`` names the JSON field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


@dataclass(frozen=True)
class ParsedReport:
    """What Adal keeps from a vendor's report. ``score`` is the vendor's probability that the text
    is machine-generated, in per cent (0–100, two decimals); ``factors`` are (code, value) pairs
    that the explanation page names and formats (codes, so that the page can translate them; a
    float value is a percentage)."""

    vendor: str  # the code: gptzero or copyleaks
    vendor_name: str
    product: str
    model_version: str
    score: float
    scanned_at: datetime | None = None
    vendor_scan_id: str | None = None
    predicted_class: str | None = None
    confidence_category: str | None = None
    confidence_score: float | None = None
    class_probabilities: dict[str, float] = field(default_factory=dict)
    factors: tuple[tuple[str, float | str], ...] = ()


class _BadConstant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _BadConstant(name)


def load_json(raw: bytes, *, limit: int, what: str = "$") -> Any:
    """Decode untrusted JSON within ``limit`` bytes and ``MAX_DEPTH`` levels; ``VendorFormatError``
    otherwise (``what`` names the document in the message)."""
    if not isinstance(raw, bytes | bytearray):
        raise VendorFormatError(what, _("expected JSON bytes"))
    if len(raw) > limit:
        raise VendorFormatError(what, _("larger than %(kb)d KB", kb=limit // 1024))
    try:
        value = json.loads(bytes(raw), parse_constant=_reject_constant)
    except _BadConstant:
        raise VendorFormatError(what, _("NaN and Infinity are not JSON numbers")) from None
    except RecursionError:
        raise VendorFormatError(what, _("nested deeper than %(n)d levels", n=MAX_DEPTH)) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, integers over Python's digit limit
        raise VendorFormatError(what, _("not valid JSON (%(detail)s)", detail=_short(str(exc)))) from None
    if _depth(value) > MAX_DEPTH:
        raise VendorFormatError(what, _("nested deeper than %(n)d levels", n=MAX_DEPTH))
    return value


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 120 else line[:117] + "..."


def _depth(value: Any) -> int:
    """Nesting depth, without recursion (the value may be as deep as json.loads allowed)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


# -- typed access with paths -----------------------------------------------------------------------
_MISSING = object()


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return key if path == "$" else f"{path}.{key}"


def _field(obj: dict[str, Any], path: str, key: str, *, required: bool = True) -> tuple[Any, str]:
    where = _join(path, key)
    value = obj.get(key, _MISSING)
    if value is _MISSING or (value is None and not required):
        if required:
            raise VendorFormatError(where, _("missing"))
        return _MISSING, where
    return value, where


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise VendorFormatError(where, _("expected an object"))
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise VendorFormatError(where, _("expected a list"))
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fraction(value: Any, where: str) -> float:
    if not _number(value) or not 0 <= value <= 1:
        raise VendorFormatError(where, _("expected a number from 0 to 1"))
    return float(value)


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise VendorFormatError(where, _("expected a whole number, 0 or more"))
    return value


def _text(value: Any, where: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit or not value.isprintable():
        raise VendorFormatError(where, _("expected one line of text (at most %(n)d characters)", n=limit))
    return value.strip()


def _moment(value: Any, where: str) -> datetime:
    problem = _("expected a date and time with a time zone (ISO 8601)")
    if not isinstance(value, str) or len(value) > 64:
        raise VendorFormatError(where, problem)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise VendorFormatError(where, problem) from None
    if moment.tzinfo is None:
        raise VendorFormatError(where, problem)
    return moment.astimezone(UTC)


def _percent(fraction: float) -> float:
    return round(fraction * 100, 2)


def _share(fraction: float) -> float:
    return _percent(fraction)


# -- GPTZero ------------------------------------------------------------------------------------
def _gptzero(root: dict[str, Any]) -> ParsedReport:
    version, where = _field(root, "$", "version")
    model_version = _text(version, where)
    scan_id = None
    raw_scan, where = _field(root, "$", "scanId", required=False)
    if raw_scan is not _MISSING:
        scan_id = _text(raw_scan, where, MAX_SCAN_ID)
    documents, where = _field(root, "$", "documents")
    documents = _list(documents, where)
    if not documents:
        raise VendorFormatError(where, _("expected one document, found none"))
    if len(documents) > 1:
        raise VendorFormatError(where, _("expected one document, found %(n)d: upload one report per document",
                                         n=len(documents)))
    doc = _object(documents[0], "documents[0]")
    prob, where = _field(doc, "documents[0]", "completely_generated_prob")
    score = _fraction(prob, where)

    classes: dict[str, float] = {}
    raw_classes, where = _field(doc, "documents[0]", "class_probabilities", required=False)
    if raw_classes is not _MISSING:
        for name, value in _object(raw_classes, where).items():
            if name in ("ai", "human", "mixed"):
                classes[name] = _fraction(value, _join(where, name))
    optional: dict[str, Any] = {}
    for key in ("predicted_class", "confidence_category", "document_classification"):
        value, where = _field(doc, "documents[0]", key, required=False)
        optional[key] = None if value is _MISSING else _text(value, where)
    confidence_score = None
    value, where = _field(doc, "documents[0]", "confidence_score", required=False)
    if value is not _MISSING:
        confidence_score = _fraction(value, where)
    average = None
    value, where = _field(doc, "documents[0]", "average_generated_prob", required=False)
    if value is not _MISSING:
        average = _fraction(value, where)
    flagged = total = None
    value, where = _field(doc, "documents[0]", "sentences", required=False)
    if value is not _MISSING:
        sentences = _list(value, where)
        total = len(sentences)
        flagged = 0
        for index, sentence in enumerate(sentences):
            sentence = _object(sentence, _join(where, index))
            mark = sentence.get("highlight_sentence_for_ai")
            if mark is not None and not isinstance(mark, bool):
                raise VendorFormatError(_join(_join(where, index), "highlight_sentence_for_ai"),
                                        _("expected true or false"))
            flagged += mark is True

    factors: list[tuple[str, float | str]] = [("completely_generated_prob", _share(score))]
    if average is not None:
        factors.append(("average_generated_prob", _share(average)))
    factors += [(f"class_{name}", _share(classes[name])) for name in ("ai", "mixed", "human") if name in classes]
    if optional["document_classification"]:
        factors.append(("document_classification", optional["document_classification"]))
    if flagged is not None and total is not None:
        factors.append(("sentences_highlighted", f"{flagged} / {total}"))
    return ParsedReport(vendor="gptzero", vendor_name="GPTZero", product="GPTZero AI detector",
                        model_version=model_version, score=_percent(score), vendor_scan_id=scan_id,
                        predicted_class=optional["predicted_class"],
                        confidence_category=optional["confidence_category"], confidence_score=confidence_score,
                        class_probabilities=classes, factors=tuple(factors))


# -- Copyleaks ------------------------------------------------------------------------------------
def _copyleaks(root: dict[str, Any]) -> ParsedReport:
    version, where = _field(root, "$", "modelVersion")
    model_version = _text(version, where)
    summary, where = _field(root, "$", "summary")
    summary = _object(summary, where)
    ai, where = _field(summary, "summary", "ai")
    ai_share = _fraction(ai, where)
    human_share = None
    human, where = _field(summary, "summary", "human", required=False)
    if human is not _MISSING:
        human_share = _fraction(human, where)

    scan_id = scanned_at = total_words = None
    document, where = _field(root, "$", "scannedDocument", required=False)
    if document is not _MISSING:
        document = _object(document, where)
        value, at = _field(document, "scannedDocument", "scanId", required=False)
        if value is not _MISSING:
            scan_id = _text(value, at, MAX_SCAN_ID)
        value, at = _field(document, "scannedDocument", "creationTime", required=False)
        if value is not _MISSING:
            scanned_at = _moment(value, at)
        value, at = _field(document, "scannedDocument", "totalWords", required=False)
        if value is not _MISSING:
            total_words = _count(value, at)

    ai_sections = ai_words = 0
    results, where = _field(root, "$", "results", required=False)
    if results is not _MISSING:
        for index, result in enumerate(_list(results, where)):
            here = _join(where, index)
            result = _object(result, here)
            kind, at = _field(result, here, "classification")
            if kind not in (1, 2) or isinstance(kind, bool):
                raise VendorFormatError(at, _("expected 1 (human) or 2 (AI)"))
            words = _matched_words(result, here)
            if kind == 2:
                ai_sections += 1
                ai_words += words

    factors: list[tuple[str, float | str]] = [("summary_ai", _share(ai_share))]
    if human_share is not None:
        factors.append(("summary_human", _share(human_share)))
    if results is not _MISSING:
        factors.append(("ai_sections", str(ai_sections)))
        factors.append(("ai_words", f"{ai_words} / {total_words}" if total_words is not None else str(ai_words)))
    elif total_words is not None:
        factors.append(("total_words", str(total_words)))
    return ParsedReport(vendor="copyleaks", vendor_name="Copyleaks", product="Copyleaks AI Content Detection",
                        model_version=model_version, score=_percent(ai_share), scanned_at=scanned_at,
                        vendor_scan_id=scan_id, factors=tuple(factors))


def _matched_words(result: dict[str, Any], here: str) -> int:
    """The words a result's matches cover (``matches[].text.words.lengths``), when given."""
    matches, where = _field(result, here, "matches", required=False)
    if matches is _MISSING:
        return 0
    words = 0
    for index, match in enumerate(_list(matches, where)):
        at = _join(where, index)
        text, at = _field(_object(match, at), at, "text", required=False)
        if text is _MISSING:
            continue
        positions, at = _field(_object(text, at), at, "words", required=False)
        if positions is _MISSING:
            continue
        lengths, at = _field(_object(positions, at), at, "lengths", required=False)
        if lengths is _MISSING:
            continue
        words += sum(_count(length, _join(at, i)) for i, length in enumerate(_list(lengths, at)))
    return words


# -- entry point ---------------------------------------------------------------------------------
_PARSERS = {"gptzero": _gptzero, "copyleaks": _copyleaks}


def detect_vendor(root: Any) -> str:
    """Which vendor's shape ``root`` has, by its top-level keys."""
    root = _object(root, "$")
    if "documents" in root:
        return "gptzero"
    if {"summary", "modelVersion", "scannedDocument"} & root.keys():
        return "copyleaks"
    raise VendorFormatError("$", _("not a GPTZero or Copyleaks AI-detection response (it has neither "
                                   "\"documents\" nor \"summary\")"))


def parse_vendor_report(raw: bytes, vendor: str | None = None) -> ParsedReport:
    """Read a vendor's AI-detection response. ``vendor`` (gptzero or copyleaks) is detected from
    the shape when not given.

    Raises ``VendorFormatError`` (the JSON path and what is wrong) for anything else: too large,
    too deep, not JSON, not the vendor's documented shape, a probability outside 0–1.
    """
    root = parse_vendor_json(raw)
    return parse_vendor_value(root, vendor)


def parse_vendor_json(raw: bytes) -> Any:
    return load_json(raw, limit=MAX_REPORT_BYTES)


def parse_vendor_value(root: Any, vendor: str | None = None) -> ParsedReport:
    """``parse_vendor_report`` for an already decoded value (the API receives it inside its body)."""
    if vendor is None:
        code = detect_vendor(root)
    else:
        code = vendor.strip().lower()
        if code not in _PARSERS:
            raise VendorFormatError("vendor", _("unknown vendor; Adal reads: %(names)s", names=", ".join(VENDORS)))
    return _PARSERS[code](_object(root, "$"))

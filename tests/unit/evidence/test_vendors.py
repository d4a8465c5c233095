"""The vendor report parsers: realistic GPTZero and Copyleaks responses, every refusal naming its
JSON path, and property tests (hypothesis) that nothing but ``VendorFormatError`` ever escapes."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.vendors import (
    MAX_DEPTH,
    MAX_REPORT_BYTES,
    ParsedReport,
    VendorFormatError,
    parse_vendor_report,
)
from plugin.kernel.errors import InvalidInput
from tests.unit.evidence.vendor_samples import as_bytes, copyleaks_report, gptzero_report

# No example database in the working tree; no deadline (a loaded CI machine is not a bug).
PROPERTY = settings(database=None, deadline=None, max_examples=300,
                    suppress_health_check=[HealthCheck.too_slow])


# -- realistic responses ---------------------------------------------------------------------------
def test_gptzero_response_is_read_with_its_model_scan_and_confidence() -> None:
    parsed = parse_vendor_report(as_bytes(gptzero_report()))
    assert parsed.vendor == "gptzero" and parsed.vendor_name == "GPTZero"
    assert parsed.model_version == "2025-01-09-base"
    assert parsed.vendor_scan_id == "5b0d7c3e-1f7a-4d61-9d55-0c2f8b7a9e10"
    assert parsed.score == 74.15
    assert parsed.scanned_at is None  # GPTZero's response carries no date
    assert parsed.predicted_class == "ai" and parsed.confidence_category == "medium"
    assert parsed.confidence_score == pytest.approx(0.7415)
    assert parsed.class_probabilities == {"ai": 0.7415, "human": 0.1903, "mixed": 0.0682}
    factors = dict(parsed.factors)
    assert factors["completely_generated_prob"] == 74.15
    assert factors["sentences_highlighted"] == "2 / 3"
    assert factors["document_classification"] == "AI_ONLY"


def test_copyleaks_response_is_read_with_its_date_and_sections() -> None:
    parsed = parse_vendor_report(as_bytes(copyleaks_report()))
    assert parsed.vendor == "copyleaks" and parsed.vendor_name == "Copyleaks"
    assert parsed.model_version == "v7.1"
    assert parsed.vendor_scan_id == "adal-sub-17-2026"
    assert parsed.score == 57.0
    # Copyleaks writes seven decimals of a second; the date survives them.
    assert parsed.scanned_at == datetime(2026, 9, 14, 10, 7, 58, 945951, tzinfo=UTC)
    factors = dict(parsed.factors)
    assert factors["summary_ai"] == 57.0 and factors["summary_human"] == 43.0
    assert factors["ai_sections"] == "1" and factors["ai_words"] == "126 / 221"


def test_the_vendor_can_be_named_instead_of_detected() -> None:
    assert parse_vendor_report(as_bytes(gptzero_report()), "GPTZero").vendor == "gptzero"
    with pytest.raises(VendorFormatError, match=r"^modelVersion: missing$"):
        parse_vendor_report(as_bytes(gptzero_report()), "copyleaks")
    with pytest.raises(VendorFormatError) as caught:
        parse_vendor_report(as_bytes(gptzero_report()), "turnitin")
    assert caught.value.path == "vendor"


def test_minimal_copyleaks_response_without_sections_or_document() -> None:
    parsed = parse_vendor_report(as_bytes({"modelVersion": "v5", "summary": {"ai": 0, "human": 1}}))
    assert parsed.score == 0 and parsed.vendor_scan_id is None and parsed.scanned_at is None


# -- refusals name the path ------------------------------------------------------------------------
def _without(report: dict[str, Any], *path: str | int) -> dict[str, Any]:
    target: Any = report
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return report


def _with(report: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    target: Any = report
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return report


@pytest.mark.parametrize(("report", "message"), [
    (_without(gptzero_report(), "documents", 0, "completely_generated_prob"),
     "documents[0].completely_generated_prob: missing"),
    (_with(gptzero_report(), 1.2, "documents", 0, "completely_generated_prob"),
     "documents[0].completely_generated_prob: expected a number from 0 to 1"),
    (_with(gptzero_report(), "0.7", "documents", 0, "completely_generated_prob"),
     "documents[0].completely_generated_prob: expected a number from 0 to 1"),
    (_with(gptzero_report(), True, "documents", 0, "completely_generated_prob"),
     "documents[0].completely_generated_prob: expected a number from 0 to 1"),
    (_without(gptzero_report(), "version"), "version: missing"),
    (_with(gptzero_report(), "", "version"), "version: expected one line of text (at most 100 characters)"),
    (_with(gptzero_report(), [], "documents"), "documents: expected one document, found none"),
    (_with(gptzero_report(), {"0": {}}, "documents"), "documents: expected a list"),
    (_with(gptzero_report(), "x", "documents", 0), "documents[0]: expected an object"),
    (_with(gptzero_report(), -0.1, "documents", 0, "class_probabilities", "human"),
     "documents[0].class_probabilities.human: expected a number from 0 to 1"),
    (_with(gptzero_report(), "yes", "documents", 0, "sentences", 1, "highlight_sentence_for_ai"),
     "documents[0].sentences[1].highlight_sentence_for_ai: expected true or false"),
    (_without(copyleaks_report(), "summary", "ai"), "summary.ai: missing"),
    (_with(copyleaks_report(), 57, "summary", "ai"), "summary.ai: expected a number from 0 to 1"),
    (_without(copyleaks_report(), "modelVersion"), "modelVersion: missing"),
    (_with(copyleaks_report(), 3, "results", 1, "classification"),
     "results[1].classification: expected 1 (human) or 2 (AI)"),
    (_with(copyleaks_report(), "2026-09-14 10:07", "scannedDocument", "creationTime"),
     "scannedDocument.creationTime: expected a date and time with a time zone (ISO 8601)"),
    (_with(copyleaks_report(), [-1], "results", 0, "matches", 0, "text", "words", "lengths"),
     "results[0].matches[0].text.words.lengths[0]: expected a whole number, 0 or more"),
])
def test_a_wrong_field_is_named_by_its_path(report: dict[str, Any], message: str) -> None:
    with pytest.raises(VendorFormatError) as caught:
        parse_vendor_report(as_bytes(report))
    assert str(caught.value) == message
    assert isinstance(caught.value, InvalidInput)  # views answer it with 400 and change nothing


def test_a_report_for_several_documents_is_refused() -> None:
    report = gptzero_report()
    report["documents"].append(report["documents"][0])
    with pytest.raises(VendorFormatError, match=r"^documents: expected one document, found 2"):
        parse_vendor_report(as_bytes(report))


@pytest.mark.parametrize(("raw", "message"), [
    (b"", r"^\$: not valid JSON"),
    (b"{\"documents\": [", r"^\$: not valid JSON"),
    (b"\xff\xfe\x00garbage", r"^\$: not valid JSON"),
    (b"[1, 2]", r"^\$: expected an object$"),
    (b"{}", r"^\$: not a GPTZero or Copyleaks AI-detection response"),
    (b'{"summary": {"ai": NaN}, "modelVersion": "v1"}', r"^\$: NaN and Infinity are not JSON numbers$"),
    (b'{"summary": {"ai": 1e999}, "modelVersion": "v1"}', r"^summary.ai: expected a number from 0 to 1$"),
    (b'{"summary": {"ai": ' + b"9" * 5000 + b'}, "modelVersion": "v1"}', r"^\$: not valid JSON"),
])
def test_malformed_input_is_refused_with_a_reason(raw: bytes, message: str) -> None:
    with pytest.raises(VendorFormatError, match=message):
        parse_vendor_report(raw)


def test_size_and_depth_limits() -> None:
    report = gptzero_report()
    report["padding"] = "x" * MAX_REPORT_BYTES
    with pytest.raises(VendorFormatError, match=r"^\$: larger than 2048 KB$"):
        parse_vendor_report(as_bytes(report))
    shallow_enough = gptzero_report()
    nest: Any = 0
    for _level in range(MAX_DEPTH - 1):
        nest = [nest]
    shallow_enough["extra"] = nest  # the root object and 63 lists: exactly the limit
    assert parse_vendor_report(as_bytes(shallow_enough)).score == 74.15
    too_deep = gptzero_report()
    too_deep["extra"] = [nest]
    with pytest.raises(VendorFormatError, match=r"^\$: nested deeper than 64 levels$"):
        parse_vendor_report(as_bytes(too_deep))
    # Deeper than Python's own recursion limit: refused, not a crash.
    with pytest.raises(VendorFormatError, match=r"nested deeper"):
        parse_vendor_report(b"[" * 200_000 + b"]" * 200_000)


# -- properties ----------------------------------------------------------------------------------------
_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=5)
                     | st.dictionaries(st.text(max_size=12), inner, max_size=6), max_leaves=40)
_KEYS = st.sampled_from(["documents", "summary", "modelVersion", "version", "scannedDocument", "results",
                         "completely_generated_prob", "class_probabilities", "ai", "human", "scanId",
                         "creationTime", "classification", "matches", "text", "words", "lengths", "sentences",
                         "highlight_sentence_for_ai", "confidence_score", "predicted_class", "totalWords"])
# JSON that looks like the vendors' shapes often enough to reach deep into the parsers.
_VENDORISH = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(_KEYS | st.text(max_size=6), inner, max_size=6), max_leaves=60)


def _only_vendor_errors(raw: bytes, vendor: str | None = None) -> ParsedReport | None:
    refusal: VendorFormatError | None = None
    try:
        parsed = parse_vendor_report(raw, vendor)
    except VendorFormatError as exc:  # anything else propagates and fails the property
        refusal = exc
    if refusal is not None:
        assert refusal.path and str(refusal).startswith(refusal.path + ": ")
        return None
    assert 0 <= parsed.score <= 100 and math.isfinite(parsed.score)
    assert parsed.model_version.strip()
    return parsed


@PROPERTY
@given(_JSON, st.sampled_from([None, "gptzero", "copyleaks"]))
def test_random_json_raises_nothing_but_vendor_format_error(value: Any, vendor: str | None) -> None:
    _only_vendor_errors(json.dumps(value).encode("utf-8"), vendor)


@PROPERTY
@given(st.dictionaries(_KEYS, _VENDORISH, min_size=1, max_size=6))
def test_vendor_like_json_raises_nothing_but_vendor_format_error(value: dict[str, Any]) -> None:
    _only_vendor_errors(json.dumps(value).encode("utf-8"))


@PROPERTY
@given(st.binary(max_size=200))
def test_random_bytes_raise_nothing_but_vendor_format_error(raw: bytes) -> None:
    _only_vendor_errors(raw)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@PROPERTY
@given(st.data(), st.sampled_from(["gptzero", "copyleaks"]), _SCALARS | st.lists(_SCALARS, max_size=2),
       st.booleans())
def test_a_damaged_real_report_is_refused_or_still_sane(data: st.DataObject, vendor: str, replacement: Any,
                                                        delete: bool) -> None:
    report = gptzero_report() if vendor == "gptzero" else copyleaks_report()
    path = data.draw(st.sampled_from(_paths(report)))
    damaged = _without(report, *path) if delete else _with(report, replacement, *path)
    _only_vendor_errors(as_bytes(damaged), vendor)


_FRACTION = st.floats(min_value=0, max_value=1, allow_nan=False) | st.sampled_from([0, 1])
_LINE = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), min_size=1,
                max_size=40).filter(lambda s: s.strip() and s.isprintable())


@PROPERTY
@given(prob=_FRACTION, ai=_FRACTION, human=_FRACTION, version=_LINE, scan=st.none() | _LINE,
       highlights=st.lists(st.booleans(), max_size=8))
def test_generated_gptzero_reports_round_trip_the_score(prob: float, ai: float, human: float, version: str,
                                                        scan: str | None, highlights: list[bool]) -> None:
    report: dict[str, Any] = {"version": version, "documents": [{
        "completely_generated_prob": prob, "class_probabilities": {"ai": ai, "human": human, "mixed": 0},
        "sentences": [{"sentence": "s", "generated_prob": 0.5, "highlight_sentence_for_ai": h} for h in highlights],
    }]}
    if scan is not None:
        report["scanId"] = scan
    parsed = parse_vendor_report(as_bytes(report))
    assert parsed.vendor == "gptzero"
    assert parsed.score == round(prob * 100, 2) and 0 <= parsed.score <= 100
    assert parsed.model_version == version.strip()
    assert parsed.vendor_scan_id == (scan.strip() if scan else None)
    assert dict(parsed.factors)["sentences_highlighted"] == f"{sum(highlights)} / {len(highlights)}"


@PROPERTY
# hypothesis takes naive bounds and adds the zone itself (timezones=).
@given(ai=_FRACTION, version=_LINE,
       when=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1),  # noqa: DTZ001
                         timezones=st.just(UTC)),
       sections=st.lists(st.tuples(st.sampled_from([1, 2]), st.integers(0, 5000)), max_size=6))
def test_generated_copyleaks_reports_round_trip_the_score(ai: float, version: str, when: datetime,
                                                          sections: list[tuple[int, int]]) -> None:
    report = {"modelVersion": version, "summary": {"ai": ai, "human": 1 - ai},
              "scannedDocument": {"scanId": "scan-1", "creationTime": when.isoformat().replace("+00:00", "Z")},
              "results": [{"classification": kind, "probability": 1,
                           "matches": [{"text": {"words": {"starts": [0], "lengths": [words]}}}]}
                          for kind, words in sections]}
    parsed = parse_vendor_report(as_bytes(report))
    assert parsed.vendor == "copyleaks"
    assert parsed.score == round(ai * 100, 2) and 0 <= parsed.score <= 100
    assert parsed.scanned_at == when
    assert dict(parsed.factors)["ai_words"] == str(sum(words for kind, words in sections if kind == 2))

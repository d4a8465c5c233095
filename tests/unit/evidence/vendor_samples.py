"""Synthetic AI-detection responses in the shapes GPTZero and Copyleaks document (see the
comment at the top of ``evidence/vendors.py`` for the sources). The texts are invented; no
student's work was ever sent anywhere to make them."""

from __future__ import annotations

import copy
import json
from typing import Any

_GPTZERO: dict[str, Any] = {
    "version": "2025-01-09-base",
    "scanId": "5b0d7c3e-1f7a-4d61-9d55-0c2f8b7a9e10",
    "neatVersion": "1.0.0",
    "documents": [
        {
            "average_generated_prob": 0.6912,
            "completely_generated_prob": 0.7415,
            "overall_burstiness": 0,
            "paragraphs": [
                {"completely_generated_prob": 0.7415, "num_sentences": 3, "start_sentence_index": 0},
            ],
            "sentences": [
                {"generated_prob": 0.82, "perplexity": 14, "sentence": "Synthetic sentence one about rivers.",
                 "highlight_sentence_for_ai": True},
                {"generated_prob": 0.77, "perplexity": 19, "sentence": "Synthetic sentence two about lakes.",
                 "highlight_sentence_for_ai": True},
                {"generated_prob": 0.21, "perplexity": 61, "sentence": "A third synthetic sentence.",
                 "highlight_sentence_for_ai": False},
            ],
            "class_probabilities": {"ai": 0.7415, "human": 0.1903, "mixed": 0.0682},
            "predicted_class": "ai",
            "confidence_category": "medium",
            "confidence_score": 0.7415,
            "confidence_scores_raw": {"identity": {"ai": 0.7415, "human": 0.1903, "mixed": 0.0682}},
            "confidence_thresholds_raw": {"identity": {"ai": {"reject": 0.65, "low": 0.75, "medium": 0.92},
                                                       "human": {"reject": 0.7, "low": 0.82, "medium": 0.92},
                                                       "mixed": {"reject": 0.7, "low": 0.8, "medium": 0.88}}},
            "document_classification": "AI_ONLY",
            "result_message": "Our detector is moderately confident that the text is written by AI.",
            "language": "en",
            "writing_stats": {},
        },
    ],
}

_COPYLEAKS: dict[str, Any] = {
    "modelVersion": "v7.1",
    "results": [
        {"classification": 2, "probability": 1,
         "matches": [{"text": {"chars": {"starts": [0], "lengths": [812]},
                               "words": {"starts": [0], "lengths": [126]}}}]},
        {"classification": 1, "probability": 1,
         "matches": [{"text": {"chars": {"starts": [812], "lengths": [640]},
                               "words": {"starts": [126], "lengths": [95]}}}]},
    ],
    "summary": {"human": 0.43, "ai": 0.57},
    "scannedDocument": {
        "scanId": "adal-sub-17-2026",
        "totalWords": 221,
        "totalExcluded": 0,
        "actualCredits": 1,
        "expectedCredits": 1,
        "creationTime": "2026-09-14T10:07:58.9459512Z",
    },
}


def gptzero_report() -> dict[str, Any]:
    return copy.deepcopy(_GPTZERO)


def copyleaks_report() -> dict[str, Any]:
    return copy.deepcopy(_COPYLEAKS)


def as_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")

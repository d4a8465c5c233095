"""The wording rule for detector results: a detector *estimates a probability of machine-generated
text*; it never says a work is "AI-written" (nor «ЖИ жазған», «написано ИИ»), in any template,
catalog or evidence source. And every template that prints a signal's score does it through the
signal card, which always carries the caveat (S 6.11)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("plugin", "lti", "attribution", "evidence", "appeals")
FORBIDDEN = re.compile(
    r"AI[\s-]*written|written\s+(?:by|with)\s+(?:an?\s+)?(?:AI|artificial intelligence)|AI[\s-]*authored"
    r"|ЖИ[\s-]*(?:жазған|жазды|жазылған)|ЖИ[\s-]*мен\s+жазылған|жасанды\s+интеллект\s+жазған"
    r"|написан\w*\s+(?:с\s+помощью\s+)?(?:ИИ|искусственн\w+\s+интеллект\w*)|ИИ[\s-]*написан\w*",
    re.IGNORECASE)
#: Messages about detector results: the rule applies to them in every language.
ABOUT_DETECTORS = re.compile(r"detector|signal|score|probab|machine-generated", re.IGNORECASE)


def _templates() -> list[Path]:
    found: list[Path] = []
    for package in PACKAGES:
        base = ROOT / package
        if base.is_dir():
            found += [p for p in base.rglob("templates/**/*") if p.suffix in (".html", ".txt")]
    return sorted(found)


def test_the_phrase_is_recognised() -> None:
    for text in ("AI-written", "written by AI", "ai written essay", "ЖИ жазған мәтін", "Написано ИИ",
                 "написан с помощью искусственного интеллекта"):
        assert FORBIDDEN.search(text), text
    for text in ("the detector estimates a 74 % probability of machine-generated text",
                 "Детектор мәтіннің машинамен жасалу ықтималдығын 74 % деп бағалайды.",
                 "Детектор оценивает вероятность машинно сгенерированного текста в 74 %."):
        assert not FORBIDDEN.search(text), text


def test_no_template_calls_anything_ai_written() -> None:
    templates = _templates()
    assert any(p.name == "_signal.html" for p in templates)
    offending = [f"{p.relative_to(ROOT)}:{n}" for p in templates
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if FORBIDDEN.search(line)]
    assert not offending


def test_no_evidence_source_calls_a_detector_result_ai_written() -> None:
    sources = sorted((ROOT / "evidence").rglob("*.py"))
    assert sources
    offending = [f"{p.relative_to(ROOT)}:{n}" for p in sources
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 # a line stating the rule ("never called ...") is not a use of the phrase
                 if FORBIDDEN.search(line) and "FORBIDDEN" not in line and "never" not in line]
    assert not offending


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_no_catalog_message_about_detectors_says_ai_written(lang: str) -> None:
    path = ROOT / "plugin" / "translations" / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    offending = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        about = any(ABOUT_DETECTORS.search(i) for i in ids) or any(
            re.search(r"детектор|сигнал", t or "", re.IGNORECASE) for t in texts)
        if about and any(FORBIDDEN.search(t or "") for t in (*ids, *texts)):
            offending.append(ids[0])
    assert not offending


_SCORE_IN_TEMPLATE = re.compile(r"\bsignal\w*\.score\b|\bview\.headline\b|\.score_text\b")


def test_every_template_that_prints_a_score_shows_the_caveat() -> None:
    """A template that prints a signal's score does it through the signal card, or prints the
    caveat itself (``{{ caveat }}``, which views pass as ``evidence.signals.CAVEAT``). The pages
    test renders them all to check the result in every language."""
    allowed = {"_signal.html"}
    offending = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        if path.name in allowed or not _SCORE_IN_TEMPLATE.search(text):
            continue
        if "signal_card(" not in text and "{{ caveat }}" not in text:
            offending.append(str(path.relative_to(ROOT)))
    assert not offending
    card = (ROOT / "evidence" / "templates" / "evidence" / "_signal.html").read_text(encoding="utf-8")
    assert ("This is a probabilistic signal from an automated detector, not proof. It is never the only ground "
            "for an accusation.") in card
    # The caveat sits outside every {% if %} of the card: no signal is shown without it.
    before_caveat = card.split("This is a probabilistic signal", 1)[0].split("macro signal_card", 1)[1]
    assert "{%- if" not in before_caveat and "{% if" not in before_caveat

"""Language choice: the user's explicit choice, then the LTI launch locale, then the browser's
Accept-Language, then Kazakh. Every user-facing string goes through gettext (Flask-Babel)."""

from __future__ import annotations

from flask import has_request_context, request, session

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
#: Native names, shown in the language switcher in every language.
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

SESSION_CHOICE = "lang"
SESSION_LTI_LOCALE = "lti_locale"


def normalise(tag: str | None) -> str | None:
    """Map a BCP 47 tag (``ru-RU``, ``kk_KZ``, ``en-GB``) onto one of our languages, else None."""
    if not tag:
        return None
    primary = tag.replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE
    for candidate in (session.get(SESSION_CHOICE), session.get(SESSION_LTI_LOCALE)):
        chosen = normalise(candidate)
        if chosen:
            return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE

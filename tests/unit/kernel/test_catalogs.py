"""The translation catalogs cover every string in the code, and kk and ru are really translated.

The template is extracted afresh by ``scripts/i18n extract`` (the same babel.cfg and keywords
maintainers use), so a string added to the code without ``scripts/i18n update`` and a translation
fails here. See docs/i18n.md.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "plugin" / "translations"
LOCALES = ("kk", "ru", "en")
#: Languages whose every string must differ from the English msgid (unless exempt).
TRANSLATED = ("kk", "ru")
PLURAL_FORMS = {
    "kk": "nplurals=2; plural=(n != 1);",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
    "en": "nplurals=2; plural=(n != 1);",
}
#: Strings that stay the same in every language.
UNTRANSLATED = frozenset({"Adal"})  # the product name

#: A printf-style placeholder (%(name)s, %d, %%), else a lone % that would break formatting.
FORMAT_TOKEN = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]|%"
)
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def _pybabel() -> str:
    beside = Path(sys.executable).with_name("pybabel")
    return str(beside) if beside.exists() else shutil.which("pybabel") or "pybabel"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    result = subprocess.run(["bash", str(ROOT / "scripts" / "i18n"), "extract", str(pot)],
                            env={**os.environ, "PYBABEL": _pybabel()}, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, f"scripts/i18n extract failed:\n{result.stderr}"
    with pot.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def catalogs() -> dict[str, Catalog]:
    loaded = {}
    for locale in LOCALES:
        path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run scripts/i18n update"
        with path.open("rb") as f:
            loaded[locale] = read_po(f, locale=locale)
    return loaded


def _messages(catalog: Catalog) -> Iterator[Message]:
    return (m for m in catalog if m.id)


def _ids(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _label(message: Message) -> str:
    context = f" [context {message.context!r}]" if message.context else ""
    return f"{_ids(message)[0]!r}{context}"


def _report(problem: str, offenders: list[str]) -> str:
    return f"{len(offenders)} {problem}:\n" + "\n".join(f"  - {o}" for o in offenders)


def _exempt(msgid: str) -> bool:
    """The product name, and strings with no English word in them (numbers, signs, placeholders)."""
    return msgid in UNTRANSLATED or not LATIN_WORD.search(FORMAT_TOKEN.sub("", msgid))


def _format_signature(text: str) -> tuple[frozenset[str], tuple[str, ...], int]:
    """Named placeholders (any order), positional ones (in order) and stray % signs."""
    named, positional, stray = set(), [], 0
    for match in FORMAT_TOKEN.finditer(text):
        token = match.group(0)
        if match.group("name") is not None:
            named.add(token)
        elif token == "%":
            stray += 1
        elif token != "%%":
            positional.append(token)
    return frozenset(named), tuple(positional), stray


def test_template_is_not_empty(template: Catalog) -> None:
    assert len(list(_messages(template))) > 0, "extraction found no strings: is babel.cfg right?"


@pytest.mark.parametrize("locale", LOCALES)
def test_header(catalogs: dict[str, Catalog], locale: str) -> None:
    catalog = catalogs[locale]
    headers = dict(catalog.mime_headers)
    assert headers["Language"] == locale
    assert headers["Plural-Forms"] == PLURAL_FORMS[locale]
    assert not catalog.fuzzy, f"{locale}: the header is marked fuzzy, so pybabel compile would skip the catalog"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_extracted_string_is_in_the_catalog(template: Catalog, catalogs: dict[str, Catalog],
                                                  locale: str) -> None:
    catalog = catalogs[locale]
    missing = [_label(m) for m in _messages(template) if catalog.get(m.id, m.context) is None]
    assert not missing, _report(f"msgids missing from {locale} (run scripts/i18n update)", missing)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_translated(template: Catalog, catalogs: dict[str, Catalog], locale: str) -> None:
    catalog = catalogs[locale]
    empty, fuzzy, english = [], [], []
    for wanted in _messages(template):
        message = catalog.get(wanted.id, wanted.context)
        if message is None:
            continue  # reported by the test above
        if message.fuzzy:
            fuzzy.append(_label(message))
        if not all(_strings(message)):
            empty.append(_label(message))
        elif locale in TRANSLATED and not _exempt(_ids(message)[0]) and set(_strings(message)) & set(_ids(message)):
            english.append(_label(message))
    problems = [_report(f"{locale} entries without a translation", empty),
                _report(f"{locale} entries marked fuzzy (check them, then remove the flag)", fuzzy),
                _report(f"{locale} entries still in English", english)]
    assert not (empty or fuzzy or english), "\n".join(p for p, o in zip(problems, (empty, fuzzy, english),
                                                                         strict=True) if o)


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match(catalogs: dict[str, Catalog], locale: str) -> None:
    offenders = []
    for message in _messages(catalogs[locale]):
        allowed = {_format_signature(msgid) for msgid in _ids(message)}
        for text in _strings(message):
            if text and _format_signature(text) not in allowed:
                offenders.append(f"{_label(message)} -> {text!r}")
    assert not offenders, _report(f"{locale} translations whose %-placeholders differ from the msgid", offenders)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_compiles(catalogs: dict[str, Catalog], locale: str, tmp_path: Path) -> None:
    catalog = catalogs[locale]
    errors = [f"{_label(message)}: {'; '.join(map(str, errs))}" for message, errs in catalog.check()]
    assert not errors, _report(f"{locale} entries pybabel compile would reject", errors)

    mo = tmp_path / "messages.mo"
    with mo.open("wb") as f:
        write_mo(f, catalog)
    with mo.open("rb") as f:
        compiled = gettext.GNUTranslations(f)  # also parses the Plural-Forms expression
    wrong = []
    for message in _messages(catalog):
        if message.fuzzy or not all(_strings(message)):
            continue
        if isinstance(message.id, tuple):
            got = compiled.npgettext(message.context, *message.id, 1) if message.context else \
                compiled.ngettext(*message.id, 1)
            want = message.string[compiled.plural(1)]
        else:
            got = compiled.pgettext(message.context, message.id) if message.context else \
                compiled.gettext(message.id)
            want = message.string
        if got != want:
            wrong.append(_label(message))
    assert not wrong, _report(f"{locale} entries that do not survive compilation", wrong)

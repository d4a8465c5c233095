"""Fill kk and ru translations from JSON files into the catalogs (used by ``scripts/i18n fill``).

Each JSON file maps an English msgid to ``{"kk": ..., "ru": ...}``; for a plural message the
values are lists (one form per plural of the language). In the English catalog every empty
message gets its msgid as its text (the msgids are English). Messages already translated are
overwritten only when the JSON says so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGS = Path(__file__).resolve().parent.parent / "plugin" / "translations"


def main(paths: list[str]) -> int:
    wanted: dict[str, dict[str, str | list[str]]] = {}
    for path in paths:
        wanted.update(json.loads(Path(path).read_text(encoding="utf-8")))
    for locale in ("kk", "ru"):
        po_path = CATALOGS / locale / "LC_MESSAGES" / "messages.po"
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        filled = 0
        for message in catalog:
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            entry = wanted.get(key)
            if not key or entry is None or locale not in entry:
                continue
            value = entry[locale]
            message.string = tuple(value) if isinstance(message.id, tuple) else value
            message.flags.discard("fuzzy")
            filled += 1
        with po_path.open("wb") as handle:
            write_po(handle, catalog, width=100, include_previous=False)
        print(f"{locale}: {filled} filled")
    po_path = CATALOGS / "en" / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    filled = 0
    for message in catalog:
        if not message.id or (message.string and all(message.string) if isinstance(message.string, tuple)
                              else message.string):
            continue
        message.string = tuple(message.id) if isinstance(message.id, tuple) else message.id
        message.flags.discard("fuzzy")
        filled += 1
    with po_path.open("wb") as handle:
        write_po(handle, catalog, width=100, include_previous=False)
    print(f"en: {filled} filled")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Interface strings through gettext catalogs (Babel).

The catalogs are the ``.po`` files under ``locale/<lang>/LC_MESSAGES/messages.po``; they are
compiled in memory with Babel when first used, so running the app needs no build step. English is
the source language (the msgids). docs/review.md says how to add a language.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Marks a string for extraction without translating it (it is translated where shown)."""
    return message


def ui_languages() -> list[str]:
    """Languages the interface is translated into (English, plus every catalog found)."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return ["en", *[lang for lang in found if lang != "en"]]


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog for ``lang``; English (no translation) for a language without one."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


@lru_cache(maxsize=None)
def language_name(lang: str, in_lang: str = "en") -> str:
    """``bg`` -> ``български`` (in_lang='bg'), from CLDR via Babel."""
    try:
        name = Locale.parse(lang).get_display_name(Locale.parse(in_lang))
    except (ValueError, LookupError):
        return lang
    return name or lang

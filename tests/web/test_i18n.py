"""The interface catalogs: the template is what the code says, and Bulgarian is complete."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from corpus.web import i18n

WEB = i18n.LOCALE_DIR.parent


def _extracted() -> set[str]:
    with (WEB / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {msg[2] for msg in extract_from_dir(str(WEB), method_map, options_map) if isinstance(msg[2], str)}


def _catalog(path):
    with path.open("rb") as f:
        return read_po(f)


def test_template_matches_the_code():
    found = _extracted()
    pot = {m.id for m in _catalog(i18n.LOCALE_DIR / "messages.pot") if m.id}
    assert len(found) > 80
    assert found == pot, ("run the extract command of docs/review.md (Add a language): "
                          f"new {sorted(found - pot)[:5]}, gone {sorted(pot - found)[:5]}")


def test_bulgarian_is_complete():
    pot = {m.id for m in _catalog(i18n.LOCALE_DIR / "messages.pot") if m.id}
    bg = _catalog(i18n.LOCALE_DIR / "bg" / "LC_MESSAGES" / "messages.po")
    done = {m.id for m in bg if m.id and m.string and not m.fuzzy}
    assert pot <= done, f"untranslated: {sorted(pot - done)[:5]}"
    # placeholders survive translation
    for m in bg:
        if m.id:
            assert m.id.count("%") == m.string.count("%") and m.id.count("{") == m.string.count("{"), m.id


def test_catalogs_compile_at_runtime():
    assert i18n.ui_languages()[:2] == ["en", "bg"]
    assert i18n.translations("bg").gettext("Queue") == "Опашка"
    assert i18n.translations("de").gettext("Queue") == "Queue"  # no catalog: English
    assert i18n.language_name("bg", "bg") == "български"

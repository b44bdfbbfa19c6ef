"""The 25 MIC21 languages and where their lemmas come from.

Each language has a *source chain*: nltk language ids tried in order, the first that has lemmas
for a synset wins. A language's own wordnet (from the Open Multilingual Wordnet) comes first
because it is curated; the Wiktionary-derived and CLDR-derived lists of the extended OMW fill the
gaps. This module needs no WordNet: the runtime API imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.errors import NotFoundError

# ISO 639-1 codes in the order MIC21 lists them (English first).
LANGUAGES: tuple[str, ...] = (
    "en", "bg", "sq", "eu", "ca", "hr", "da", "nl", "de", "el", "fi", "fr", "gl",
    "is", "it", "lt", "pl", "pt", "ro", "ru", "sr", "sk", "sl", "es", "sv",
)

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "bg": "Bulgarian", "sq": "Albanian", "eu": "Basque", "ca": "Catalan",
    "hr": "Croatian", "da": "Danish", "nl": "Dutch", "de": "German", "el": "Greek",
    "fi": "Finnish", "fr": "French", "gl": "Galician", "is": "Icelandic", "it": "Italian",
    "lt": "Lithuanian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "sr": "Serbian", "sk": "Slovak", "sl": "Slovene", "es": "Spanish", "sv": "Swedish",
}


@dataclass(frozen=True)
class LexSource:
    """One lemma list nltk can read: ``nltk_lang`` is the id given to ``Synset.lemma_names``."""

    nltk_lang: str
    source: str  # provenance written into the data, e.g. "omw:bul", "extended_omw:wikt"
    resource: str  # human name of the resource
    url: str
    license: str
    share_alike: bool


def _omw(lang: str, resource: str, url: str, license: str, sa: bool = False, nltk_lang: str | None = None) -> LexSource:
    return LexSource(nltk_lang or lang, f"omw:{nltk_lang or lang}", resource, url, license, sa)


def _wikt(lang3: str) -> LexSource:
    return LexSource(
        f"{lang3}_wikt", "extended_omw:wikt", "Extended OMW: lemmas linked from Wiktionary",
        "https://wiktionary.org/", "CC BY-SA 3.0 (Wiktionary; also GFDL)", True,
    )


def _cldr(lang3: str) -> LexSource:
    return LexSource(
        f"{lang3}_cldr", "extended_omw:cldr", "Extended OMW: lemmas linked from Unicode CLDR",
        "https://cldr.unicode.org/", "Unicode License (MIT-like)", False,
    )


MCR = ("Multilingual Central Repository 3.0", "http://adimen.si.ehu.es/web/MCR/", "CC BY 3.0")

SOURCE_CHAINS: dict[str, tuple[LexSource, ...]] = {
    "en": (LexSource("eng", "wordnet:pwn-3.0", "Princeton WordNet 3.0", "https://wordnet.princeton.edu/", "WordNet 3.0 license", False),),
    "bg": (_omw("bul", "BulTreeBank Wordnet (BTB-WN)", "http://www.bultreebank.org/", "CC BY 3.0"), _wikt("bul"), _cldr("bul")),
    "sq": (_omw("als", "Albanet", "http://fjalnet.com/", "CC BY 3.0 (or GPL 3)"), _wikt("als"), _cldr("als")),
    "eu": (_omw("eus", *MCR), _wikt("eus"), _cldr("eus")),
    "ca": (_omw("cat", *MCR), _wikt("cat"), _cldr("cat")),
    # No Croatian Wiktionary list: the Serbo-Croatian one (hbs) follows, Latin-script lemmas only.
    "hr": (_omw("hrv", "Croatian Wordnet", "http://www.cesar-project.net/", "CC BY 3.0"), _wikt("hbs"), _cldr("hrv")),
    "da": (_omw("dan", "DanNet", "http://wordnet.dk/lang", "WordNet-style license (DanNet)"), _wikt("dan"), _cldr("dan")),
    "nl": (_omw("nld", "Open Dutch WordNet", "http://wordpress.let.vupr.nl/odwn/", "CC BY-SA 4.0", sa=True), _wikt("nld"), _cldr("nld")),
    "de": (_wikt("deu"), _cldr("deu")),
    "el": (_omw("ell", "Greek Wordnet", "https://github.com/okfngr/wordnet", "Apache 2.0"), _wikt("ell"), _cldr("ell")),
    "fi": (_wikt("fin"), _cldr("fin")),
    "fr": (_omw("fra", "WOLF (Wordnet Libre du Français)", "http://alpage.inria.fr/~sagot/wolf-en.html", "CeCILL-C"), _wikt("fra"), _cldr("fra")),
    "gl": (_omw("glg", *MCR), _wikt("glg"), _cldr("glg")),
    "is": (_omw("isl", "IceWordNet", "http://www.malfong.is/index.php?lang=en&pg=icewordnet", "CC BY 3.0"), _wikt("isl"), _cldr("isl")),
    "it": (
        _omw("ita", "MultiWordNet", "http://multiwordnet.fbk.eu/english/home.php", "CC BY 3.0"),
        _omw("ita", "ItalWordNet", "http://datahub.io/dataset/iwn/", "ODC-BY 1.0", nltk_lang="ita_iwn"),
        _wikt("ita"), _cldr("ita"),
    ),
    "lt": (_omw("lit", "Lithuanian WordNet", "http://korpus.juls.savba.sk/ltskwn_en.html", "CC BY-SA 3.0", sa=True), _wikt("lit"), _cldr("lit")),
    "pl": (_omw("pol", "plWordNet", "http://plwordnet.pwr.wroc.pl/wordnet/", "WordNet-style license (plWordNet)"), _wikt("pol"), _cldr("pol")),
    "pt": (_omw("por", "OpenWN-PT", "https://github.com/arademaker/openWordnet-PT", "CC BY-SA", sa=True), _wikt("por"), _cldr("por")),
    "ro": (_omw("ron", "RoWordNet", "https://github.com/dumitrescustefan/RoWordNet", "see upstream (RoWordNet)"), _wikt("ron"), _cldr("ron")),
    "ru": (_wikt("rus"), _cldr("rus")),
    # Serbian: CLDR (Cyrillic) first, then Serbo-Croatian Wiktionary lemmas (both scripts occur).
    "sr": (_cldr("srp"), _wikt("hbs")),
    "sk": (_omw("slk", "Slovak WordNet", "http://korpus.juls.savba.sk/WordNet_en.html", "CC BY-SA 3.0", sa=True), _wikt("slk"), _cldr("slk")),
    "sl": (_omw("slv", "sloWNet", "http://lojze.lugos.si/darja/slownet.html", "CC BY-SA 3.0", sa=True), _wikt("slv"), _cldr("slv")),
    "es": (_omw("spa", *MCR), _wikt("spa"), _cldr("spa")),
    "sv": (_omw("swe", "WordNet-SALDO", "http://spraakbanken.gu.se/eng/resource/wordnet-saldo", "CC BY 3.0"), _wikt("swe"), _cldr("swe")),
}


def has_wordnet(lang: str) -> bool:
    """Whether the language has a wordnet of its own (not only Wiktionary/CLDR lists)."""
    return SOURCE_CHAINS[lang][0].source.startswith(("omw:", "wordnet:"))


class UnknownLanguage(NotFoundError):
    """A language code the ontology does not have (``--languages xx`` must not plan nothing in silence)."""


def check_languages(codes, param: str | None = None) -> tuple[str, ...]:
    """``codes`` as known ISO 639-1 codes (trimmed, lower case, in the given order, no repeats).

    An unknown one raises :class:`UnknownLanguage` naming the nearest known codes; English names
    (``german``) are matched too, so the hint says ``de (German)``. ``param``: the argument the
    codes came in, for the error (``"lang"``).
    """
    import difflib

    out: list[str] = []
    by_name = {name.lower(): code for code, name in LANGUAGE_NAMES.items()}
    for raw in codes:
        code = str(raw).strip().lower()
        if code in LANGUAGES:
            if code not in out:
                out.append(code)
            continue
        if len(code) > 3:  # a name (german), not a code
            near = [by_name[n] for n in difflib.get_close_matches(code, by_name, n=2, cutoff=0.6)]
        else:
            near = difflib.get_close_matches(code, LANGUAGES, n=3, cutoff=0.5)
        if near:
            hint = "did you mean " + " or ".join(f"{c} ({LANGUAGE_NAMES[c]})" for c in near) + "?"
        else:
            hint = f"known: {' '.join(LANGUAGES)}"
        raise UnknownLanguage(f"unknown language {raw!r}: {hint}", param=param)
    return tuple(out)

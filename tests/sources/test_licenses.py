"""License normalisation, policies and attribution lines."""

from __future__ import annotations

import pytest

from corpus import licenses as L
from corpus.licenses import LicensePolicy

from .conftest import load


def _em(**values: str) -> dict:
    return {k: {"value": v, "source": "commons-desc-page"} for k, v in values.items()}


@pytest.mark.parametrize(
    ("value", "code", "name", "url"),
    [
        ("cc-by-sa-4.0", "CC-BY-SA-4.0", "CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
        ("cc-by-sa-3.0-de", "CC-BY-SA-3.0", "CC BY-SA 3.0 DE", "https://creativecommons.org/licenses/by-sa/3.0/de/"),
        ("cc-by-2.5", "CC-BY-2.5", "CC BY 2.5", "https://creativecommons.org/licenses/by/2.5/"),
        ("cc-by-sa-3.0-migrated", "CC-BY-SA-3.0", "CC BY-SA 3.0", "https://creativecommons.org/licenses/by-sa/3.0/"),
        ("cc-by-sa-3.0,2.5,2.0,1.0", "CC-BY-SA-3.0", "CC BY-SA 3.0", "https://creativecommons.org/licenses/by-sa/3.0/"),
        ("cc0", "CC0-1.0", "CC0 1.0", L.CC0_URL),
        ("CC-ZERO", "CC0-1.0", "CC0 1.0", L.CC0_URL),
        ("gfdl", "GFDL", "GNU Free Documentation License", "https://www.gnu.org/copyleft/fdl.html"),
    ],
)
def test_commons_license_codes(value, code, name, url):
    lic = L.from_commons(_em(License=value))
    assert (lic.code, lic.name, lic.url) == (code, name, url)


@pytest.mark.parametrize("value", ["pd", "PD-self", "pd-old-70", "PD-USGov-NASA"])
def test_commons_public_domain_is_pdm(value):
    lic = L.from_commons(_em(License=value, LicenseShortName="Public domain"))
    assert lic.code == "PDM-1.0"
    assert lic.name == "Public domain"
    assert lic.commercial and lic.derivatives and not lic.attribution_required


def test_commons_falls_back_to_url_then_short_name():
    assert L.from_commons(_em(LicenseUrl="//creativecommons.org/licenses/by/4.0/deed.de")).code == "CC-BY-4.0"
    assert L.from_commons(_em(LicenseShortName="CC BY-SA 2.0")).code == "CC-BY-SA-2.0"
    lic = L.from_commons(_em(License="some-template", LicenseShortName="See below"))
    assert lic.code == "unknown" and "some-template" in lic.name
    assert L.from_commons({}).code == "unknown"
    assert L.from_commons(None).code == "unknown"


def test_commons_recorded_fixture():
    pages = load("commons_search_page1.json")["query"]["pages"]
    got = {p["title"]: L.from_commons(p["imageinfo"][0]["extmetadata"]).code for p in pages.values()}
    assert got == {
        "File:20120925 PlozevetBretagne LoneTree DSC07971 PtrQs.jpg": "CC-BY-SA-4.0",
        "File:Minchinmavida Volcano.jpg": "PDM-1.0",
    }


def test_commons_multilang_value():
    em = {"License": {"value": {"_type": "lang", "en": "cc-by-4.0", "de": "cc-by-4.0"}}}
    assert L.from_commons(em).code == "CC-BY-4.0"


def test_openverse_licenses():
    for result in load("openverse_images_page1.json")["results"]:
        lic = L.from_openverse(result["license"], result["license_version"], result["license_url"])
        assert lic.url == result["license_url"]
    assert L.from_openverse("by-nc-sa", "2.0").code == "CC-BY-NC-SA-2.0"
    assert L.from_openverse("pdm", "1.0").code == "PDM-1.0"
    assert L.from_openverse("cc0", "1.0", None).code == "CC0-1.0"
    ported = L.from_openverse("by", "3.0", "https://creativecommons.org/licenses/by/3.0/nl/")
    assert (ported.code, ported.name) == ("CC-BY-3.0", "CC BY 3.0 NL")
    assert L.from_openverse("sampling+", "1.0").verify
    assert L.from_openverse("by", "x").code == "unknown"
    assert L.from_openverse("bogus", "1.0").code == "unknown"


def test_flickr_table_matches_the_documented_flags():
    # id: (code, commercial, derivatives, share_alike, verify) from image-apis.md §5
    expected = {
        0: ("ARR", False, False, False, False),
        1: ("CC-BY-NC-SA-2.0", False, True, True, False),
        2: ("CC-BY-NC-2.0", False, True, False, False),
        3: ("CC-BY-NC-ND-2.0", False, False, False, False),
        4: ("CC-BY-2.0", True, True, False, False),
        5: ("CC-BY-SA-2.0", True, True, True, False),
        6: ("CC-BY-ND-2.0", True, False, False, False),
        7: ("Flickr-NKCR", True, True, False, True),
        8: ("US-Gov-Work", True, True, False, True),
        9: ("CC0-1.0", True, True, False, False),
        10: ("PDM-1.0", True, True, False, False),
        11: ("CC-BY-4.0", True, True, False, False),
        12: ("CC-BY-SA-4.0", True, True, True, False),
        13: ("CC-BY-ND-4.0", True, False, False, False),
        14: ("CC-BY-NC-4.0", False, True, False, False),
        15: ("CC-BY-NC-SA-4.0", False, True, True, False),
        16: ("CC-BY-NC-ND-4.0", False, False, False, False),
    }
    for i, (code, com, der, sa, ver) in expected.items():
        for raw in (i, str(i)):
            lic = L.from_flickr(raw)
            assert (lic.code, lic.commercial, lic.derivatives, lic.share_alike, lic.verify) == (code, com, der, sa, ver)
    assert L.from_flickr("17").code == "unknown"
    assert L.from_flickr("x").code == "unknown"


def test_platform_licenses():
    assert L.PEXELS.code == "Pexels" and L.PEXELS.commercial and not L.PEXELS.attribution_required
    assert L.PIXABAY.code == "Pixabay" and L.PIXABAY.derivatives


def test_from_code_round_trips_what_the_store_keeps():
    for lic in [*L.FLICKR_LICENSES.values(), L.PEXELS, L.PIXABAY, L.cc("by-sa", "3.0", "de")]:
        assert L.from_code(lic.code, lic.url) == lic
    assert L.from_code("nonsense").code == "unknown"


def test_default_policy_commercial_and_derivatives():
    p = LicensePolicy.parse("default")
    assert p == LicensePolicy.parse(None)
    assert (p.commercial, p.derivatives) == (True, True)
    admitted = sorted(i for i in L.FLICKR_LICENSES if p.allows(L.from_flickr(i)))
    assert admitted == [4, 5, 9, 10, 11, 12]
    assert p.reason(L.from_flickr(2)) == "license:non-commercial"
    assert p.reason(L.from_flickr(6)) == "license:no-derivatives"
    assert p.reason(L.from_flickr(7)) == "license:needs-verification"
    assert p.reason(L.from_flickr(0)) == "license:all-rights-reserved"
    assert p.reason(L.unknown("x")) == "license:unknown"
    assert p.allows(L.PEXELS) and p.allows(L.PIXABAY)


def test_presets_and_tokens():
    research = LicensePolicy.parse("research")
    assert research.allows(L.from_flickr(2)) and research.allows(L.from_flickr(15))
    assert not research.allows(L.from_flickr(3))  # ND: annotations are derivatives
    any_open = LicensePolicy.parse("any-open")
    assert all(any_open.allows(L.from_flickr(i)) for i in (1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16))
    assert not any_open.allows(L.from_flickr(0)) and not any_open.allows(L.UNKNOWN)
    nosa = LicensePolicy.parse("no-share-alike")
    assert nosa.reason(L.from_flickr(12)) == "license:share-alike" and nosa.allows(L.from_flickr(11))
    pd = LicensePolicy.parse("public-domain")
    assert pd.allows(L.CC0) and pd.allows(L.PDM) and pd.reason(L.cc("by")) == "license:attribution-required"
    mixed = LicensePolicy.parse("default,verify,-Pixabay")
    assert mixed.allows(L.from_flickr(7)) and mixed.reason(L.PIXABAY) == "license:excluded"
    assert not LicensePolicy.parse("any-open,verify").allows(L.UNKNOWN)
    with pytest.raises(ValueError, match="unknown license-policy token 'comercial'.*presets: default"):
        LicensePolicy.parse("comercial")


def test_attribution_line():
    lic = L.from_commons(_em(License="cc-by-sa-4.0"))
    line = L.attribution_line("Lone Tree", "PtrQs", lic, "https://commons.wikimedia.org/wiki/File:X.jpg", "commons")
    assert line == '"Lone Tree" by PtrQs, CC BY-SA 4.0, via Wikimedia Commons, https://commons.wikimedia.org/wiki/File:X.jpg'
    assert L.attribution_line("", "", L.PEXELS, "", "pexels") == "Untitled, Pexels License, via Pexels"
    assert L.attribution_line(" A\n b ", "C  D", L.CC0, "u", "stocksnap") == '"A b" by C D, CC0 1.0, via stocksnap, u'


@pytest.mark.parametrize(
    ("url", "name", "deed"),
    [
        # "legalcode" and a translated deed are not ports: the generic license, its own URL.
        ("https://creativecommons.org/licenses/by/4.0/legalcode", "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
        ("http://creativecommons.org/licenses/by-sa/2.0/deed.de", "CC BY-SA 2.0",
         "https://creativecommons.org/licenses/by-sa/2.0/"),
        ("https://creativecommons.org/licenses/by-sa/3.0/de/deed.en", "CC BY-SA 3.0 DE",
         "https://creativecommons.org/licenses/by-sa/3.0/de/"),
        ("//creativecommons.org/licenses/by/2.0/at", "CC BY 2.0 AT", "https://creativecommons.org/licenses/by/2.0/at/"),
    ],
)
def test_cc_url_deed_pages_are_not_ports(url, name, deed):
    lic = L.from_cc_url(url)
    assert (lic.name, lic.url) == (name, deed)


def test_cc_url_must_be_on_creativecommons_org():
    assert L.from_cc_url("https://example.org/creativecommons.org/licenses/by/4.0/") is None
    assert L.from_cc_url("https://notcreativecommons.org/licenses/by/4.0/") is None
    assert L.from_cc_url("https://creativecommons.org/licenses/by/4.0/").code == "CC-BY-4.0"


@pytest.mark.parametrize(
    "value",
    ["cc0-by-nc", "pd-nc", "cc-pd-nc", "ogl-nc", "gfdl-nc", "cc-by-sa-4.0-nc", "cc-by-2.0-nd",
     "cc-by-sa-4.0 (non-commercial)", "Public domain (non-commercial)", "PD NC", "Non-free", "fair use",
     "cc-by-nc", "Copyrighted free use"],
)
def test_commons_restrictive_words_never_read_as_free(value):
    """A value that names NC/ND (or non-free) must not be read as a free license by a loose prefix."""
    for em in (_em(License=value), _em(LicenseShortName=value)):
        assert LicensePolicy.parse("default").reason(L.from_commons(em)) is not None, em


def test_commons_code_and_url_that_disagree_are_not_admitted():
    lic = L.from_commons(_em(License="cc-by-2.0", LicenseUrl="https://creativecommons.org/licenses/by-nc/2.0/"))
    assert LicensePolicy.parse("default").reason(lic) is not None
    # Same terms, other version or port: the code wins, as before.
    lic = L.from_commons(_em(License="cc-by-sa-4.0", LicenseUrl="https://creativecommons.org/licenses/by-sa/3.0/"))
    assert lic.code == "CC-BY-SA-4.0"


def test_openverse_license_and_url_that_disagree_are_not_admitted():
    lic = L.from_openverse("by", "2.0", "https://creativecommons.org/licenses/by-nc/2.0/")
    assert LicensePolicy.parse("default").reason(lic) == "license:unknown"
    assert "by-nc" in lic.name
    assert L.from_openverse("by", "2.0", "https://creativecommons.org/licenses/by/2.0/").code == "CC-BY-2.0"

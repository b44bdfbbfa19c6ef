"""Licenses as data: one vocabulary, flags per license, and the policy that decides what we keep.

Every source states its license in its own way (Commons: ``cc-by-sa-3.0-de`` plus HTML, Openverse:
``by-sa`` + ``3.0``, Flickr: an integer id, Pexels/Pixabay: one platform license for everything).
The functions here turn each of them into a :class:`License` with a code from one vocabulary:

======================  ==============================================================
code                    meaning
======================  ==============================================================
``CC0-1.0``             CC0 public-domain dedication
``PDM-1.0``             public domain (Public Domain Mark, Commons' ``pd``/``PD-*``)
``CC-BY-<v>``           and ``CC-BY-SA``, ``CC-BY-ND``, ``CC-BY-NC``, ``CC-BY-NC-SA``,
                        ``CC-BY-NC-ND``; ported versions keep the port in name and url
``Pexels``              Pexels License
``Pixabay``             Pixabay Content License
``GFDL``, ``FAL-1.3``,  other free licenses seen on Commons
``Attribution``, ``OGL``
``Flickr-NKCR``         Flickr "No known copyright restrictions" (verify)
``US-Gov-Work``         United States Government Work (verify)
``CC-Sampling+-1.0``    and ``CC-NC-Sampling+-1.0`` (Openverse; verify)
``ARR``                 all rights reserved (Flickr id 0): never admitted
``unknown``             anything we could not read: never admitted
======================  ==============================================================

The store keeps only ``code`` and ``url``; :func:`from_code` rebuilds the flags from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Mapping

from corpus.errors import UsageError

__all__ = [
    "License",
    "LicensePolicy",
    "PRESETS",
    "PEXELS",
    "PIXABAY",
    "UNKNOWN",
    "unknown",
    "cc",
    "from_code",
    "from_commons",
    "from_openverse",
    "from_flickr",
    "from_cc_url",
    "FLICKR_LICENSES",
    "attribution_line",
    "source_display_name",
]


@dataclass(frozen=True)
class License:
    code: str  # normalised: CC0-1.0, PDM-1.0, CC-BY-4.0, CC-BY-SA-3.0, Pexels, Pixabay, ...
    name: str  # human readable: "CC BY-SA 4.0"
    url: str
    commercial: bool
    derivatives: bool
    share_alike: bool
    attribution_required: bool
    verify: bool = False  # status statements rather than licenses (Flickr 7/8): check by hand

    @property
    def known(self) -> bool:
        return self.code not in (UNKNOWN_CODE, ARR_CODE)


UNKNOWN_CODE = "unknown"
ARR_CODE = "ARR"

# ---------------------------------------------------------------------------------------------
# Creative Commons family

_CC_KINDS = ("by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd")
_CC_VERSIONS = ("1.0", "2.0", "2.1", "2.5", "3.0", "4.0")

CC0_URL = "https://creativecommons.org/publicdomain/zero/1.0/"
PDM_URL = "https://creativecommons.org/publicdomain/mark/1.0/"


def cc(kind: str, version: str = "4.0", port: str | None = None) -> License:
    """A Creative Commons license: ``kind`` as in its URL (``by-sa``), ``version`` ``"4.0"``;
    ``port`` (``"de"``) for a ported version, kept in name and url (the code stays generic)."""
    kind = kind.lower().strip()
    if kind not in _CC_KINDS:
        raise ValueError(f"not a Creative Commons license kind: {kind!r} (expected one of {', '.join(_CC_KINDS)})")
    version = _norm_version(version)
    port = (port or "").lower().strip() or None
    url = f"https://creativecommons.org/licenses/{kind}/{version}/" + (f"{port}/" if port else "")
    name = f"CC {kind.upper()} {version}" + (f" {port.upper()}" if port else "")
    return License(
        code=f"CC-{kind.upper()}-{version}",
        name=name,
        url=url,
        commercial="nc" not in kind.split("-"),
        derivatives="nd" not in kind.split("-"),
        share_alike="sa" in kind.split("-"),
        attribution_required=True,
    )


def _norm_version(version: Any) -> str:
    v = str(version or "").strip().lower().lstrip("v")
    if re.fullmatch(r"\d", v):
        v += ".0"
    if not re.fullmatch(r"\d\.\d", v):
        raise ValueError(f"not a license version: {version!r}")
    return v


CC0 = License("CC0-1.0", "CC0 1.0", CC0_URL, True, True, False, False)
PDM = License("PDM-1.0", "Public Domain Mark 1.0", PDM_URL, True, True, False, False)
PEXELS = License("Pexels", "Pexels License", "https://www.pexels.com/license/", True, True, False, False)
PIXABAY = License(
    "Pixabay", "Pixabay Content License", "https://pixabay.com/service/license-summary/", True, True, False, False
)
GFDL = License("GFDL", "GNU Free Documentation License", "https://www.gnu.org/copyleft/fdl.html", True, True, True, True)
FAL = License("FAL-1.3", "Free Art License 1.3", "https://artlibre.org/licence/lal/en/", True, True, True, True)
ATTRIBUTION_ONLY = License(
    "Attribution", "Attribution only", "https://commons.wikimedia.org/wiki/Template:Attribution", True, True, False, True
)
OGL = License(
    "OGL",
    "Open Government Licence",
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/",
    True,
    True,
    False,
    True,
)
FLICKR_NKCR = License(
    "Flickr-NKCR", "No known copyright restrictions", "https://www.flickr.com/commons/usage/", True, True, False, False,
    verify=True,
)
US_GOV = License(
    "US-Gov-Work", "United States Government Work", "https://www.usa.gov/government-copyright", True, True, False, False,
    verify=True,
)
SAMPLING_PLUS = License(
    "CC-Sampling+-1.0", "CC Sampling+ 1.0", "https://creativecommons.org/licenses/sampling+/1.0/", True, True, False, True,
    verify=True,
)
NC_SAMPLING_PLUS = License(
    "CC-NC-Sampling+-1.0", "CC NC-Sampling+ 1.0", "https://creativecommons.org/licenses/nc-sampling+/1.0/", False, True,
    False, True, verify=True,
)
ARR = License(ARR_CODE, "All Rights Reserved", "", False, False, False, True)
UNKNOWN = License(UNKNOWN_CODE, "unknown license", "", False, False, False, True, verify=True)

_FIXED: dict[str, License] = {
    lic.code.lower(): lic
    for lic in (CC0, PDM, PEXELS, PIXABAY, GFDL, FAL, ATTRIBUTION_ONLY, OGL, FLICKR_NKCR, US_GOV, SAMPLING_PLUS,
                NC_SAMPLING_PLUS, ARR)
}


def unknown(raw: str = "") -> License:
    """The license we could not read; ``raw`` is kept in the name so a reviewer sees it.
    No policy admits it."""
    raw = (raw or "").strip()
    return replace(UNKNOWN, name=f"unknown license ({raw[:80]})") if raw else UNKNOWN


# Only on creativecommons.org itself; a port is a whole path segment (".../4.0/legalcode" and
# ".../4.0/deed.de" are the generic license, not ports "le"/"de").
_CC_URL_RE = re.compile(
    r"(?:^|//|\.)creativecommons\.org/(?:licenses/(?P<kind>by(?:-nc)?(?:-sa|-nd)?)/(?P<ver>\d\.\d)"
    r"(?:/(?P<port>[a-z]{2}(?:-[a-z]{2})?)(?=/|$|[?#]))?"
    r"|publicdomain/(?P<pd>zero|mark)/1\.0)",
    re.I,
)


def from_cc_url(url: str) -> License | None:
    """A CC license from its deed URL (``//creativecommons.org/licenses/by-sa/3.0/de/``), or None."""
    m = _CC_URL_RE.search(url or "")
    if not m:
        return None
    if m.group("pd"):
        return CC0 if m.group("pd").lower() == "zero" else PDM
    return cc(m.group("kind"), m.group("ver"), m.group("port"))


def from_code(code: str, url: str = "") -> License:
    """Rebuild a :class:`License` from a stored ``code`` (and ``url``, which holds a port)."""
    c = (code or "").strip()
    fixed = _FIXED.get(c.lower())
    if fixed is not None:
        return fixed
    m = re.fullmatch(r"CC-(BY(?:-NC)?(?:-SA|-ND)?)-(\d\.\d)", c, re.I)
    if m:
        lic = cc(m.group(1), m.group(2))
        from_url = from_cc_url(url)
        return from_url if from_url is not None and from_url.code == lic.code else lic
    return unknown(c)


# ---------------------------------------------------------------------------------------------
# Per-source readers

_COMMONS_CC_RE = re.compile(
    r"cc[- ](?P<kind>by(?:[- ]nc)?(?:[- ]sa|[- ]nd)?)[- ](?P<ver>\d(?:\.\d)?)(?:[- ](?P<port>[a-z]{2}(?:-[a-z]{2})?))?(?:$|[, ])",
    re.I,
)
_COMMONS_PD_RE = re.compile(r"^(pd|pd[- ].*|public[ _-]?domain.*|cc-pd.*|cc-pdm.*|pdm.*)$", re.I)
# Words that restrict use. The readers below match free licenses by prefix ("pd-...", "gfdl...",
# "cc0..."), so a value that also says NC/ND/non-free is not trusted as free: "pd-nc", "ogl-nc".
_RESTRICTIVE_RE = re.compile(
    r"(?:^|[-\s(,/])(?:nc|nd|non[- ]?commercial|non[- ]?free|no[- ]?deriv\w*|fair[- ]use|all[- ]rights)(?=$|[-\s),/])",
    re.I,
)
_NOT_PORTS = frozenset({"nc", "nd", "sa", "by"})


def _restricted_beyond(lic: License, value: str) -> bool:
    """``value`` names a restriction that ``lic`` (read from part of it) does not carry."""
    return lic.commercial and lic.derivatives and bool(_RESTRICTIVE_RE.search(value))


def _ext_value(extmetadata: Mapping[str, Any], key: str) -> str:
    entry = extmetadata.get(key)
    if isinstance(entry, Mapping):
        entry = entry.get("value")
    if isinstance(entry, Mapping):  # iiextmetadatamultilang: {"_type": "lang", "en": ..., ...}
        entry = entry.get("en") or next((v for k, v in entry.items() if k != "_type"), "")
    return "" if entry is None else str(entry).strip()


def _from_commons_code(value: str) -> License | None:
    lic = _read_commons_code(value)
    if lic is not None and _restricted_beyond(lic, value.replace("_", "-")):
        return None
    return lic


def _read_commons_code(value: str) -> License | None:
    v = value.strip().lower().replace("_", "-")
    v = re.sub(r"-migrated.*$", "", v)  # "cc-by-sa-3.0-migrated": relicensed from GFDL, same terms
    if not v:
        return None
    if v in ("cc0", "cc-zero", "cc0-1.0", "cc-0") or v.startswith("cc0"):
        return CC0
    if _COMMONS_PD_RE.match(v):
        return PDM
    m = _COMMONS_CC_RE.match(v + " ")
    if m:
        kind = re.sub(r"[ ]", "-", m.group("kind").lower())
        if (m.group("port") or "").lower() in _NOT_PORTS:  # "cc-by-sa-4.0-nc" is no port
            return None
        try:
            return cc(kind, m.group("ver"), m.group("port"))
        except ValueError:
            return None
    if v.startswith("gfdl"):
        return GFDL
    if v in ("fal", "free art license", "lal") or v.startswith("fal-"):
        return FAL
    if v == "attribution":
        return ATTRIBUTION_ONLY
    if v.startswith("ogl"):
        return OGL
    return None


def from_commons(extmetadata: Mapping[str, Any] | None) -> License:
    """Read Commons' ``imageinfo.extmetadata``: ``License`` (``cc-by-sa-3.0-de``, ``cc0``, ``pd``),
    then ``LicenseUrl``, then ``LicenseShortName`` ("CC BY-SA 4.0", "Public domain")."""
    em = extmetadata or {}
    code = _ext_value(em, "License")
    url = _ext_value(em, "LicenseUrl")
    short = _ext_value(em, "LicenseShortName")
    lic = _from_commons_code(code)
    from_url = from_cc_url(url) if url else None
    if lic is not None and from_url is not None and _terms(from_url) != _terms(lic):
        # The code and the deed it links disagree (BY vs BY-NC): we cannot tell which is right.
        return unknown(f"{code} vs {url}")
    if lic is None:
        lic = from_url
    if lic is None and short:
        lic = _from_commons_code(short.replace(" ", "-")) or _from_commons_code(short)
    if lic is None:
        return unknown(code or short or url)
    if lic.code == PDM.code:
        # Commons' "pd" covers many PD-* templates; say so in the name, keep their URL if given.
        return replace(lic, name=short or "Public domain", url=url or lic.url)
    return lic


_OPENVERSE_FIXED = {"cc0": CC0, "pdm": PDM, "sampling+": SAMPLING_PLUS, "nc-sampling+": NC_SAMPLING_PLUS}


def from_openverse(code: str, version: str | None = None, url: str | None = None) -> License:
    """Openverse's ``license`` (``by-sa``, ``cc0``, ``pdm``, ...) + ``license_version`` + ``license_url``."""
    c = (code or "").strip().lower()
    if c in _OPENVERSE_FIXED:
        return _OPENVERSE_FIXED[c]
    if c in _CC_KINDS:
        try:
            lic = cc(c, version or "")
        except ValueError:
            return unknown(f"{code} {version or ''}".strip())
        from_url = from_cc_url(url or "")
        if from_url is not None and from_url.code == lic.code:
            return from_url  # keeps a port the URL names
        if from_url is not None and _terms(from_url) != _terms(lic):
            # `license` and `license_url` disagree (by vs by-nc): not trusted either way.
            return unknown(f"{code} {version or ''} vs {url}")
        return lic
    return unknown(f"{code} {version or ''}".strip())


def _terms(lic: License) -> tuple[bool, bool, bool]:
    return (lic.commercial, lic.derivatives, lic.share_alike)


FLICKR_LICENSES: dict[int, License] = {
    0: ARR,
    1: cc("by-nc-sa", "2.0"),
    2: cc("by-nc", "2.0"),
    3: cc("by-nc-nd", "2.0"),
    4: cc("by", "2.0"),
    5: cc("by-sa", "2.0"),
    6: cc("by-nd", "2.0"),
    7: FLICKR_NKCR,
    8: US_GOV,
    9: CC0,
    10: PDM,
    11: cc("by", "4.0"),
    12: cc("by-sa", "4.0"),
    13: cc("by-nd", "4.0"),
    14: cc("by-nc", "4.0"),
    15: cc("by-nc-sa", "4.0"),
    16: cc("by-nc-nd", "4.0"),
}


def from_flickr(license_id: int | str | None) -> License:
    """Flickr's license id (an int or, as the API usually sends it, a string)."""
    try:
        return FLICKR_LICENSES[int(str(license_id).strip())]
    except (KeyError, ValueError, TypeError):
        return unknown(f"flickr:{license_id}")


# ---------------------------------------------------------------------------------------------
# Policy

_TOKENS = {
    "commercial": "commercial use allowed",
    "derivatives": "derivative works allowed",
    "no-share-alike": "no share-alike obligation",
    "no-attribution": "no attribution required",
    "verify": "admit status statements that need checking (Flickr 7/8, Sampling+)",
    "-<CODE>": "exclude a license code, e.g. -Pixabay or -CC-BY-SA-2.0",
}

PRESETS: dict[str, str] = {
    "default": "commercial,derivatives",
    "any-open": "",  # every known open license, NC and ND included
    "no-share-alike": "commercial,derivatives,no-share-alike",
    "research": "derivatives",  # admits NC (non-commercial research), not ND
    "public-domain": "commercial,derivatives,no-attribution",
}


@dataclass(frozen=True)
class LicensePolicy:
    """Which licenses a harvest keeps. Build one with :meth:`parse`:

    ``LicensePolicy.parse("default")`` (commercial use AND derivatives allowed),
    ``"research"`` (admits NC), ``"any-open"``, ``"no-share-alike"``, ``"public-domain"``, or a
    comma list of tokens: ``commercial``, ``derivatives``, ``no-share-alike``, ``no-attribution``,
    ``verify``, ``-<CODE>``; presets and tokens mix (``"default,-Pixabay"``).
    ``unknown`` and all-rights-reserved licenses are never admitted.
    """

    commercial: bool = True
    derivatives: bool = True
    no_share_alike: bool = False
    no_attribution: bool = False
    allow_verify: bool = False
    excluded: frozenset[str] = frozenset()
    spec: str = "default"

    @classmethod
    def parse(cls, spec: str | None) -> "LicensePolicy":
        spec = (spec or "default").strip() or "default"
        flags = {"commercial": False, "derivatives": False, "no-share-alike": False, "no-attribution": False,
                 "verify": False}
        excluded: set[str] = set()

        def apply(token: str, depth: int = 0) -> None:
            t = token.strip()
            if not t:
                return
            if t.lower() in PRESETS and depth == 0:
                for sub in PRESETS[t.lower()].split(","):
                    apply(sub, depth + 1)
                return
            if t.startswith("-") and len(t) > 1 and t[1:].lower() not in flags:
                excluded.add(t[1:].lower())
                return
            if t.lower() in flags:
                flags[t.lower()] = True
                return
            raise UsageError(
                f"unknown license-policy token {t!r}; presets: {', '.join(PRESETS)}; tokens: {', '.join(_TOKENS)}"
            )

        for token in spec.split(","):
            apply(token)
        return cls(
            commercial=flags["commercial"],
            derivatives=flags["derivatives"],
            no_share_alike=flags["no-share-alike"],
            no_attribution=flags["no-attribution"],
            allow_verify=flags["verify"],
            excluded=frozenset(excluded),
            spec=spec,
        )

    def reason(self, lic: License) -> str | None:
        """Why ``lic`` is rejected (``"license:non-commercial"``), or None when it is admitted."""
        if lic.code == UNKNOWN_CODE:
            return "license:unknown"
        if lic.code == ARR_CODE:
            return "license:all-rights-reserved"
        if lic.code.lower() in self.excluded:
            return "license:excluded"
        if lic.verify and not self.allow_verify:
            return "license:needs-verification"
        if self.commercial and not lic.commercial:
            return "license:non-commercial"
        if self.derivatives and not lic.derivatives:
            return "license:no-derivatives"
        if self.no_share_alike and lic.share_alike:
            return "license:share-alike"
        if self.no_attribution and lic.attribution_required:
            return "license:attribution-required"
        return None

    def allows(self, lic: License) -> bool:
        return self.reason(lic) is None

    def describe(self) -> str:
        parts = [d for flag, d in (
            (self.commercial, "commercial use"),
            (self.derivatives, "derivatives"),
            (self.no_share_alike, "no share-alike"),
            (self.no_attribution, "no attribution required"),
        ) if flag]
        text = ", ".join(parts) if parts else "any known open license"
        if self.excluded:
            text += "; excluding " + ", ".join(sorted(self.excluded))
        return text


# ---------------------------------------------------------------------------------------------
# Attribution

_SOURCE_NAMES = {
    "commons": "Wikimedia Commons",
    "openverse": "Openverse",
    "pexels": "Pexels",
    "pixabay": "Pixabay",
    "flickr": "Flickr",
}


def source_display_name(source: str) -> str:
    return _SOURCE_NAMES.get((source or "").lower(), source or "")


def attribution_line(title: str, author: str, license: License, landing_url: str, source: str) -> str:
    """A TASL line (title, author, source, license): ``"Title" by Author, CC BY-SA 4.0, via
    Wikimedia Commons, <landing_url>``. Parts that are empty are left out, never invented."""
    title = " ".join((title or "").split())
    author = " ".join((author or "").split())
    head = f'"{title}"' if title else "Untitled"
    if author:
        head += f" by {author}"
    parts = [head, license.name if license.code != UNKNOWN_CODE else "license unknown"]
    where = source_display_name(source)
    if where:
        parts.append(f"via {where}")
    if landing_url:
        parts.append(landing_url)
    return ", ".join(parts)

"""Open lexicons read at build time, beside nltk's WordNet: the Collaborative Interlingual Index
(CILI: WordNet 3.0 synset <-> ILI id <-> WordNet 3.1 offset) and Galnet, the Galician wordnet.

Like NLTK_DATA for WordNet, the data stays where it is installed: ``CORPUS_LEXICONS`` (or the
``lexicons_dir`` argument) names a folder holding ``cili/ili-map-pwn30.tab``,
``cili/ili-map-pwn31.tab`` and ``galnet/SLI_Galnet_LMF_*.tar.gz`` (or the extracted ``.xml``).
Nothing of it is copied into the repository; the built data keeps the resulting lemmas with their
provenance (CC BY 4.0, attributed in ``ontology/data/ATTRIBUTION.md``).
"""

from __future__ import annotations

import os
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Optional

from corpus.errors import InputError

ENV = "CORPUS_LEXICONS"


class LexiconError(InputError):
    """A lexicon file is there but unreadable."""


@dataclass(frozen=True)
class LexiconInfo:
    source: str  # provenance of its lemmas, e.g. "galnet:3.0.29"
    resource: str
    url: str
    license: str
    share_alike: bool
    citation: str


GALNET = LexiconInfo(
    "galnet", "SLI Galnet (Galician wordnet)", "https://github.com/xavier-gz/SLI_Galnet", "CC BY 4.0", False,
    "Xavier Gómez Guinovart and Miguel Anxo Solla Portela (2018), Building the Galician wordnet: methods "
    "and applications, Language Resources and Evaluation 52(1):317-339, doi:10.1007/s10579-017-9408-5",
)
CILI = LexiconInfo(
    "cili", "Collaborative Interlingual Index", "https://github.com/globalwordnet/cili", "CC BY 4.0", False,
    "Francis Bond, Piek Vossen, John McCrae and Christiane Fellbaum (2016), CILI: the Collaborative "
    "Interlingual Index, Proc. GWC 2016, pp. 50-57",
)


def lexicons_dir(explicit: Path | str | None = None) -> Optional[Path]:
    """The lexicon folder: ``explicit``, else $CORPUS_LEXICONS; None when neither is set."""
    value = explicit if explicit is not None else os.environ.get(ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise LexiconError(f"lexicon folder {path} does not exist (set by {'the lexicons argument' if explicit else ENV})",
                           param="lexicons" if explicit else None)
    return path


def wn30_key(offset: int, pos: str) -> str:
    """CILI's key for a WordNet 3.0 synset: 8-digit offset, '-', pos (satellites are 's')."""
    return f"{offset:08d}-{pos}"


@lru_cache(maxsize=4)
def ili_map(folder: str) -> dict[str, str]:
    """WordNet 3.0 key ("10701180-n") -> ILI id ("i93599"), from ``cili/ili-map-pwn30.tab``."""
    return _read_tab(Path(folder) / "cili" / "ili-map-pwn30.tab", key_col=1)


@lru_cache(maxsize=4)
def ili_to_wn31(folder: str) -> dict[str, str]:
    """ILI id -> WordNet 3.1 key ("10720829-n"), the value Wikidata's P8814 holds."""
    return _read_tab(Path(folder) / "cili" / "ili-map-pwn31.tab", key_col=0)


def _read_tab(path: Path, key_col: int) -> dict[str, str]:
    if not path.is_file():
        raise LexiconError(f"{path} is missing: the CILI mapping files come from https://github.com/globalwordnet/cili")
    out: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2:
                if line.strip():
                    raise LexiconError(f"{path}:{n}: expected two tab-separated columns")
                continue
            out[parts[key_col]] = parts[1 - key_col]
    return out


def _galnet_file(folder: Path) -> Optional[Path]:
    d = folder / "galnet"
    if not d.is_dir():
        return None
    found = sorted(d.glob("SLI_Galnet_LMF_*.xml")) + sorted(d.glob("SLI_Galnet_LMF_*.tar.gz"))
    return found[-1] if found else None


@dataclass(frozen=True)
class Galnet:
    version: str
    lemmas: dict[str, tuple[str, ...]]  # ILI id -> Galician lemmas, in the file's order
    path: str

    @property
    def source(self) -> str:
        return f"galnet:{self.version}"


@lru_cache(maxsize=4)
def galnet(folder: str) -> Optional[Galnet]:
    """Galnet's lemmas per ILI id, or None when the folder has no Galnet file."""
    path = _galnet_file(Path(folder))
    if path is None:
        return None
    try:
        if path.suffix == ".xml":
            with path.open("rb") as fh:
                return _parse_galnet(fh, str(path))
        with tarfile.open(path, "r:gz") as tar:
            member = next((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".xml")), None)
            if member is None:
                raise LexiconError(f"{path}: no .xml file inside")
            fh = tar.extractfile(member)
            assert fh is not None
            return _parse_galnet(fh, str(path))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise LexiconError(f"{path}: cannot read the Galnet archive ({exc})") from None


def _parse_galnet(fh: IO[bytes], where: str) -> Galnet:
    """Stream the WN-LMF XML. The file names its DTD by URL; ElementTree never fetches it."""
    version = "unknown"
    synset_ili: dict[str, str] = {}
    senses: list[tuple[str, str]] = []  # (synset id, lemma) in file order
    lemma: Optional[str] = None
    try:
        for event, el in ET.iterparse(fh, events=("start", "end")):
            tag = el.tag
            if event == "start":
                if tag == "Lexicon":
                    version = el.get("version", version)
                elif tag == "Lemma":
                    lemma = el.get("writtenForm")
                elif tag == "Sense" and lemma:
                    senses.append((el.get("synset", ""), lemma))
                continue
            if tag == "Synset":
                ili = el.get("ili")
                if ili:
                    synset_ili[el.get("id", "")] = ili
                el.clear()
            elif tag == "LexicalEntry":
                lemma = None
                el.clear()
    except ET.ParseError as exc:
        raise LexiconError(f"{where}: not valid WN-LMF XML ({exc})") from None
    out: dict[str, list[str]] = {}
    for syn, text in senses:
        ili = synset_ili.get(syn)
        text = " ".join(text.replace("_", " ").split())
        if ili and text and text not in out.setdefault(ili, []):
            out[ili].append(text)
    return Galnet(version, {k: tuple(v) for k, v in out.items()}, where)

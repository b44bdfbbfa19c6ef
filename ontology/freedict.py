"""FreeDict bilingual dictionaries in dictd format (``freedict-eng-bul.index`` + ``.dict.dz``).

Debian ships them as ``dict-freedict-*`` packages (``/usr/share/dictd``). A dictionary knows words,
not senses, so the build uses it only for English lemmas that have a single noun sense in WordNet,
marks its lemmas ``method=dictionary`` and ranks them below every wordnet. Each dictionary states
its licence in its ``00-database-info`` entry; one that is not a Creative Commons licence (the
GPL ones) is refused, so it never reaches the committed data.
"""

from __future__ import annotations

import base64
import gzip
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

from corpus.errors import InputError

# dictd's base64 alphabet for offsets and lengths in the .index file
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NAME = re.compile(r"^freedict-([a-z]{3})-([a-z]{3})$")
_HEAD = re.compile(r"^(?P<word>[^/<]+?)\s*(?:/[^/]*/\s*)*(?:<(?P<pos>[^>]*)>)?\s*$")
_SENSE_NO = re.compile(r"^\s*\d+\.\s*")
# ISO 639-3 of the dictionaries -> our ISO 639-1
ISO3 = {"bul": "bg", "fin": "fi", "pol": "pl", "ell": "el", "eng": "en", "deu": "de", "fra": "fr", "ita": "it",
        "spa": "es", "swe": "sv", "por": "pt", "nld": "nl", "rus": "ru", "dan": "da", "hrv": "hr", "srp": "sr",
        "slk": "sk", "slv": "sl", "lit": "lt", "ron": "ro", "cat": "ca", "eus": "eu", "glg": "gl", "isl": "is",
        "sqi": "sq"}
OPEN_LICENSE = re.compile(r"Creative Commons|CC[- ]BY", re.I)


class DictError(InputError):
    pass


def _b64(text: str) -> int:
    n = 0
    for ch in text:
        i = _B64.find(ch)
        if i < 0:
            raise DictError(f"bad dictd base64 number {text!r}")
        n = n * 64 + i
    return n


@dataclass
class FreeDict:
    name: str  # "eng-bul"
    lang: str  # the non-English side, ISO 639-1
    license: str
    path: str
    # English word -> translations in ``lang`` (only entries with one sense, tagged as nouns)
    translations: dict[str, list[str]] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"freedict:{self.name}"

    @property
    def share_alike(self) -> bool:
        return "sharealike" in self.license.replace("-", "").replace(" ", "").lower() or "BY-SA" in self.license


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
        if path.suffix == ".dz":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8")
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise DictError(f"{path}: not a readable dictd data file ({exc})") from None


def _entries(index: Path, data: str) -> list[tuple[str, str]]:
    out = []
    try:
        lines = index.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DictError(f"{index}: not a readable dictd index ({exc})") from None
    raw = data.encode("utf-8")
    for n, line in enumerate(lines, 1):
        parts = line.split("\t")
        if len(parts) < 3:
            raise DictError(f"{index}:{n}: expected 'headword<TAB>offset<TAB>length'")
        off, length = _b64(parts[1]), _b64(parts[2])
        out.append((parts[0], raw[off:off + length].decode("utf-8", "replace")))
    return out


def _license(entries: list[tuple[str, str]]) -> str:
    info = next((body for head, body in entries if head == "00databaseinfo" or head == "00-database-info"), "")
    m = re.search(r"Licensed under (?:the )?(.+?)(?:\n\s*\n|$)", info, re.S)
    if m:
        return " ".join(m.group(1).split()).rstrip(".")
    if "GNU General Public" in info or "GPL" in info:
        return "GNU General Public License"
    return ""


def _parse(body: str) -> tuple[str, str, list[list[str]]]:
    """(headword, pos, senses) of one WikDict-style entry: a head line "word /ipa/ <n>", then
    per sense a line of comma-separated translations (numbered "1. ..." when several) and a gloss."""
    lines = [l for l in body.splitlines() if l.strip()]
    if not lines:
        return "", "", []
    m = _HEAD.match(lines[0])
    word, pos = (m.group("word").strip(), (m.group("pos") or "").strip()) if m else (lines[0].strip(), "")
    rest = lines[1:]
    numbered = [l for l in rest if _SENSE_NO.match(l)]
    if numbered:
        senses = [_split(_SENSE_NO.sub("", l, count=1)) for l in numbered]
    else:
        senses = [_split(rest[0])] if rest else []
    return word, pos, [s for s in senses if s]


def _split(line: str) -> list[str]:
    return [" ".join(w.split()) for w in line.split(",") if w.strip() and not w.strip().startswith("(")]


def load(index: Path) -> FreeDict:
    """Read one dictionary (``freedict-xxx-yyy.index`` next to its ``.dict.dz`` or ``.dict``)."""
    index = Path(index)
    m = _NAME.match(index.name.removesuffix(".index"))
    if not m:
        raise DictError(f"{index}: not a FreeDict index name (freedict-<lang3>-<lang3>.index)")
    src, dst = m.groups()
    if "eng" not in (src, dst) or src == dst:
        raise DictError(f"{index}: only English <-> other language dictionaries are used")
    other = dst if src == "eng" else src
    if other not in ISO3:
        raise DictError(f"{index}: language {other!r} is not one of ours")
    data_path = next((p for p in (index.with_suffix(".dict.dz"), index.with_suffix(".dict")) if p.is_file()), None)
    if data_path is None:
        raise DictError(f"{index}: its .dict.dz (or .dict) data file is missing")
    entries = _entries(index, _read_text(data_path))
    lic = _license(entries)
    if not OPEN_LICENSE.search(lic):
        raise DictError(f"{index}: licence {lic or 'unknown'!r} is not a Creative Commons licence; "
                        "GPL dictionaries must not go into the committed data")
    out = FreeDict(f"{src}-{dst}", ISO3[other], lic, str(index))
    for head, body in entries:
        if head.startswith("00"):
            continue
        word, pos, senses = _parse(body)
        if not word or pos not in ("n", "noun"):
            continue
        if src == "eng":
            if len(senses) == 1:  # one sense: the translation cannot be of another sense
                _add(out.translations, word.lower(), senses[0])
        else:
            # other -> English: every English gloss word of a one-sense entry points back to ``word``
            if len(senses) == 1:
                for en in senses[0]:
                    _add(out.translations, en.lower(), [word])
    return out


def _add(table: dict[str, list[str]], key: str, values: list[str]) -> None:
    cur = table.setdefault(key, [])
    for v in values:
        if v not in cur:
            cur.append(v)


@lru_cache(maxsize=4)
def load_dir(folder: str) -> tuple[tuple[FreeDict, ...], tuple[str, ...]]:
    """Every usable dictionary in ``folder`` and a note per refused one."""
    dicts, refused = [], []
    for index in sorted(Path(folder).glob("freedict-*.index")):
        try:
            dicts.append(load(index))
        except DictError as exc:
            refused.append(str(exc))
    return tuple(dicts), tuple(refused)


def lookup(dicts: tuple[FreeDict, ...], lang: str, english: str) -> list[tuple[str, FreeDict]]:
    """Translations of ``english`` into ``lang`` from every dictionary, in folder order."""
    out: list[tuple[str, FreeDict]] = []
    for d in dicts:
        if d.lang != lang:
            continue
        for t in d.translations.get(english.lower(), ()):
            if t not in [x for x, _ in out]:
                out.append((t, d))
    return out


def available(folder: Optional[Path]) -> bool:
    return folder is not None and any(Path(folder).glob("freedict-*.index"))

"""Domain specs: the small, readable TOML files in ``ontology/domains/``.

A spec names the root synsets whose direct hyponyms become the domain's dominant classes (as
MIC21 chose them: sisters at one level, no domain expertise needed) and the explicit corrections
where WordNet alone goes wrong::

    name = "sport"
    description = "..."
    roots = ["sport.n.01", "court_game.n.01"]   # their direct hyponyms are the candidates
    include = ["chess.n.02"]                      # extra candidates outside the roots
    exclude = ["blood_sport.n.01"]                # candidates that are groupings, rare or not visual
    stop = ["person.n.01"]                        # parent chains end here (inclusive)

    [objects]                                     # activity -> the visual object annotated
    "chess.n.02" = "chess_player.n.01"

    [attributes]                                  # extra attribute classes per dominant class
    "tennis_player.n.01" = ["tennis_ball.n.01"]

    exclude_attributes = ["court.n.04"]           # (top-level key, before any table)

    [custom."mic:handball_player"]                # a class WordNet 3.0 lacks (see below)
    name = "handball player"
    parent = "athlete.n.01"                       # its WordNet parent
    activity = "handball.n.02"                    # optional: the activity it was resolved from
    lemmas = ["handball player"]                  # optional English lemmas (default: [name])
    definition = "an athlete who plays team handball"

Custom class ids are ``mic:<identifier>``: WordNet 3.0 synset names never contain a colon, so a
custom id can never collide with a WordNet one. Names in other languages come from override files
or Wikidata (``corpus ontology enrich``), like any other class.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from corpus.errors import InputError

SYNSET_RE = re.compile(r"^[^\s.:][^\s:]*\.[nvasr]\.\d\d$")
CUSTOM_RE = re.compile(r"^mic:[a-z][a-z0-9_]{0,62}$")
CUSTOM_KEYS = {"name", "parent", "activity", "lemmas", "definition"}
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")

# Parent chains never go above these: they are too general to annotate (object, artifact) or
# abstract (organism is where MIC21 stopped for people, keeping person.n.01).
DEFAULT_STOP = ("person.n.01", "animal.n.01")
DEFAULT_TOO_GENERAL = (
    "entity.n.01", "physical_entity.n.01", "object.n.01", "whole.n.02", "artifact.n.01",
    "instrumentality.n.03", "living_thing.n.01", "organism.n.01", "causal_agent.n.01",
    "natural_object.n.01", "matter.n.03", "thing.n.12", "abstraction.n.06",
    # wheeled vehicles are also containers in WordNet; as a parent class that is noise
    "container.n.01",
)


class SpecError(InputError):
    """A domain spec with mistakes (every message names the file and the key)."""


@dataclass(frozen=True)
class CustomClass:
    """A dominant class WordNet 3.0 has no synset for (handball player, police helicopter)."""

    id: str  # "mic:handball_player"
    name: str  # English name
    parent: str  # WordNet synset it is a kind of
    domain: str
    activity: str | None = None
    lemmas: tuple[str, ...] = ()
    definition: str | None = None


@dataclass(frozen=True)
class DomainSpec:
    name: str
    description: str
    roots: tuple[str, ...]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    objects: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude_attributes: tuple[str, ...] = ()
    custom: dict[str, CustomClass] = field(default_factory=dict)
    stop: tuple[str, ...] = DEFAULT_STOP
    too_general: tuple[str, ...] = DEFAULT_TOO_GENERAL
    path: Path | None = None


def _synsets(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{where}: expected a list of synset names")
    bad = [v for v in value if not SYNSET_RE.match(v)]
    if bad:
        raise SpecError(f"{where}: not synset names (like 'tennis.n.01'): {', '.join(bad)}")
    return tuple(value)


def parse_spec(data: dict, path: Path | None = None) -> DomainSpec:
    where = str(path) if path else "domain spec"
    known = {"name", "description", "roots", "include", "exclude", "objects", "attributes",
             "exclude_attributes", "stop", "too_general", "custom"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    name = data.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SpecError(f"{where}: 'name' must be a lowercase identifier, got {name!r}")
    roots = _synsets(data.get("roots"), f"{where}: roots")
    if not roots:
        raise SpecError(f"{where}: 'roots' must list at least one synset")
    objects = data.get("objects", {}) or {}
    if not isinstance(objects, dict):
        raise SpecError(f"{where}: [objects] must map synset = synset")
    _synsets(list(objects) + list(objects.values()), f"{where}: [objects]")
    attrs_raw = data.get("attributes", {}) or {}
    if not isinstance(attrs_raw, dict):
        raise SpecError(f"{where}: [attributes] must map synset = [synsets]")
    attributes = {k: _synsets(v, f"{where}: attributes.{k}") for k, v in attrs_raw.items()}
    custom = _custom(data.get("custom", {}) or {}, name, where)
    _synsets([k for k in attributes if k not in custom], f"{where}: [attributes]")
    return DomainSpec(
        name=name,
        description=str(data.get("description", "")),
        roots=roots,
        include=_synsets(data.get("include"), f"{where}: include"),
        exclude=_synsets(data.get("exclude"), f"{where}: exclude"),
        objects=dict(objects),
        attributes=attributes,
        exclude_attributes=_synsets(data.get("exclude_attributes"), f"{where}: exclude_attributes"),
        custom=custom,
        stop=_synsets(data.get("stop"), f"{where}: stop") or DEFAULT_STOP,
        too_general=_synsets(data.get("too_general"), f"{where}: too_general") or DEFAULT_TOO_GENERAL,
        path=path,
    )


def _custom(raw: object, domain: str, where: str) -> dict[str, CustomClass]:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: [custom] must hold tables like [custom.\"mic:handball_player\"]")
    out: dict[str, CustomClass] = {}
    for cid, d in raw.items():
        at = f"{where}: custom.{cid}"
        if not CUSTOM_RE.match(cid):
            raise SpecError(f"{at}: a custom class id is 'mic:' and a lowercase identifier, e.g. mic:handball_player "
                            "(the colon keeps it apart from every WordNet synset name)")
        if not isinstance(d, dict):
            raise SpecError(f"{at}: expected a table with name and parent")
        unknown = sorted(set(d) - CUSTOM_KEYS)
        if unknown:
            raise SpecError(f"{at}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(CUSTOM_KEYS))})")
        name = d.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"{at}: 'name' (the English name) is required")
        parent = _synsets([d.get("parent")] if isinstance(d.get("parent"), str) else d.get("parent"), f"{at}: parent")
        if len(parent) != 1:
            raise SpecError(f"{at}: 'parent' must be one WordNet synset, e.g. \"athlete.n.01\"")
        activity = _synsets([d["activity"]] if isinstance(d.get("activity"), str) else d.get("activity"), f"{at}: activity")
        lemmas = d.get("lemmas", [name])
        if not isinstance(lemmas, list) or not lemmas or not all(isinstance(l, str) and l.strip() for l in lemmas):
            raise SpecError(f"{at}: 'lemmas' must be a non-empty list of strings")
        definition = d.get("definition")
        if definition is not None and not isinstance(definition, str):
            raise SpecError(f"{at}: 'definition' must be a string")
        out[cid] = CustomClass(cid, name.strip(), parent[0], domain, activity[0] if activity else None,
                               tuple(l.strip() for l in lemmas), definition)
    return out


def load_spec(path: Path) -> DomainSpec:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML: {exc}") from None
    return parse_spec(data, Path(path))


def load_specs(domains_dir: Path) -> list[DomainSpec]:
    specs = [load_spec(p) for p in sorted(Path(domains_dir).glob("*.toml"))]
    names = [s.name for s in specs]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise SpecError(f"{domains_dir}: domain names used twice: {', '.join(dups)}")
    return specs


def render_spec(name: str, roots: list[str], description: str = "") -> str:
    """TOML text of a new, minimal spec (what `corpus ontology add-domain` writes)."""
    lines = [
        f'name = "{name}"',
        f'description = "{description.replace(chr(34), chr(39))}"',
        "roots = [" + ", ".join(f'"{r}"' for r in roots) + "]",
        "# Candidates outside the roots / to drop, and activity -> object corrections:",
        "include = []",
        "exclude = []",
        "exclude_attributes = []",
        "",
        "[objects]",
        "",
        "[attributes]",
        "",
    ]
    return "\n".join(lines)

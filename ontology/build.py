"""Derive a domain's classes from WordNet: dominant, parent and attribute classes.

Method (after MIC21, Koeva et al. 2022):

1. *Dominant candidates* are the sister hyponyms one level under each root synset of the spec,
   plus the spec's ``include`` list, minus its ``exclude`` list and the roots themselves.
2. Each candidate is *resolved to the visual object* that gets annotated: a physical object stays
   itself (``ferry.n.01``); an activity becomes its participant (``tennis.n.01`` ->
   ``tennis_player.n.01``), found through derivational links (skiing -> ski -> skier), lemma
   patterns (``<activity>_player``, ``-er``, ``-ist``) or the spec's ``[objects]`` table.
   A candidate that resolves to nothing physical is dropped and reported, so no abstract synset
   becomes a visual class.
3. *Parent classes* are the recursive hypernyms of each dominant class, up to and including a stop
   synset (``person.n.01``) and never the too-general ones (``artifact.n.01``,
   ``instrumentality.n.03``, ``organism.n.01``, ...).
4. *Attribute classes* are the physical objects that go with a dominant class: part meronyms,
   topic-domain members, compounds of the activity's lemma (``tennis_ball``), and equipment named
   in the glosses (``someone who plays a violoncello`` -> ``cello.n.01``), plus the spec's list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Iterable

from ontology import wordnet as W
from ontology.labels import Lexica, NameReport, Overrides, build_labels, ili_of
from ontology.languages import LANGUAGES
from ontology.model import DomainOntology, OntologyClassData
from ontology.registry import CategoryRegistry
from ontology.spec import DomainSpec, SpecError

KIND_RANK = {"dominant": 0, "parent": 1, "attribute": 2}

# Glosses name equipment in plain words; only senses under these count as equipment.
EQUIPMENT_ANCHORS = (
    "equipment.n.01", "musical_instrument.n.01", "implement.n.01", "clothing.n.01",
    "weapon.n.01", "protective_garment.n.01", "headdress.n.01", "footwear.n.02",
    "brush.n.02", "easel.n.01",
)
# A gloss word whose sense has more hyponyms than this is a category, not a thing to outline.
MAX_GLOSS_HYPONYMS = 25
# An automatically derived attribute must have lemmas in at least this many of the 25 languages:
# it keeps the common things (wheel, mast, racket) and drops the obscure (bilge well, lubber's hole).
MIN_ATTRIBUTE_LANGUAGES = 15
PARTICIPANT_ANCHORS = ("contestant.n.01", "athlete.n.01", "player.n.01", "performer.n.01")
_WORD = re.compile(r"[a-z][a-z'-]*")


@dataclass
class BuildReport:
    domain: str
    candidates: list[str] = field(default_factory=list)
    resolved: dict[str, tuple[str, str]] = field(default_factory=dict)  # candidate -> (object, how)
    unresolved: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    names: NameReport = field(default_factory=NameReport)


# --- WordNet helpers (cached by synset name: the build asks the same questions many times) ----

@lru_cache(maxsize=None)
def _ss(name: str) -> Any:
    return W.synset(name)


@lru_cache(maxsize=None)
def closure(name: str) -> tuple[str, ...]:
    return W.hypernym_closure(_ss(name))


def is_physical(name: str) -> bool:
    """A concrete thing one can outline: under whole.n.02, or a person (some person synsets,
    e.g. racer.n.01, reach person only through causal_agent.n.01)."""
    c = closure(name)
    return _ss(name).pos() == "n" and (W.WHOLE in c or W.PERSON in c or name == W.PERSON)


def is_person(name: str) -> bool:
    return name == W.PERSON or W.PERSON in closure(name)


def is_equipment(name: str) -> bool:
    c = closure(name)
    return any(a in c for a in EQUIPMENT_ANCHORS)


@lru_cache(maxsize=None)
def n_hyponyms(name: str) -> int:
    return sum(1 for _ in _ss(name).closure(lambda s: s.hyponyms()))


@lru_cache(maxsize=None)
def n_languages(name: str) -> int:
    """In how many of the 25 languages the chains find lemmas for ``name``."""
    from ontology.labels import lemmas_anywhere

    return sum(1 for lang in LANGUAGES if lemmas_anywhere(_ss(name), lang))


def canonical_spec(spec: DomainSpec) -> DomainSpec:
    """The spec with every synset under WordNet's own name (police_car.n.01 is cruiser.n.01)."""
    def c(names: Iterable[str]) -> tuple[str, ...]:
        return tuple(_ss(n).name() for n in names)

    return replace(
        spec,
        roots=c(spec.roots), include=c(spec.include), exclude=c(spec.exclude),
        objects={_ss(k).name(): _ss(v).name() for k, v in spec.objects.items()},
        attributes={(k if k in spec.custom else _ss(k).name()): c(v) for k, v in spec.attributes.items()},
        custom={k: replace(v, parent=_ss(v.parent).name(), activity=_ss(v.activity).name() if v.activity else None)
                for k, v in spec.custom.items()},
        exclude_attributes=c(spec.exclude_attributes), stop=c(spec.stop), too_general=c(spec.too_general),
    )


def english_name(name: str) -> str:
    return _ss(name).lemma_names()[0].replace("_", " ")


def _persons(names: Iterable[str]) -> list[str]:
    found = sorted({n for n in names if _ss(n).pos() == "n" and is_person(n)})
    return sorted(found, key=lambda n: (not any(a in closure(n) for a in PARTICIPANT_ANCHORS), n))


# --- step 1 and 2: dominant classes ---------------------------------------------------------

def candidates(spec: DomainSpec) -> list[str]:
    roots = set(spec.roots)
    out: set[str] = set()
    for root in spec.roots:
        out.update(h.name() for h in _ss(root).hyponyms())
    out.update(spec.include)
    out -= set(spec.exclude)
    out -= roots
    return sorted(out)


def resolve_object(name: str, spec: DomainSpec) -> tuple[str | None, str]:
    """The visual object for candidate ``name`` and how it was found."""
    if name in spec.objects:
        return spec.objects[name], "spec"
    if is_physical(name):
        return name, "self"
    ss = _ss(name)
    if ss.pos() != "n":
        return None, "not a noun"
    # Derivational links, one and two steps: skiing -> ski (verb) -> skier.
    linked: list[str] = []
    for lemma in ss.lemmas():
        for f in lemma.derivationally_related_forms():
            linked.append(f.synset().name())
            linked.extend(g.synset().name() for g in f.derivationally_related_forms())
    found = _persons(linked)
    if found:
        return found[0], "derivation"
    wn = W.wordnet()
    guesses: list[str] = []
    for lemma in ss.lemma_names():
        stem = lemma[:-3] if lemma.endswith("ing") else lemma
        for word in (f"{lemma}_player", f"{lemma}er", f"{stem}er", f"{stem}ist", f"{lemma}ist"):
            guesses.extend(s.name() for s in wn.synsets(word, "n") if word in (l.lower() for l in s.lemma_names()))
    found = _persons(guesses)
    if found:
        return found[0], "lemma pattern"
    return None, "no participant found"


# --- step 3: parent classes -----------------------------------------------------------------

def _hypernyms(name: str) -> list[str]:
    ss = _ss(name)
    return sorted(h.name() for h in ss.hypernyms() + ss.instance_hypernyms())


def parent_classes(dominant: Iterable[str], spec: DomainSpec) -> dict[str, tuple[str, ...]]:
    """Direct parents (within the cut-off) of every dominant class and of every parent class
    reached from them. The keys are the dominant classes plus all parent classes."""
    too_general, stop = set(spec.too_general), set(spec.stop)
    todo = sorted(dominant)
    direct: dict[str, tuple[str, ...]] = {}
    while todo:
        cur = todo.pop()
        if cur in direct:
            continue
        hyper = [spec.custom[cur].parent] if cur in spec.custom else _hypernyms(cur)
        ups = () if cur in stop else tuple(h for h in hyper if h not in too_general)
        direct[cur] = ups
        todo.extend(h for h in ups if h not in direct)
    return direct


# --- step 4: attribute classes --------------------------------------------------------------

@lru_cache(maxsize=1)
def _compound_index() -> dict[str, tuple[str, ...]]:
    """First word of every multi-word or compound noun lemma -> synsets (for tennis_ball etc.)."""
    idx: dict[str, set[str]] = {}
    for ss in W.wordnet().all_synsets("n"):
        for lemma in ss.lemma_names():
            low = lemma.lower()
            if "_" in low:
                idx.setdefault(low.split("_", 1)[0], set()).add(ss.name())
    return {k: tuple(sorted(v)) for k, v in idx.items()}


def _gloss_equipment(name: str) -> set[str]:
    """Equipment named in a gloss. A word counts only when its most frequent noun sense is the
    equipment: "plays a violoncello" gives cello.n.01, but "a man skilled in equitation" does not
    give the draughts piece man.n.10."""
    wn = W.wordnet()
    words = _WORD.findall(_ss(name).definition().lower())
    phrases = [f"{a}_{b}" for a, b in zip(words, words[1:])] + words
    out: set[str] = set()
    covered: set[str] = set()
    for phrase in phrases:
        if phrase in covered:
            continue
        senses = wn.synsets(phrase, "n")
        if not senses:
            continue
        n = senses[0].name()
        if is_physical(n) and not is_person(n) and is_equipment(n) and n_hyponyms(n) <= MAX_GLOSS_HYPONYMS:
            out.add(n)
            covered.update(phrase.split("_"))
    return out


def attribute_candidates(dominant: str, origin: str | None, spec: DomainSpec) -> dict[str, str]:
    """Attribute synset -> the relation it came from, for one dominant class."""
    if dominant in spec.custom:  # no WordNet relations to follow: the spec's list only
        return {n: "spec" for n in spec.attributes.get(dominant, ())}
    found: dict[str, str] = {}

    def add(names: Iterable[str], how: str) -> None:
        for n in sorted(names):
            found.setdefault(n, how)

    anchors = [dominant] + ([origin] if origin else [])
    for a in anchors:
        add((m.name() for m in _ss(a).part_meronyms()), "part meronym")
        add((m.name() for m in _ss(a).in_topic_domains()), "topic domain member")
    # Compounds of the activity's name only (tennis_ball); a vehicle's name gives noise
    # (car -> car_bomb, carport).
    stems = set(l.lower() for l in _ss(origin).lemma_names()) if origin else set()
    idx = _compound_index()
    for stem in sorted(stems):
        add((n for n in idx.get(stem, ()) if n not in (dominant, origin) and is_equipment(n)), "compound lemma")
    # Glosses of people and activities name their equipment ("someone who plays a violoncello");
    # a vehicle's gloss names what it carries, not what it has.
    for a in anchors:
        if a == origin or is_person(a):
            add(_gloss_equipment(a), "gloss equipment")
    # Automatic relations keep common physical, non-person things only; the spec's list is trusted.
    excluded = set(spec.exclude_attributes) | set(spec.too_general)
    keep = {
        n: how for n, how in found.items()
        if n not in excluded and n not in anchors and is_physical(n) and not is_person(n)
        and n_languages(n) >= MIN_ATTRIBUTE_LANGUAGES
    }
    for key in (dominant, origin):
        for n in spec.attributes.get(key or "", ()):
            keep[n] = "spec"
    return keep


# --- the whole domain -----------------------------------------------------------------------

def derive(spec: DomainSpec) -> tuple[dict[str, dict[str, Any]], BuildReport]:
    """The classes of a domain as plain dicts (synset -> fields), without labels or ids."""
    report = BuildReport(spec.name)
    spec = canonical_spec(spec)  # also a clear error for a misspelt synset in the spec
    report.candidates = candidates(spec)
    stray = sorted(set(spec.objects) - set(report.candidates))
    if stray:
        raise SpecError(f"{spec.name}: [objects] names {', '.join(stray)}, which are not candidates "
                        "(not under a root, or excluded): add them to include")
    dominant: dict[str, str | None] = {}
    for cand in report.candidates:
        obj, how = resolve_object(cand, spec)
        if obj is None:
            report.unresolved.append(f"{cand} ({how})")
            continue
        if not is_physical(obj):
            if how == "spec":
                raise SpecError(f"{spec.name}: [objects] maps {cand} to {obj}, which is not a physical object")
            report.unresolved.append(f"{cand} (resolved to abstract {obj})")
            continue
        report.resolved[cand] = (obj, how)
        origin = None if obj == cand else cand
        # Two candidates, one object (skating, ice skating -> skater): candidates come sorted, so
        # the first origin stays; an object listed for itself has no origin.
        if obj not in dominant:
            dominant[obj] = origin
        elif origin is None:
            dominant[obj] = None
    for cid, cc in sorted(spec.custom.items()):
        dominant[cid] = cc.activity

    # An [attributes] key that is neither a dominant class nor its activity would be ignored
    # silently (a root such as policeman.n.01 is a parent class, not a dominant one).
    anchors = set(dominant) | {o for o in dominant.values() if o}
    stray = sorted(set(spec.attributes) - anchors)
    if stray:
        raise SpecError(f"{spec.name}: [attributes] names {', '.join(stray)}, which are not dominant classes "
                        "(nor their activities): attach the attributes to a dominant class")
    classes: dict[str, dict[str, Any]] = {}
    for syn, origin in dominant.items():
        classes[syn] = {"kind": "dominant", "origin_synset": origin, "attribute_of": set()}
    parents = parent_classes(dominant, spec)
    for syn in sorted(set(parents) - set(dominant)):
        classes.setdefault(syn, {"kind": "parent", "origin_synset": None, "attribute_of": set()})
    for syn, origin in sorted(dominant.items()):
        for att in attribute_candidates(syn, origin, spec):
            if att in dominant:
                continue
            entry = classes.setdefault(att, {"kind": "attribute", "origin_synset": None, "attribute_of": set()})
            entry["attribute_of"].add(syn)
    for syn, entry in classes.items():
        ups = parents[syn] if syn in parents else _hypernyms(syn)
        entry["parents"] = tuple(p for p in ups if p in classes and p != syn)
        entry["attribute_of"] = tuple(sorted(entry["attribute_of"]))
        cc = spec.custom.get(syn)
        entry["custom"] = cc is not None
        entry["hypernym_closure"] = tuple(sorted({cc.parent, *closure(cc.parent)})) if cc else closure(syn)
        entry["name"] = cc.name if cc else english_name(syn)
    report.counts = {k: sum(1 for e in classes.values() if e["kind"] == k) for k in KIND_RANK}
    return classes, report


def build_domain(
    spec: DomainSpec, registry: CategoryRegistry, overrides: Overrides | None = None, lex: Lexica | None = None,
) -> tuple[DomainOntology, BuildReport]:
    classes, report = derive(spec)
    spec = canonical_spec(spec)
    order = sorted(classes, key=lambda s: (KIND_RANK[classes[s]["kind"]], s))
    registry.assign(order)
    lex = lex or Lexica(overrides=overrides or Overrides())
    lex = replace(lex, custom=spec.custom)
    # The classes first, then their labels: the name checks read the classes (kind, parents,
    # attributes, activity, whether a person) and the English label gives the unique name.
    derived = {
        s: OntologyClassData(
            synset=s,
            kind=classes[s]["kind"],
            name=classes[s]["name"],
            origin_synset=classes[s]["origin_synset"],
            parents=classes[s]["parents"],
            attribute_of=classes[s]["attribute_of"],
            hypernym_closure=classes[s]["hypernym_closure"],
            category_id=registry.ids[s],
            custom=classes[s]["custom"],
        )
        for s in order
    }
    labels, sources, report.names = build_labels(order, lex.overrides, lex, derived, KIND_RANK)
    out = [
        replace(
            c,
            # the English name unique in the domain: "swimmer" and "swimmer (traveler)"
            name=labels[s]["en"].key or c.name,
            labels=labels[s],
            ili=None if c.custom else ili_of(s, lex),
        )
        for s, c in derived.items()
    ]
    dom = DomainOntology(
        name=spec.name, description=spec.description, roots=spec.roots, version="", classes=out, sources=sources
    )
    return dom, report

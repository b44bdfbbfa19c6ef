"""Detector label -> WordNet synset -> ontology class.

The first step is reviewed data (``annotators/data/label_synsets.yaml``); the second is the pure
function :func:`map_synset`, which decides per detection, given the classes an image was harvested
for, in this order:

1. ``harvest``: a harvest class ``C`` of the image that *is* the detected synset ``S`` or a
   hyponym of it (``S`` in ``C``'s hypernym closure): a ``person`` in an image harvested for
   ``tennis_player.n.01`` becomes a tennis player. The most specific such ``C`` wins.
2. ``attribute``: an attribute class of the domain that is ``S`` (``tennis racket``), or a
   hyponym of ``S`` that is an attribute of the image's harvest class (``sports ball`` ->
   ``ball.n.01`` -> ``tennis_ball.n.01`` in a tennis player image, not in a footballer image);
   an ambiguous choice falls through.
3. ``exact``: a domain class that is ``S`` itself (any kind).
4. ``parent``: the most specific domain class that ``S`` belongs to (a hypernym of ``S``), only
   under the ``keep`` policy;
5. otherwise ``unmapped`` (class ``None``) under ``keep``, or dropped (``None``) under ``drop``.

Classes are duck-typed (``synset``, ``kind``, ``hypernym_closure``, ``attribute_of``), so the
ontology package's objects, :class:`ClassInfo`, or test doubles all work.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

import yaml

from corpus.errors import InputError, UsageError

__all__ = [
    "ClassInfo",
    "Mapped",
    "LabelMapper",
    "Policy",
    "load_label_synsets",
    "map_synset",
    "wordnet_closure",
    "DEFAULT_TABLE",
]

DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "label_synsets.yaml"
Policy = Literal["keep", "drop"]


@dataclass(frozen=True)
class ClassInfo:
    """What mapping needs to know of an ontology class."""

    synset: str
    kind: str = "dominant"  # dominant / parent / attribute
    hypernym_closure: frozenset[str] = frozenset()  # all hypernyms up to entity.n.01, not itself
    attribute_of: frozenset[str] = frozenset()  # synsets of the classes an attribute goes with
    name: str = ""


@dataclass(frozen=True)
class Mapped:
    """Where a detection goes: a class synset (``None``: kept unclassified) and the rule that chose it."""

    synset: str | None
    rule: str


def _synsets(values: Iterable[Any] | None) -> frozenset[str]:
    return frozenset(str(getattr(v, "synset", v)) for v in (values or ()))


def _closure(c: Any) -> frozenset[str]:
    return _synsets(getattr(c, "hypernym_closure", None))


def _depth(c: Any) -> int:
    return len(_closure(c))


def _most_specific(cands: Sequence[Any]) -> Any | None:
    # Deepest in the hierarchy (largest hypernym closure); synset name breaks ties for determinism.
    return max(cands, key=lambda c: (_depth(c), c.synset), default=None)


def map_synset(
    detected: str | None,
    detected_closure: Iterable[str],
    harvest_classes: Sequence[Any],
    domain_classes: Sequence[Any],
    policy: Policy = "keep",
) -> Mapped | None:
    """Choose the ontology class for one detection of synset ``detected`` (see the module doc).

    ``detected_closure`` is the detected synset's own hypernym closure (for the ``parent`` rule);
    ``harvest_classes`` are the classes the image was harvested for; ``domain_classes`` all the
    domain's classes. Returns ``None`` when the policy drops the detection.
    """
    if policy not in ("keep", "drop"):
        raise UsageError(f"unmapped policy must be 'keep' or 'drop', not {policy!r}")
    if detected is None:
        return Mapped(None, "unknown-label") if policy == "keep" else None
    up = frozenset(detected_closure)

    hits = [c for c in harvest_classes if c.synset == detected or detected in _closure(c)]
    if hits:
        return Mapped(_most_specific(hits).synset, "harvest")

    attrs = [c for c in domain_classes if getattr(c, "kind", "") == "attribute"
             and (c.synset == detected or detected in _closure(c))]
    exact = [c for c in attrs if c.synset == detected]
    if exact:
        return Mapped(exact[0].synset, "attribute")
    if attrs:
        # A more specific attribute (tennis_ball for "sports ball") only where it belongs: an
        # attribute of the image's harvest class, or one that belongs to no class in particular.
        harvest = _synsets(c.synset for c in harvest_classes)
        pick = [c for c in attrs if _synsets(getattr(c, "attribute_of", None)) & harvest]
        if not pick:
            pick = [c for c in attrs if not _synsets(getattr(c, "attribute_of", None))]
        if len(pick) == 1:
            return Mapped(pick[0].synset, "attribute")

    for c in domain_classes:
        if c.synset == detected:
            return Mapped(c.synset, "exact")
    if policy == "drop":
        return None
    parents = [c for c in domain_classes if c.synset in up]
    if parents:
        return Mapped(_most_specific(parents).synset, "parent")
    return Mapped(None, "unmapped")


def load_label_synsets(path: str | Path | None = None) -> dict[str, str]:
    """The reviewed label table, lower-case labels (aliases included) -> synset name."""
    path = Path(path) if path else DEFAULT_TABLE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"label mapping file {path} not found") from None
    except yaml.YAMLError as exc:
        raise InputError(f"label mapping file {path} is not valid YAML: {exc}") from None
    labels = {str(k).strip().lower(): str(v).strip() for k, v in (data.get("labels") or {}).items()}
    for alias, target in (data.get("aliases") or {}).items():
        target = str(target).strip().lower()
        if target not in labels:
            raise InputError(f"{path}: alias {alias!r} points to unknown label {target!r}")
        labels.setdefault(str(alias).strip().lower(), labels[target])
    return labels


@lru_cache(maxsize=4096)
def wordnet_closure(synset: str) -> frozenset[str]:
    """All hypernyms (class and instance) of ``synset`` up to ``entity.n.01``, from NLTK's WordNet."""
    from nltk.corpus import wordnet as wn

    s = wn.synset(synset)
    return frozenset(h.name() for h in s.closure(lambda x: x.hypernyms() + x.instance_hypernyms()))


class LabelMapper:
    """Label table + a domain's classes + a policy: ``mapper(label, harvest_synsets)`` -> :class:`Mapped`."""

    def __init__(
        self,
        domain_classes: Sequence[Any],
        policy: Policy = "keep",
        table: dict[str, str] | None = None,
        closure=wordnet_closure,
    ) -> None:
        self.classes = list(domain_classes)
        self.by_synset = {c.synset: c for c in self.classes}
        self.policy = policy
        self.table = load_label_synsets() if table is None else table
        self._closure = closure
        self._cache: dict[tuple[str, frozenset[str]], Mapped | None] = {}

    def synset_of(self, label: str) -> str | None:
        return self.table.get(label.strip().lower())

    def __call__(self, label: str, harvest_synsets: Iterable[str]) -> Mapped | None:
        key = (label, frozenset(harvest_synsets))
        if key not in self._cache:
            s = self.synset_of(label)
            try:
                up = self._closure(s) if s else frozenset()
            except (LookupError, ValueError):  # WordNet missing, or a synset it lacks
                up = frozenset()
            harvest = [self.by_synset[h] for h in key[1] if h in self.by_synset]
            self._cache[key] = map_synset(s, up, harvest, self.classes, self.policy)
        return self._cache[key]

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

Rule 1 alone would make every person in a tennis player image a tennis player, pedestrians and
spectators included. :func:`refine_harvest` (used by :meth:`LabelMapper.map_image`) therefore
looks at the whole image when several detections compete for the same harvest class through a
more general detector label (``person`` -> ``tennis_player.n.01``). A detection keeps the class
when it has evidence of its own or is clearly the photo's subject:

- *evidence*: an attribute object of that class (a racket, a skateboard, a football) overlaps it
  or lies within a quarter of its height of it; each object counts for the one person it is
  closest to (most overlap, then smallest gap);
- *subject*: its score, relative size x (0.5 + 0.5 x centrality), is at least twice the runner-up's.

The others are mapped as if the image had no harvest class (``person.n.01`` under ``exact`` or
``parent``) with the rule ``refined``; a single candidate keeps the class. The evidence cannot tell
a team apart from a crowd, so without rackets or balls a group photo stays ``person``: a correct
but less specific label, which a reviewer relabels in bulk, rather than a wrong one.

Classes are the ontology's :class:`ontology.model.OntologyClassData` (as built, or read back from
the store with the closure the annotate stage adds); mapping reads only ``synset``, ``kind``,
``hypernym_closure`` and ``attribute_of`` (synsets, or objects with a ``synset``), so any object
with those attributes works too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

import yaml

from corpus.errors import InputError, UsageError

__all__ = [
    "Box",
    "refine_harvest",
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
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels

# Refinement thresholds (see the module doc; measured on real photos in docs/annotate.md).
NEAR_HEIGHTS = 0.25  # an attribute object this many person heights away still counts as near
STANDOUT = 2.0  # the subject's score over the runner-up's for it to keep the class without evidence


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


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _overlap(a: Box, b: Box) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def _gap(a: Box, b: Box) -> float:
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    return (dx * dx + dy * dy) ** 0.5


def _holder(obj: Box, people: Sequence[tuple[int, Box]]) -> int | None:
    """The person an attribute object belongs to: overlapping or near, most overlap, then closest."""
    best = None
    for i, box in people:
        gap = _gap(obj, box)
        if gap > NEAR_HEIGHTS * max(1.0, box[3] - box[1]):
            continue
        key = (_overlap(obj, box), -gap, _area(box))
        if best is None or key > best[0]:
            best = (key, i)
    return None if best is None else best[1]


def _subject_scores(people: Sequence[tuple[int, Box]], image_size: tuple[int, int]) -> dict[int, float]:
    """Relative size x (0.5 + 0.5 x centrality): the photo's subject is big and central."""
    h, w = image_size
    cx, cy, half_diag = w / 2, h / 2, max(1.0, ((w / 2) ** 2 + (h / 2) ** 2) ** 0.5)
    biggest = max((_area(b) for _, b in people), default=0.0) or 1.0
    out = {}
    for i, b in people:
        dist = (((b[0] + b[2]) / 2 - cx) ** 2 + ((b[1] + b[3]) / 2 - cy) ** 2) ** 0.5
        out[i] = _area(b) / biggest * (0.5 + 0.5 * max(0.0, 1 - dist / half_diag))
    return out


def refine_harvest(
    mapped: Sequence[Mapped | None],
    boxes: Sequence[Box],
    detected: Sequence[str | None],
    image_size: tuple[int, int],
    classes: dict[str, Any],
    fallback: Any,
) -> list[Mapped | None]:
    """One image's mappings, with harvest-class candidates that lack evidence moved elsewhere.

    ``mapped[i]`` is detection ``i``'s :func:`map_synset` result, ``boxes[i]`` its box,
    ``detected[i]`` its detector synset; ``image_size`` is (height, width); ``classes`` the
    domain's classes by synset; ``fallback(i)`` maps detection ``i`` as if the image had no harvest
    class (None: dropped). See the module doc for the rule.
    """
    out = list(mapped)
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(mapped):
        if m is not None and m.rule == "harvest" and m.synset and detected[i] != m.synset:
            groups.setdefault(m.synset, []).append(i)
    for cls, members in groups.items():
        if len(members) < 2:
            continue  # one candidate: the image was found for this class, it is the one
        people = [(i, boxes[i]) for i in members]
        keep: set[int] = set()
        for j, m in enumerate(mapped):
            c = classes.get(m.synset) if m is not None and m.synset else None
            if c is not None and cls in _synsets(getattr(c, "attribute_of", None)):
                holder = _holder(boxes[j], people)
                if holder is not None:
                    keep.add(holder)
        scores = _subject_scores(people, image_size)
        ranked = sorted(members, key=lambda i: (-scores[i], i))
        if scores[ranked[0]] >= STANDOUT * scores[ranked[1]]:
            keep.add(ranked[0])
        for i in members:
            if i not in keep:
                fb = fallback(i)
                out[i] = None if fb is None else Mapped(fb.synset, "refined")
    return out


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

    def map_image(
        self, detections: Sequence[tuple[str, Box]], harvest_synsets: Iterable[str], image_size: tuple[int, int],
    ) -> list[Mapped | None]:
        """Map one image's detections (label, box) together: :meth:`__call__` for each, then
        :func:`refine_harvest` so that only people with evidence take the image's class."""
        harvest = frozenset(harvest_synsets)
        labels = [label for label, _ in detections]
        first = [self(label, harvest) for label in labels]
        return refine_harvest(first, [box for _, box in detections], [self.synset_of(x) for x in labels],
                              image_size, self.by_synset, lambda i: self(labels[i], frozenset()))

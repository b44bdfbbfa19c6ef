"""The known-images index: every image row of the store (and of this run), by (source, id at the
source), by sha1 and by pHash, and the one duplicate decision for every downloaded image.

Loaded once at the start of a run (dedup spans domains and sources), then kept up to date by the
writer; the download threads read it only as a hint (to skip writing files that will not be kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from corpus.harvest.dedup import PhashIndex, Sha1Index
from corpus.store.models import HarvestQuery, Image, ImageHit

if TYPE_CHECKING:
    from corpus.harvest.report import ClassReport

__all__ = ["Ref", "KnownImages", "current"]


@dataclass(eq=False)
class Ref:
    """An image row the writer knows: committed (``id``) or pending in the session (``row``)."""

    source: str
    status: str
    sha1: str | None = None
    local_path: str | None = None
    id: int | None = None
    row: Image | None = None
    classes: set = field(default_factory=set)
    idx: int = -1  # position in the writer's ref list (what the dedup indexes hold)
    pixels: int = 0  # width x height of the stored file (which near-duplicate copy is best)
    nbytes: int = 0
    created: bool = False  # its file was created by this run (so this run may delete it)
    superseded_by: "Ref | None" = None  # a better copy replaced it (near-duplicates)
    counted_in: "ClassReport | None" = None  # the class report that counts it as kept in this run
    # class id -> (bucket, counted in this run's summary): the (language, source) share of the
    # class's quota it fills, so a better near-duplicate that replaces it takes its place there
    # rather than being counted twice.
    buckets: dict = field(default_factory=dict)

    def image_id(self) -> int | None:
        return self.id if self.id is not None else (self.row.id if self.row is not None else None)


def current(ref: Ref) -> Ref:
    """The copy that stands for ``ref`` now (a better near-duplicate may have replaced it)."""
    while ref.superseded_by is not None:
        ref = ref.superseded_by
    return ref


class KnownImages:
    """The image rows a run knows, and the indexes over them (writer thread; see the module doc)."""

    def __init__(self) -> None:
        self.sha1_index = Sha1Index()
        self.phash_index = PhashIndex()
        self.refs: list[Ref] = []  # what the dedup indexes point into
        self.by_key: dict[tuple[str, str], Ref] = {}  # (source, id at the source) -> ref
        self.hit_pairs: set[tuple[int, int]] = set()  # (id(ref), query id)
        self.ref_ids: dict[int, Ref] = {}  # image id -> ref
        self.stored_paths: set[str] = set()  # every file a row of this store refers to

    def load(self, session: Session, id_to_source: Mapping[int, str], class_ids: Iterable[int]) -> None:
        """What the store already holds: every image, which (source, id) found it, and which of
        ``class_ids``' queries did."""
        for img_id, src_id, sid, sha1, phash, status, path, w, h, nbytes in session.execute(
            select(Image.id, Image.source_id, Image.source_image_id, Image.sha1, Image.phash, Image.status,
                   Image.local_path, Image.width, Image.height, Image.bytes)
        ):
            ref = Ref(id_to_source.get(src_id, str(src_id)), status, sha1, path, id=img_id,
                      pixels=(w or 0) * (h or 0), nbytes=nbytes or 0)
            self.index(ref, sid, phash)
        for img_id, src_id, sid in session.execute(
            select(ImageHit.image_id, HarvestQuery.source_id, ImageHit.source_image_id)
            .join(HarvestQuery, HarvestQuery.id == ImageHit.query_id)
        ):
            ref = self.ref_ids.get(img_id)
            if ref is not None and sid:
                self.by_key.setdefault((id_to_source.get(src_id, str(src_id)), sid), ref)
        for img_id, q_id, cls_id in session.execute(
            select(ImageHit.image_id, ImageHit.query_id, HarvestQuery.class_id)
            .join(HarvestQuery, HarvestQuery.id == ImageHit.query_id)
            .where(HarvestQuery.class_id.in_(list(class_ids)))
        ):
            ref = self.ref_ids.get(img_id)
            if ref is not None:
                self.hit_pairs.add((id(ref), q_id))
                ref.classes.add(cls_id)

    def index(self, ref: Ref, source_image_id: str, phash: str | None = None) -> None:
        ref.idx = len(self.refs)
        self.refs.append(ref)
        if ref.id is not None:
            self.ref_ids[ref.id] = ref
        self.by_key[(ref.source, source_image_id)] = ref
        if ref.sha1:
            self.sha1_index.add(ref.sha1, ref.idx)
        if ref.local_path:
            self.stored_paths.add(ref.local_path)  # every file a row of this store refers to
        if ref.status == "stored" and phash:
            self.phash_index.add(phash, ref.idx)

    def may_keep(self, sha1: str, phash: str, pixels: int, nbytes: int, near_dup_bits: int) -> bool:
        """A download thread's guess (the writer decides): not a known file, and not a
        near-duplicate of a copy at least as good."""
        if sha1 in self.sha1_index:
            return False
        near = self.phash_index.nearest(phash, near_dup_bits)
        if near is None:
            return True
        kept = current(self.refs[near[0]])
        return (pixels, nbytes) > (kept.pixels, kept.nbytes)

    def decide(self, sha1: str, phash: str, pixels: int, nbytes: int, written: bool, near_dup_bits: int,
               has_review_work: Callable[[Ref], bool]) -> tuple[str, Ref | None]:
        """What a downloaded image is, against everything this store holds or kept in this run
        (one decision for fresh and retried downloads):

        * ``("duplicate", ref)``: the same bytes (sha1) as ``ref``;
        * ``("near", ref)``: a near-duplicate (pHash) of ``ref``, which is at least as good;
        * ``("better", ref)``: a near-duplicate of ``ref`` but a better copy: this one is kept
          and ``ref`` becomes the near-duplicate (the writer's ``_supersede``);
        * ``("new", None)``.

        Best copy: more pixels, then more bytes at the same size (less compressed). A copy that
        already has proposals or annotations is never replaced: review work is not moved."""
        same = self.sha1_index.get(sha1)
        if same is not None:
            return "duplicate", self.refs[same]
        near = self.phash_index.nearest(phash, near_dup_bits)
        if near is None:
            return "new", None
        kept = current(self.refs[near[0]])
        if kept.status != "stored":  # superseded chain ended in a row no longer stored
            return "new", None
        better = (pixels, nbytes) > (kept.pixels, kept.nbytes)
        if better and written and not has_review_work(kept):
            return "better", kept
        return "near", kept

"""The review store: typed SQLAlchemy 2 models.

Data flows one way (ontology -> harvest -> annotate -> review -> export) and so do the foreign
keys. Uniqueness constraints make duplicates impossible rather than merely unlikely: one image
row per (source, id at the source) and per sha1, one label per (class, language), one hit per
(image, query), one annotation pass per (image, model, weights).

The schema itself is owned by Alembic (``alembic/versions``); these models must match it, which
``tests/store/test_migrations.py`` checks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so Alembic migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CLASS_KINDS = ("dominant", "parent", "attribute")
RELATIONS = ("hypernym", "attribute_of")
IMAGE_STATUSES = ("pending", "stored", "rejected", "failed")
ANNOTATION_ORIGINS = ("proposal", "manual", "import")
REVIEW_STATUSES = ("pending", "accepted", "edited", "rejected")
REVIEW_ACTIONS = ("create", "accept", "reject", "relabel", "edit", "delete", "add", "reopen")
# Image-level decisions: the reviewer finished (or reopened) an image.
IMAGE_REVIEW_ACTIONS = ("done", "undone")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


class Domain(Base):
    __tablename__ = "domains"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    root_synsets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Version string (hash) of the built ontology data loaded into the store.
    ontology_version: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    classes: Mapped[list["OntologyClass"]] = relationship(back_populates="domain", cascade="all, delete-orphan")


class OntologyClass(Base):
    """A visual object class of a domain, identified by its WordNet 3.0 synset."""

    __tablename__ = "ontology_classes"
    __table_args__ = (
        UniqueConstraint("domain_id", "synset"),
        CheckConstraint(_in("kind", CLASS_KINDS), name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    synset: Mapped[str] = mapped_column(String(128))  # e.g. "tennis_player.n.01"
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))  # English lemma, used as COCO category name
    # For dominant classes resolved from an activity (tennis.n.01 -> tennis_player.n.01).
    origin_synset: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    # Stable id used as COCO category id across exports.
    category_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)

    domain: Mapped[Domain] = relationship(back_populates="classes")
    labels: Mapped[list["Label"]] = relationship(back_populates="ontology_class", cascade="all, delete-orphan")


class ClassRelation(Base):
    """Edges between classes: ``hypernym`` (child -> parent class) and ``attribute_of``
    (attribute class -> the dominant class it goes with)."""

    __tablename__ = "class_relations"
    __table_args__ = (CheckConstraint(_in("relation", RELATIONS), name="relation"),)
    class_id: Mapped[int] = mapped_column(ForeignKey("ontology_classes.id", ondelete="CASCADE"), primary_key=True)
    related_id: Mapped[int] = mapped_column(
        ForeignKey("ontology_classes.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    relation: Mapped[str] = mapped_column(String(16), primary_key=True)


class Label(Base):
    """Lemmas and definition of a class in one language, with where they came from."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("class_id", "lang"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("ontology_classes.id", ondelete="CASCADE"))
    lang: Mapped[str] = mapped_column(String(8))  # ISO 639-1
    lemmas: Mapped[list[Any]] = mapped_column(JSON, default=list)
    definition: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    # source of the first lemma, e.g. "omw:bul", "extended_omw:wikt", "galnet:3.0.29", "override:<who>"
    source: Mapped[str] = mapped_column(String(128), default="")
    # the class's name in this language unique within its domain (a key for categories and pickers);
    # None where the language has no name (only activity lemmas, used as queries)
    name: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    # one {source, method, license, share_alike} per lemma, same order as ``lemmas``
    provenance: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")

    ontology_class: Mapped[OntologyClass] = relationship(back_populates="labels")


class Source(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)  # commons, openverse, ...
    base_url: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[str] = mapped_column(Text, default="")


class StoreInfo(Base):
    """Facts about the store itself, one row per key (``store_id``: the id that names this store
    in the data folders it writes to, see corpus.harvest.files)."""

    __tablename__ = "store_info"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class HarvestRun(Base):
    __tablename__ = "harvest_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[Optional[int]] = mapped_column(ForeignKey("domains.id", ondelete="SET NULL"), nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, done, interrupted, failed
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Who runs it: a later harvest marks a ``running`` run whose process is gone (same host) or
    # whose heartbeat stopped (any host) as ``interrupted``.
    host: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    pid: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    heartbeat_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True), nullable=True)


class HarvestQuery(Base):
    """One search (class x language x source x query text) and how far its paging got.

    Queries outlive runs: a rerun finds the row and continues from ``page_state``.
    """

    __tablename__ = "harvest_queries"
    __table_args__ = (UniqueConstraint("class_id", "lang", "source_id", "query_text"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("ontology_classes.id", ondelete="CASCADE"), index=True)
    lang: Mapped[str] = mapped_column(String(8))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    query_text: Mapped[str] = mapped_column(Text)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("harvest_runs.id", ondelete="SET NULL"), nullable=True)
    page_state: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)  # source's continuation
    exhausted: Mapped[bool] = mapped_column(Boolean, default=False)
    hits_seen: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("source_id", "source_image_id"),
        UniqueConstraint("sha1"),
        CheckConstraint(_in("status", IMAGE_STATUSES), name="status"),
        Index("ix_images_phash", "phash"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    source_image_id: Mapped[str] = mapped_column(String(255))
    landing_url: Mapped[str] = mapped_column(Text, default="")
    file_url: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    height: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    mime: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    bytes: Mapped[Optional[int]] = mapped_column(BigInteger, nullable=True)
    sha1: Mapped[Optional[str]] = mapped_column(String(40), nullable=True)
    phash: Mapped[Optional[str]] = mapped_column(String(16), nullable=True)  # 64-bit pHash, hex
    license_code: Mapped[str] = mapped_column(String(64))  # normalised, e.g. CC-BY-SA-4.0
    license_url: Mapped[str] = mapped_column(Text, default="")
    license_raw: Mapped[str] = mapped_column(Text, default="")  # what the source said
    author: Mapped[str] = mapped_column(Text, default="")  # plain text
    author_raw: Mapped[str] = mapped_column(Text, default="")  # e.g. Commons HTML
    attribution: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    local_path: Mapped[Optional[str]] = mapped_column(Text, nullable=True)  # relative to data_dir
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reject_reason: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    # The image this one was found to be a near-duplicate of (perceptual hash).
    duplicate_of_id: Mapped[Optional[int]] = mapped_column(ForeignKey("images.id"), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    source: Mapped[Source] = relationship()
    hits: Mapped[list["ImageHit"]] = relationship(back_populates="image", cascade="all, delete-orphan")


class ImageHit(Base):
    """Which query found which image (an image found by several queries/sources has several hits)."""

    __tablename__ = "image_hits"
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("harvest_queries.id", ondelete="CASCADE"), primary_key=True, index=True)
    # Id of the item at the source of this hit (differs from the image's own for cross-source hits).
    source_image_id: Mapped[str] = mapped_column(String(255), default="")
    rank: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    found_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    image: Mapped[Image] = relationship(back_populates="hits")
    query: Mapped[HarvestQuery] = relationship()


class AnnotatedImage(Base):
    """One model pass over one image, recorded even when it found nothing, so reruns skip it."""

    __tablename__ = "annotated_images"
    __table_args__ = (UniqueConstraint("image_id", "model_name", "model_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(128))  # weights hash
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # thresholds etc.
    n_proposals: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Proposal(Base):
    __tablename__ = "proposals"
    # The review queue walks proposals in score order (corpus/web/queue.py).
    __table_args__ = (Index("ix_proposals_score", "score", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ontology_classes.id", ondelete="SET NULL"), nullable=True)
    detector_label: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(128))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[float] = mapped_column(Float)
    bbox_x: Mapped[float] = mapped_column(Float)
    bbox_y: Mapped[float] = mapped_column(Float)
    bbox_w: Mapped[float] = mapped_column(Float)
    bbox_h: Mapped[float] = mapped_column(Float)
    mask_rle: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)  # {"size": [h, w], "counts": str}
    area: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Annotation(Base):
    """An instance a reviewer decides on. ``version`` guards against lost updates: every UPDATE
    checks the version it read (SQLAlchemy's version counter), so a concurrent writer fails with
    StaleDataError instead of silently overwriting."""

    __tablename__ = "annotations"
    __table_args__ = (
        CheckConstraint(_in("origin", ANNOTATION_ORIGINS), name="origin"),
        CheckConstraint(_in("status", REVIEW_STATUSES), name="status"),
        Index("ix_annotations_status", "status"),
        # Progress per class and reviewer, counted from the index alone (corpus/web/queue.py).
        Index("ix_annotations_progress", "class_id", "status", "reviewed_by"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("ontology_classes.id"), index=True)
    bbox_x: Mapped[float] = mapped_column(Float)
    bbox_y: Mapped[float] = mapped_column(Float)
    bbox_w: Mapped[float] = mapped_column(Float)
    bbox_h: Mapped[float] = mapped_column(Float)
    # COCO segmentation: polygons [[x1, y1, ...], ...] or RLE {"size": [h, w], "counts": str}.
    segmentation: Mapped[Optional[Any]] = mapped_column(JSON, nullable=True)
    area: Mapped[float] = mapped_column(Float, default=0.0)
    iscrowd: Mapped[bool] = mapped_column(Boolean, default=False)
    origin: Mapped[str] = mapped_column(String(16))
    proposal_id: Mapped[Optional[int]] = mapped_column(ForeignKey("proposals.id", ondelete="SET NULL"), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    # Id given by an external review tool (e.g. COCO Annotator) after import.
    external_id: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    reviewed_by: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    reviewed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ImageReview(Base):
    """Whether a reviewer declared an image's review done, who last said so and when.

    Done is the reviewer's word that every instance on the image was looked at: only done images
    count as reviewed (an untouched proposal on a done image was seen and kept). Every change is
    also a ``done``/``undone`` event in the review log; this row is the current state."""

    __tablename__ = "image_reviews"
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    changed_by: Mapped[str] = mapped_column(String(128))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class ReviewEvent(Base):
    """Append-only review log. Database triggers (see the migrations) refuse UPDATE and DELETE.

    An event is about one annotation (accept, edit, ...) or about one image (done, undone)."""

    __tablename__ = "review_events"
    __table_args__ = (
        CheckConstraint(_in("action", REVIEW_ACTIONS + IMAGE_REVIEW_ACTIONS), name="action"),
        CheckConstraint("annotation_id IS NOT NULL OR image_id IS NOT NULL", name="subject"),
        Index("ix_review_events_who", "who", "id"),  # a reviewer's latest decisions (undo)
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("annotations.id"), index=True, nullable=True)
    image_id: Mapped[Optional[int]] = mapped_column(ForeignKey("images.id"), index=True, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    who: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)
    after: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)
    # Where the decision came from: "cli", "coco-annotator:<file>", ...
    origin: Mapped[str] = mapped_column(String(255), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class TrainedModel(Base):
    """A detector fine-tuned on reviewed data (`corpus train`): what it was trained from and on,
    how, and how well, so `corpus annotate --model trained:NAME` can run it and anyone can tell
    which reviewed instances went into it."""

    __tablename__ = "trained_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    base: Mapped[str] = mapped_column(Text)  # the base weights as given (path, release name, trained:NAME)
    base_version: Mapped[str] = mapped_column(String(128))  # sha256 of the base weights file
    version: Mapped[str] = mapped_column(String(128))  # sha256 of the trained weights: the proposals' model_version
    weights: Mapped[str] = mapped_column(Text)  # relative to data_dir
    onnx: Mapped[Optional[str]] = mapped_column(Text, nullable=True)  # ONNX export, relative to data_dir
    lang: Mapped[str] = mapped_column(String(8), default="en")  # language of the class names in the weights
    # Class index -> ontology class: [{"index", "class_id", "synset", "category_id", "name"}, ...]
    classes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # epochs, imgsz, splits, seed, ...
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what ultralytics reports, per class too
    dataset: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # images and instances per split and class
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    domain: Mapped[Domain] = relationship()


class TrainingAnnotation(Base):
    """One reviewed instance a trained model saw, at the version it had then, and its split."""

    __tablename__ = "training_annotations"
    model_id: Mapped[int] = mapped_column(ForeignKey("trained_models.id", ondelete="CASCADE"), primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"), primary_key=True, index=True)
    version: Mapped[int] = mapped_column(Integer)
    image_id: Mapped[int] = mapped_column(Integer)
    split: Mapped[str] = mapped_column(String(16))


class WorkClaim(Base):
    """A lease on a unit of work (a class to harvest, an image to annotate) held by one process.

    Several harvests and annotation workers share one store (PostgreSQL) by claiming work here
    first (:mod:`corpus.claims`). A lease ends when its holder releases it or when
    ``expires_at`` passes (its holder was killed): then anyone may claim it again, and the
    store's unique rows and resumable state make the second attempt pick up where the first
    stopped, never add a row twice."""

    __tablename__ = "work_claims"
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)  # "harvest", "annotate:<model hash>"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)  # class id, image id, ...
    holder: Mapped[str] = mapped_column(String(128))  # host:pid:random, see corpus.claims.holder_id
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)

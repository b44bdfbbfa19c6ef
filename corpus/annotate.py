"""Pre-annotation, store side: run an annotator over a domain's stored images, keep proposals.

For every image of the domain (status ``stored``, a file under ``data_dir``) that this model
(name + weights hash) has not seen yet, in batches:

decode -> ``annotator.annotate`` -> map each instance onto the ontology (``annotators.mapping``)
-> write ``Proposal`` rows (mask as COCO RLE), one ``AnnotatedImage`` row (also for 0 proposals,
so a rerun skips it) and, for images nobody has annotated yet, pending ``Annotation`` rows
(``origin="proposal"``) with a ``create`` review event. Images that already have annotations get
proposals only: a second model never touches reviewed work.

Each batch is one transaction: an interrupted run loses at most the batch in flight, and a rerun
continues where it stopped. Files that cannot be read are reported and retried next run.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotators.base import Annotator, Instance, load_rgb
from annotators.mapping import LabelMapper, Policy, wordnet_closure
from corpus.claims import Claims, team_mode
from corpus.storage import display, is_url, open_storage
from corpus.store.annotations import open_proposals_as_annotations, proposal_row
from corpus.store.classes import domain_classes
from corpus.store.db import session_scope
from corpus.store.queries import UnknownDomain, resolve_domain
from corpus.store.models import (
    AnnotatedImage,
    Annotation,
    Domain,
    HarvestQuery,
    Image,
    ImageHit,
    OntologyClass,
    Proposal,
)
from ontology.model import OntologyClassData

__all__ = [
    "AnnotateOptions",
    "AnnotateSummary",
    "ImageJob",
    "ModelInfo",
    "RunPlan",
    "decode_batch",
    "map_batch",
    "plan_run",
    "store_mapped",
    "UnknownDomain",
    "annotate_domain",
    "domain_classes_for_mapping",
    "select_images",
    "UNCLASSIFIED",
]

UNCLASSIFIED = "(unclassified)"
WHO = "corpus annotate"


@dataclass(frozen=True)
class AnnotateOptions:
    batch_size: int = 8
    limit: int | None = None
    unmapped: Policy = "keep"
    # Annotations for images that have none yet (off: proposals only).
    create_annotations: bool = True
    # Claim images before annotating them, so several workers share a store (corpus.claims);
    # None: on for PostgreSQL. A killed worker's images go to others after claim_ttl_s.
    team: bool | None = None
    claim_ttl_s: float = 120.0


@dataclass(frozen=True)
class ImageJob:
    image_id: int
    path: Path | str  # a local path, or the file's URL when the data folder is one
    harvest_synsets: frozenset[str]
    rel: str = ""  # the stored local_path, relative to the data folder


@dataclass
class AnnotateSummary:
    domain: str
    model_name: str
    model_version: str
    to_do: int = 0
    already_done: int = 0
    annotated: int = 0
    proposals: int = 0
    unclassified: int = 0
    dropped: int = 0
    annotations: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    done_elsewhere: int = 0  # team mode: images another worker annotated during this run
    workers_lost: int = 0  # Ray engine: model actors that died and were replaced
    batches_retried: int = 0  # Ray engine: batches given to a fresh actor after that
    per_class: Counter = field(default_factory=Counter)
    per_rule: Counter = field(default_factory=Counter)
    stage_seconds: dict[str, float] = field(default_factory=lambda: {"decode": 0.0, "wait": 0.0, "model": 0.0, "map": 0.0, "store": 0.0})
    # decode: time spent decoding (in a prefetch thread, overlapping the model); wait: time the
    # main loop waited for decoded images.
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.annotated / self.seconds if self.seconds else 0.0


def _closures(domain: str, synsets: Sequence[str]) -> dict[str, frozenset[str]]:
    """Hypernym closures from the built ontology data, else from WordNet, else empty."""
    out: dict[str, frozenset[str]] = {}
    try:
        from ontology import load_domain

        onto = load_domain(domain)
        for c in onto.classes:
            out[c.synset] = frozenset(c.hypernym_closure)
    except (ImportError, LookupError, ValueError):
        pass
    for s in synsets:
        if s not in out:
            try:
                out[s] = wordnet_closure(s)
            except (LookupError, ValueError):  # no WordNet here, or a synset it does not know
                out[s] = frozenset()
    return out


def domain_classes_for_mapping(session: Session, domain: Domain) -> list[OntologyClassData]:
    """The domain's classes as stored (``corpus.store.classes``), each with the hypernym closure
    mapping needs (from the built ontology data, else from WordNet, else empty)."""
    classes = domain_classes(session, domain)
    closures = _closures(domain.name, [c.synset for c in classes])
    return [replace(c, hypernym_closure=tuple(sorted(closures.get(c.synset, frozenset())))) for c in classes]


def select_images(
    session: Session, domain: Domain, model_name: str, model_version: str, data_dir: Path, limit: int | None = None,
) -> tuple[list[ImageJob], int]:
    """Images of ``domain`` this model has not annotated yet, oldest first; and how many it has."""
    hits = (
        select(ImageHit.image_id, OntologyClass.synset)
        .join(HarvestQuery, HarvestQuery.id == ImageHit.query_id)
        .join(OntologyClass, OntologyClass.id == HarvestQuery.class_id)
        .where(OntologyClass.domain_id == domain.id)
    )
    synsets: dict[int, set[str]] = {}
    for image_id, synset in session.execute(hits):
        synsets.setdefault(image_id, set()).add(synset)
    done = set(session.scalars(select(AnnotatedImage.image_id).where(
        AnnotatedImage.model_name == model_name, AnnotatedImage.model_version == model_version)))
    q = (select(Image.id, Image.local_path)
         .where(Image.status == "stored", Image.local_path.is_not(None), Image.id.in_(list(synsets)))
         .order_by(Image.id))
    jobs: list[ImageJob] = []
    already = 0
    remote = is_url(data_dir)
    root = str(data_dir) if remote else Path(data_dir)
    for image_id, local_path in session.execute(q):
        if image_id in done:
            already += 1
            continue
        if limit is not None and len(jobs) >= limit:
            continue
        path = f"{root}/{local_path}" if remote else root / local_path
        jobs.append(ImageJob(image_id, path, frozenset(synsets[image_id]), local_path))
    return jobs, already


def _decode(job: ImageJob, data_dir: Path):
    if is_url(data_dir):
        try:
            return load_rgb(open_storage(data_dir).read_bytes(job.rel))
        except FileNotFoundError:
            raise FileNotFoundError(f"file {display(job.path)} is missing (re-run `corpus harvest` to fetch it again)") from None
    root = Path(data_dir).resolve()
    path = job.path.resolve()
    if root != path and root not in path.parents:
        raise ValueError(f"{job.path} is outside the data folder {root}")
    if not path.is_file():
        raise FileNotFoundError(f"file {path} is missing (re-run `corpus harvest` to fetch it again)")
    return load_rgb(path)


def _proposal_row(inst: Instance, image_id: int, class_id: int | None, annotator: Annotator, rule: str) -> Proposal:
    return proposal_row(inst, image_id=image_id, class_id=class_id, model_name=annotator.name,
                        model_version=annotator.version, params={**annotator.params, "mapping": rule})


@dataclass
class RunPlan:
    """What a run over a domain has to do: its images, and the domain's classes (with store ids)."""

    jobs: list[ImageJob]
    already_done: int
    classes: list[OntologyClassData]

    @cached_property
    def class_ids(self) -> dict[str, int]:
        """Synset -> the class's row id: where a mapped label is stored."""
        return {c.synset: c.class_id for c in self.classes if c.class_id is not None}

    @cached_property
    def class_names(self) -> dict[str, str]:
        return {c.synset: c.name for c in self.classes}


def plan_run(engine: Engine, model_name: str, model_version: str, domain: str, data_dir: Path,
             limit: int | None = None) -> RunPlan:
    """The images of ``domain`` this model still has to see, and the domain's classes."""
    with session_scope(engine) as s:
        dom = resolve_domain(s, domain)
        classes = domain_classes_for_mapping(s, dom)
        jobs, already = select_images(s, dom, model_name, model_version, data_dir, limit)
    return RunPlan(jobs, already, classes)


def _image_size(instances: Sequence[Instance]) -> tuple[int, int]:
    """(height, width) from the instances' masks (full-image arrays or RLE), else their boxes."""
    for inst in instances:
        if isinstance(inst.mask, dict) and len(inst.mask.get("size") or ()) == 2:
            return int(inst.mask["size"][0]), int(inst.mask["size"][1])
        if inst.mask is not None and hasattr(inst.mask, "shape"):
            return int(inst.mask.shape[0]), int(inst.mask.shape[1])
    return (int(max((i.box[3] for i in instances), default=1)), int(max((i.box[2] for i in instances), default=1)))


def map_batch(mapper: LabelMapper, jobs: Sequence[ImageJob], results: Sequence[Sequence[Instance]],
              summary: AnnotateSummary, plan: RunPlan, sizes: Sequence[tuple[int, int]] | None = None,
              ) -> list[list[Instance]]:
    """Each image's instances mapped onto the ontology: the same instances with ``image_id``,
    ``class_id`` and ``class_name`` set (None: kept unclassified) and the rule that chose the
    class in ``extra["mapping"]``; dropped ones are counted in ``summary``.

    An image's instances are mapped together (``LabelMapper.map_image``): whether a person takes
    the image's class depends on the others and on the image's size (``sizes``: (height, width)
    per image; taken from the masks when not given, as on Ray workers' results)."""
    mapped: list[list[Instance]] = []
    for k, (job, instances) in enumerate(zip(jobs, results)):
        size = sizes[k] if sizes is not None else _image_size(instances)
        decisions = mapper.map_image([(inst.label, inst.box) for inst in instances], job.harvest_synsets, size)
        kept = []
        for inst, m in zip(instances, decisions):
            if m is None:
                summary.dropped += 1
                continue
            cid = plan.class_ids.get(m.synset) if m.synset else None
            kept.append(replace(inst, image_id=job.image_id, class_id=cid,
                                class_name=plan.class_names.get(m.synset) if cid is not None else None,
                                extra={**inst.extra, "mapping": m.rule}))
        mapped.append(kept)
    return mapped


def store_mapped(engine: Engine, annotator: Annotator, jobs: Sequence[ImageJob],
                 mapped: Sequence[Sequence[Instance]], plan: RunPlan,
                 params: dict[str, Any], options: AnnotateOptions, summary: AnnotateSummary) -> bool:
    """Store one batch (as :func:`map_batch` returns it) in one transaction and count it in
    ``summary``; False if another run had stored some of these images first (its rows stand,
    this batch is rolled back).

    ``annotator`` needs only ``name``, ``version`` and ``params`` (the Ray engine passes a
    :class:`ModelInfo`, its models live in the workers)."""
    try:
        added = _store_batch(engine, annotator, jobs, mapped, params, options)
    except IntegrityError:
        summary.failed.extend((j.image_id, "annotated concurrently by another run") for j in jobs)
        return False
    summary.annotated += len(jobs)
    summary.annotations += added
    for kept in mapped:
        for inst in kept:
            summary.proposals += 1
            summary.per_rule[inst.extra["mapping"]] += 1
            if inst.class_id is None:
                summary.unclassified += 1
            summary.per_class[inst.class_name or UNCLASSIFIED] += 1
    return True


@dataclass(frozen=True)
class ModelInfo:
    """What the store records of a model (name, weights hash, parameters), without the model."""

    name: str
    version: str
    params: dict[str, Any]


def annotate_domain(
    engine: Engine,
    annotator: Annotator,
    domain: str,
    data_dir: Path,
    options: AnnotateOptions = AnnotateOptions(),
    progress: Callable[[int, int], None] | None = None,
    mapper: LabelMapper | None = None,
) -> AnnotateSummary:
    """Annotate the domain's images not yet seen by ``annotator``; ``progress(done, total)`` per batch."""
    t_start = time.perf_counter()
    summary = AnnotateSummary(domain, annotator.name, annotator.version)
    plan = plan_run(engine, annotator.name, annotator.version, domain, data_dir, options.limit)
    jobs, summary.already_done = plan.jobs, plan.already_done
    summary.to_do = len(jobs)
    mapper = mapper or LabelMapper(plan.classes, policy=options.unmapped)
    params = {**annotator.params, "unmapped": options.unmapped}
    stages = summary.stage_seconds
    done = 0
    if progress:
        progress(0, len(jobs))
    size = max(1, options.batch_size)
    claims = None
    if team_mode(engine, options.team) and jobs:
        claims = Claims(engine, claim_kind(annotator.name, annotator.version), ttl_s=options.claim_ttl_s)
        claims.start_heartbeat()
        batches: Iterator[list[ImageJob]] = claimed_batches(engine, claims, jobs, size, summary)
    else:
        batches = iter([jobs[i:i + size] for i in range(0, len(jobs), size)])

    try:
        # The next batch is decoded in a thread while the model runs on this one (both release the GIL).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as pool:
            batch = next(batches, None)
            pending = pool.submit(decode_batch, batch, data_dir) if batch is not None else None
            while batch is not None:
                t0 = time.perf_counter()
                ok_jobs, images, failed, decode_s = pending.result()
                following = next(batches, None)
                pending = pool.submit(decode_batch, following, data_dir) if following is not None else None
                summary.failed.extend(failed)
                stages["decode"] += decode_s
                t1 = time.perf_counter()
                stages["wait"] += t1 - t0
                results = annotator.annotate(images) if images else []
                t2 = time.perf_counter()
                mapped = map_batch(mapper, ok_jobs, results, summary, plan, [tuple(im.shape[:2]) for im in images])
                t3 = time.perf_counter()
                store_mapped(engine, annotator, ok_jobs, mapped, plan, params, options, summary)
                t4 = time.perf_counter()
                stages["model"] += t2 - t1
                stages["map"] += t3 - t2
                stages["store"] += t4 - t3
                if claims is not None:
                    claims.release(str(j.image_id) for j in batch)
                done += len(batch)
                if progress:
                    progress(done + summary.done_elsewhere, len(jobs))
                batch = following
    finally:
        if claims is not None:
            claims.close()
    summary.seconds = time.perf_counter() - t_start
    return summary


def claim_kind(model_name: str, model_version: str) -> str:
    """The claims kind of one model's annotation pass (short: a hash of name and weights)."""
    import hashlib

    return "annotate:" + hashlib.sha1(f"{model_name}@{model_version}".encode()).hexdigest()[:16]


def _annotated(engine: Engine, image_ids: Sequence[int], summary: AnnotateSummary) -> set[int]:
    with session_scope(engine) as s:
        return set(s.scalars(select(AnnotatedImage.image_id).where(
            AnnotatedImage.image_id.in_(list(image_ids)), AnnotatedImage.model_name == summary.model_name,
            AnnotatedImage.model_version == summary.model_version)))


def claimed_batches(engine: Engine, claims: Claims, jobs: Sequence[ImageJob], size: int,
                    summary: AnnotateSummary, poll_s: float | None = None) -> Iterator[list[ImageJob]]:
    """Batches of ``jobs`` this worker holds claims on, in order, until every job is annotated
    by someone: images other workers hold are skipped, then waited for; when a holder dies its
    claims expire and this worker takes them over. The caller releases each batch once stored;
    an empty batch means "nothing free yet, ask again"."""
    poll_s = poll_s if poll_s is not None else max(0.2, min(5.0, claims.ttl_s / 4))
    todo = list(jobs)
    while todo:
        busy: list[ImageJob] = []
        for i in range(0, len(todo), size):
            chunk = todo[i:i + size]
            got = set(claims.claim(str(j.image_id) for j in chunk))
            mine = [j for j in chunk if str(j.image_id) in got]
            busy.extend(j for j in chunk if str(j.image_id) not in got)
            if not mine:
                continue
            # Claimed, but finished by another worker since this run planned: nothing to do.
            finished = _annotated(engine, [j.image_id for j in mine], summary)
            if finished:
                claims.release(str(x) for x in finished)
                summary.done_elsewhere += len(finished)
                mine = [j for j in mine if j.image_id not in finished]
            if mine:
                yield mine
        if not busy:
            return
        finished = _annotated(engine, [j.image_id for j in busy], summary)
        summary.done_elsewhere += len(finished)
        todo = [j for j in busy if j.image_id not in finished]
        if todo and len(claims.holders([str(j.image_id) for j in todo])) == len(todo):
            # All held by live workers: wait for them to finish or expire. An empty batch first,
            # so that the caller stores (and releases) the batch it holds before this one waits:
            # two workers each waiting for the other's held batch would wait for ever.
            yield []
            time.sleep(poll_s)


def decode_batch(batch: Sequence[ImageJob], data_dir: Path):
    """Decode a batch: (jobs decoded, images, [(image id, why not)], seconds)."""
    t = time.perf_counter()
    ok, imgs, failed = [], [], []
    for job in batch:
        try:
            imgs.append(_decode(job, data_dir))
            ok.append(job)
        except (OSError, ValueError) as exc:
            failed.append((job.image_id, str(exc)))
    return ok, imgs, failed, time.perf_counter() - t


def _store_batch(
    engine: Engine,
    annotator: Annotator,
    jobs: Sequence[ImageJob],
    mapped: Sequence[Sequence[Instance]],
    params: dict[str, Any],
    options: AnnotateOptions,
) -> int:
    """One transaction for a batch; returns the number of annotations created."""
    if not jobs:
        return 0
    created = 0
    with session_scope(engine) as s:
        ids = [j.image_id for j in jobs]
        annotated = set(s.scalars(select(Annotation.image_id).where(Annotation.image_id.in_(ids)).distinct()))
        to_open: list[Proposal] = []
        for job, kept in zip(jobs, mapped):
            s.add(AnnotatedImage(image_id=job.image_id, model_name=annotator.name, model_version=annotator.version,
                                 params=params, n_proposals=len(kept)))
            make_ann = options.create_annotations and job.image_id not in annotated
            for inst in kept:
                prop = _proposal_row(inst, job.image_id, inst.class_id, annotator, inst.extra["mapping"])
                s.add(prop)
                if make_ann and inst.class_id is not None:
                    to_open.append(prop)
        s.flush()  # proposal ids
        created = len(open_proposals_as_annotations(s, to_open, who=WHO,
                                                    origin=f"model:{annotator.name}@{annotator.version}"))
    return created

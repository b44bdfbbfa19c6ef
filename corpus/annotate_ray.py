"""Pre-annotation on a Ray cluster: a pool of model actors, the store written by the driver.

The driver plans the run exactly as the local engine does (:func:`corpus.annotate.plan_run`:
the domain's stored images this model has not seen), cuts it into batches and hands them to a
pool of actors, one per GPU (``gpus_per_worker``) or per CPU slot. Each actor loads the model
once, reads its images itself (from the data folder: a shared path or an object-store URL, so
image bytes never pass through the driver) and returns the instances with their masks as COCO
RLE. The driver maps them onto the ontology and writes each batch in one transaction through the
same functions as the local engine (:func:`corpus.annotate.map_batch`,
:func:`corpus.annotate.store_mapped`), so the rows are the ones a local run would write.

Failure model:

* a batch is stored as soon as its result arrives, so a worker that dies loses nothing that
  was finished;
* the batches a dead worker held are given to a fresh actor (up to ``max_retries`` times each);
  the driver stores each batch once, and the store's unique (image, model, weights) row makes a
  second pass over an image impossible anyway;
* a killed driver loses at most the batches in flight: a rerun plans again from the store and
  skips every image already annotated.
"""

from __future__ import annotations

import collections
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sqlalchemy.engine import Engine

from annotators.base import Annotator, AnnotatorError, Instance
from annotators.mapping import LabelMapper
from corpus.annotate import (
    AnnotateOptions,
    AnnotateSummary,
    ImageJob,
    ModelInfo,
    decode_batch,
    map_batch,
    plan_run,
    store_mapped,
)
from corpus.errors import ResourceMissing, UsageError
from corpus.storage import as_data_dir, is_url

__all__ = ["RayOptions", "RayUnavailable", "annotate_domain_ray"]


class RayUnavailable(ResourceMissing):
    """Ray is not installed, or the cluster cannot be reached."""


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None/"local": start a local cluster; "auto"; "ray://host:10001"
    workers: int = 2  # model actors
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    max_retries: int = 2  # times a batch is given to a fresh actor after its worker died
    in_flight_per_worker: int = 2  # batches queued per actor: the next one is ready when one ends


class ModelWorker:
    """A Ray actor: one model, loaded once, annotating batches of images it reads itself."""

    def __init__(self, factory: Callable[[], Annotator], data_dir: Any) -> None:
        self.annotator = factory()
        self.data_dir = data_dir

    def describe(self) -> ModelInfo:
        a = self.annotator
        return ModelInfo(a.name, a.version, dict(a.params))

    def annotate(self, jobs: list[ImageJob]) -> tuple[list[int], list[list[Instance]], list[tuple[int, str]], float]:
        t = time.perf_counter()
        ok, images, failed, _ = decode_batch(jobs, self.data_dir)
        results = self.annotator.annotate(images) if images else []
        # Masks travel as RLE: a boolean array per instance would cross the object store raw.
        out = [[i.with_rle() for i in insts] for insts in results]
        return [j.image_id for j in ok], out, failed, time.perf_counter() - t


def _ray():
    try:
        import ray
    except ImportError:
        raise RayUnavailable("the Ray engine needs Ray: pip install 'mic-corpus[ray]'") from None
    return ray


def _connect(ray, opts: RayOptions) -> bool:
    """Join or start a cluster; True if this call started it (and so must stop it)."""
    if ray.is_initialized():
        return False
    kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "ignore_reinit_error": True}
    if opts.address in (None, "", "local"):
        # Logical CPUs: enough for every actor even on a small machine (the actors share the cores).
        need = math.ceil(opts.workers * opts.cpus_per_worker)
        kw["num_cpus"] = max(need, os.cpu_count() or 1)
        # Workers start from this environment: the driver's import path reaches them too.
        kw["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in [os.getcwd(), os.environ.get("PYTHONPATH", "")] if p)}}
    else:
        kw["address"] = opts.address
    try:
        ray.init(**kw)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(f"cannot reach the Ray cluster at {opts.address}: {exc}") from None
    return True


def _death_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def annotate_domain_ray(
    engine: Engine,
    factory: Callable[[], Annotator],
    domain: str,
    data_dir: Path | str,
    options: AnnotateOptions = AnnotateOptions(),
    ray_options: RayOptions = RayOptions(),
    progress: Callable[[int, int], None] | None = None,
    mapper: Any = None,
) -> AnnotateSummary:
    """Annotate the domain's images not yet seen by the model ``factory()`` builds, on Ray.

    ``factory`` must be picklable (e.g. ``functools.partial(load_annotator, "onnx:m.onnx")``):
    every actor calls it. Same results, rows and rerun behaviour as
    :func:`corpus.annotate.annotate_domain`; ``progress(done, total)`` after each stored batch.
    ``mapper``: how labels become classes, here on the driver (default: COCO labels through
    WordNet, ``annotators.mapping.LabelMapper``; a trained model's ``OntologyLabels``).
    """
    if ray_options.workers < 1:
        raise UsageError(f"workers must be at least 1, got {ray_options.workers}", param="workers")
    ray = _ray()
    from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError, WorkerCrashedError

    lost_errors = (RayActorError, ActorDiedError, ActorUnavailableError, WorkerCrashedError)
    t_start = time.perf_counter()
    data_dir = as_data_dir(data_dir)
    if not is_url(data_dir):
        data_dir = Path(data_dir).resolve()  # the actors do not share the driver's working folder
    started = _connect(ray, ray_options)
    remote_cls = ray.remote(ModelWorker)
    actors: dict[int, Any] = {}
    serial = 0

    def new_actor():
        nonlocal serial
        serial += 1
        res: dict[str, float] = {"num_cpus": ray_options.cpus_per_worker}
        if ray_options.gpus_per_worker:
            res["num_gpus"] = ray_options.gpus_per_worker
        actors[serial] = remote_cls.options(**res).remote(factory, data_dir)
        return serial

    try:
        for _ in range(ray_options.workers):
            new_actor()
        try:
            info: ModelInfo = ray.get(actors[1].describe.remote())
        except lost_errors as exc:
            raise AnnotatorError(f"the model could not be loaded on a Ray worker: {_death_reason(exc)}") from None
        summary = AnnotateSummary(domain, info.name, info.version)
        plan = plan_run(engine, info.name, info.version, domain, data_dir, options.limit)
        jobs, summary.already_done = plan.jobs, plan.already_done
        summary.to_do = len(jobs)
        if mapper is None:
            mapper = LabelMapper(plan.classes, policy=options.unmapped)
        params = {**info.params, "unmapped": options.unmapped}
        size = max(1, options.batch_size)
        queue = collections.deque((batch, 0) for batch in (jobs[i:i + size] for i in range(0, len(jobs), size)))
        in_flight: dict[Any, tuple[int, list[ImageJob], int]] = {}  # ref -> (actor, batch, attempts)
        load: collections.Counter = collections.Counter()
        done = 0
        if progress:
            progress(0, len(jobs))
        while queue or in_flight:
            while queue:
                free = [a for a in actors if load[a] < ray_options.in_flight_per_worker]
                if not free:
                    break
                aid = min(free, key=lambda a: load[a])
                batch, attempts = queue.popleft()
                ref = actors[aid].annotate.remote(batch)
                in_flight[ref] = (aid, batch, attempts)
                load[aid] += 1
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            ref = ready[0]
            aid, batch, attempts = in_flight.pop(ref)
            load[aid] -= 1
            try:
                ok_ids, results, failed, seconds = ray.get(ref)
            except lost_errors as exc:
                # The worker died with this batch: nothing of it was stored. Replace the worker
                # once (its other batches fail the same way and go back to the queue too).
                if aid in actors:
                    del actors[aid]
                    load.pop(aid, None)
                    summary.workers_lost += 1
                    new_actor()
                if attempts < ray_options.max_retries:
                    queue.appendleft((batch, attempts + 1))
                    summary.batches_retried += 1
                else:
                    reason = f"worker died {attempts + 1} times on this batch: {_death_reason(exc)}"
                    summary.failed.extend((j.image_id, reason) for j in batch)
                    done += len(batch)
                continue
            except RayTaskError as exc:  # the model raised: report the batch, keep going
                summary.failed.extend((j.image_id, _death_reason(exc)) for j in batch)
                done += len(batch)
                continue
            summary.failed.extend(failed)
            summary.stage_seconds["model"] += seconds
            by_id = {j.image_id: j for j in batch}
            ok_jobs = [by_id[i] for i in ok_ids]
            t0 = time.perf_counter()
            mapped = map_batch(mapper, ok_jobs, results, summary, plan)
            t1 = time.perf_counter()
            store_mapped(engine, info, ok_jobs, mapped, plan, params, options, summary)
            summary.stage_seconds["map"] += t1 - t0
            summary.stage_seconds["store"] += time.perf_counter() - t1
            done += len(batch)
            if progress:
                progress(done, len(jobs))
    finally:
        for actor in actors.values():
            try:
                ray.kill(actor)
            except Exception:  # already gone
                pass
        if started:
            ray.shutdown()
    summary.seconds = time.perf_counter() - t_start
    return summary

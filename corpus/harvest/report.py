"""What a harvest reports: per-class counts, reasons, clean-up, errors, CPU time per stage."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from corpus.harvest import files
from corpus.harvest.plan import PlannedQuery

__all__ = ["StageTimes", "ClassReport", "HarvestReport", "count_outcome"]


@dataclass
class StageTimes:
    """Thread CPU seconds spent per stage (all workers together), plus counts."""

    download: float = 0.0
    verify: float = 0.0
    hash: float = 0.0
    write: float = 0.0
    store: float = 0.0  # the writer thread: rows, dedup decisions, commits
    images: int = 0

    def add(self, other: "StageTimes") -> None:
        for k in ("download", "verify", "hash", "write", "store"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.images += other.images


@dataclass
class ClassReport:
    synset: str
    name: str
    found: int = 0  # hits returned by searches
    kept: int = 0  # new images stored this run
    linked: int = 0  # images stored before (other class/source/query) now found for this class too
    outcomes: collections.Counter = field(default_factory=collections.Counter)  # reason -> n


@dataclass
class HarvestReport:
    status: str  # done, interrupted, failed, dry_run
    run_id: int | None = None
    planned: list[PlannedQuery] = field(default_factory=list)
    classes: dict[str, ClassReport] = field(default_factory=dict)  # by synset
    rejected: collections.Counter = field(default_factory=collections.Counter)  # reason -> n
    failed: collections.Counter = field(default_factory=collections.Counter)  # reason -> n
    dropped: collections.Counter = field(default_factory=collections.Counter)  # by the clients
    sources: tuple[str, ...] = ()  # the sources searched
    source_errors: dict[str, str] = field(default_factory=dict)  # sources that stopped early
    query_errors: dict[str, str] = field(default_factory=dict)  # sources with some failed searches
    cleaned: files.CleanReport = field(default_factory=files.CleanReport)
    retried: int = 0
    error: str | None = None  # why the run stopped early (a local write error), for the user
    stale_runs: list[int] = field(default_factory=list)  # killed runs found and marked interrupted
    shared_with: list[str] = field(default_factory=list)  # other stores writing into the data folder
    claimed_elsewhere: list[str] = field(default_factory=list)  # team mode: classes another harvest held
    rounds: int = 1  # team mode: a harvest takes over classes others left unfinished, in rounds
    times: StageTimes = field(default_factory=StageTimes)
    wall_s: float = 0.0
    by_language: collections.Counter = field(default_factory=collections.Counter)  # images kept this run
    by_source: collections.Counter = field(default_factory=collections.Counter)
    unnamed: dict[str, list[str]] = field(default_factory=dict)  # language -> classes with no name in it

    @property
    def found(self) -> int:
        return sum(c.found for c in self.classes.values())

    @property
    def kept(self) -> int:
        return sum(c.kept for c in self.classes.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "found": self.found,
            "kept": self.kept,
            "rejected": dict(self.rejected),
            "failed": dict(self.failed),
            "dropped": dict(self.dropped),
            "source_errors": dict(self.source_errors),
            "query_errors": dict(self.query_errors),
            "classes": {s: {"found": c.found, "kept": c.kept, "linked": c.linked} for s, c in self.classes.items()},
            "cleaned": {"temp_files": self.cleaned.temp_files, "orphans": self.cleaned.orphans},
            "retried": self.retried,
            "error": self.error,
            "stale_runs": list(self.stale_runs),
            "claimed_elsewhere": list(self.claimed_elsewhere),
            "rounds": self.rounds,
            "wall_s": round(self.wall_s, 3),
        }




def count_outcome(report: HarvestReport, crep: ClassReport, status: str, reason: str | None) -> None:
    if status == "stored":
        crep.kept += 1
    elif status == "rejected":
        crep.outcomes[reason or "rejected"] += 1
        report.rejected[reason or "rejected"] += 1
    elif status == "failed":
        crep.outcomes[f"failed:{reason}"] += 1
        report.failed[reason or "failed"] += 1

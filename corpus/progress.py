"""One progress-callback protocol for every long-running call (harvest, annotate, preview, export).

A callback receives :class:`ProgressEvent` values: ``stage`` names what is being counted
(``"images"``, ``"annotations"``, or a class name during a harvest, where each class fills up to
its target), ``done`` how many of it are finished so far (a running total, never a step) and
``total`` how many there will be when known. Events with a ``message`` carry a note worth
showing (a source slowed down, a class has no query). Callbacks run on the caller's thread and
should return quickly.

    def show(event):
        print(f"{event.stage}: {event.done}/{event.total or '?'}")

    corpus.annotate(domain="sport", model="onnx:yolov8n-seg.onnx", progress=show)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

__all__ = ["ProgressEvent", "Progress", "emit", "counting", "done_total"]


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # what is counted: "images", "annotations", a class name (harvest), ...
    done: int = 0  # finished so far (a running total)
    total: int | None = None  # how many there will be, when known
    message: str | None = None  # a note worth showing; None for plain counts


@runtime_checkable
class Progress(Protocol):
    """Anything callable with one :class:`ProgressEvent`."""

    def __call__(self, event: ProgressEvent) -> None: ...


def emit(progress: Progress | None, stage: str, done: int = 0, total: int | None = None,
         message: str | None = None) -> None:
    """Send one event when there is a callback (library code calls this, not the callback)."""
    if progress is not None:
        progress(ProgressEvent(stage, done, total, message))


def done_total(progress: Progress | None, stage: str) -> Callable[[int, int], None] | None:
    """Adapter for code that reports ``(done, total)`` pairs for one stage."""
    if progress is None:
        return None
    return lambda done, total: progress(ProgressEvent(stage, done, total))


def counting(progress: Progress | None, totals: dict[str, int] | None = None) -> Callable[[str, int], None] | None:
    """Adapter for code that reports steps ``(stage, n)``: keeps running totals per stage."""
    if progress is None:
        return None
    done: Counter = Counter()
    totals = totals or {}

    def step(stage: str, n: int) -> None:
        done[stage] += n
        progress(ProgressEvent(stage, done[stage], totals.get(stage)))

    return step

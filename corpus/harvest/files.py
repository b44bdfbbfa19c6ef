"""Content-addressed image files: ``data_dir/images/ab/cd/<sha1>.<ext>``, written atomically.

A file appears under its final name only when complete (temporary file in the same folder,
fsync, ``os.replace``), and the harvest commits its row only after that, so a row always points
at a complete file. A crash can leave two kinds of debris, both removed by :func:`clean`: temporary
files, and complete files whose row was never committed (orphans).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from corpus.storage import is_url, open_storage

IMAGES_DIR = "images"
TMP_PREFIX = ".tmp-"
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def relative_path(sha1: str, ext: str) -> str:
    """Where an image lives, relative to the data folder (the form stored in ``images.local_path``)."""
    sha1 = sha1.lower()
    if len(sha1) != 40 or any(c not in "0123456789abcdef" for c in sha1):
        raise ValueError(f"not a sha1 hex digest: {sha1!r}")
    return f"{IMAGES_DIR}/{sha1[:2]}/{sha1[2:4]}/{sha1}.{ext}"


def write_atomic(data_dir: Path, rel_path: str, data: bytes, fsync: bool = True) -> Path:
    """Write ``data`` to ``data_dir/rel_path`` so that the final name only ever holds the whole file."""
    if is_url(data_dir):  # object storage: see corpus.storage (one PUT is atomic there)
        open_storage(data_dir).write_atomic(rel_path, data, fsync=fsync)
        return rel_path
    final = Path(data_dir) / rel_path
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return final


def remove(data_dir: Path, rel_path: str) -> bool:
    if is_url(data_dir):
        return open_storage(data_dir).remove(rel_path)
    try:
        (Path(data_dir) / rel_path).unlink()
        return True
    except FileNotFoundError:
        return False


@dataclass(frozen=True)
class CleanReport:
    temp_files: int = 0
    orphans: int = 0


def clean(data_dir: Path, referenced: Iterable[str]) -> CleanReport:
    """Remove temporary files and image files no stored row refers to.

    ``referenced`` holds the ``local_path`` of every stored image. Call this only while holding
    the harvest lock (:class:`corpus.harvest.lock.HarvestLock`): a running harvest's files are
    complete before their rows are committed and would look like orphans.

    Not for object storage: a bucket is shared by a team's harvests, which no local lock can
    see, and its orphans are harmless (content-addressed; a later harvest of the same bytes
    reuses them).
    """
    if is_url(data_dir):
        return CleanReport()
    root = Path(data_dir) / IMAGES_DIR
    if not root.is_dir():
        return CleanReport()
    keep = set(referenced)
    temps = orphans = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(dirpath, name)
            if name.startswith(TMP_PREFIX):
                os.unlink(full)
                temps += 1
                continue
            rel = os.path.relpath(full, data_dir).replace(os.sep, "/")
            if rel not in keep:
                os.unlink(full)
                orphans += 1
    return CleanReport(temps, orphans)

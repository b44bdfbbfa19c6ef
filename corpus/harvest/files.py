"""Content-addressed image files: ``data_dir/images/ab/cd/<sha1>.<ext>``, and which of them a
store may ever delete.

A data folder may be shared: by several stores (a SQLite file per domain, a team's PostgreSQL
store and a laptop's), and by its user. So a store deletes only files it can prove it wrote:

* every store that writes into the folder has its own folder ``data_dir/.corpus/<store_id>/``
  (``store.json`` in it says which store that is: the folder knows its writers);
* a file is written under ``.corpus/<store_id>/tmp/`` first (fsynced), then **hard-linked** to
  its final name. Until the store has committed the file's row, that temporary name stays: it is
  the store's claim, proof that the final file is the very file (same inode) this store created;
* after the commit the claim is dropped. A crash leaves claims behind; the next start-up
  (:meth:`DataFolder.clean`) deletes a final file only when it is the same inode as one of this
  store's claims and no row of this store refers to it, and then the claim itself.

Nothing else is ever deleted: not another store's images, not a file a user put there, not the
debris of older versions. A file the store finds already in place (another store's copy of the
same picture) is used as it is and never deleted by this store. The only exception is a file
that another store's claim marks as that store's unconfirmed leftover: it is replaced by this
store's own copy (same bytes, new inode), so the other store's clean-up cannot take it away.

Hard links work on every local Linux filesystem and NFS; a filesystem without them makes the
first write fail with a clear :class:`DataFolderError`.

A data folder that is an fsspec URL (``s3://bucket/prefix``, :mod:`corpus.storage`) has no
temporary names and no claims: one PUT is atomic there, nothing is ever cleaned up (a bucket is
shared by a team's harvests, which no local lock can see; its orphans are harmless,
content-addressed, and a later harvest of the same bytes reuses them), and a file is deleted only
when this very run created it.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import CorpusIOError
from corpus.storage import TMP_PREFIX, is_url, open_storage, write_temp

IMAGES_DIR = "images"
STORES_DIR = ".corpus"  # data_dir/.corpus/<store_id>/{store.json,tmp/}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


class DataFolderError(CorpusIOError):
    """The data folder cannot be used (read-only, full, a file where a folder should be, ...).

    The message names the folder and the operating system's reason; it is meant for users."""


def relative_path(sha1: str, ext: str) -> str:
    """Where an image lives, relative to the data folder (the form stored in ``images.local_path``)."""
    sha1 = sha1.lower()
    if len(sha1) != 40 or any(c not in "0123456789abcdef" for c in sha1):
        raise ValueError(f"not a sha1 hex digest: {sha1!r}")
    return f"{IMAGES_DIR}/{sha1[:2]}/{sha1[2:4]}/{sha1}.{ext}"


def write_atomic(data_dir: Path, rel_path: str, data: bytes, fsync: bool = True) -> Path:
    """Write ``data`` to ``data_dir/rel_path`` so that the final name only ever holds the whole file
    (for files that are not images of a store, e.g. exports; images go through :class:`DataFolder`).
    One implementation for both kinds of data folder: :meth:`corpus.storage.Storage.write_atomic`."""
    storage = open_storage(data_dir)
    storage.write_atomic(rel_path, data, fsync=fsync)
    return storage.local_path(rel_path) if storage.is_local else rel_path


def remove(data_dir: Path, rel_path: str) -> bool:
    if is_url(data_dir):
        return open_storage(data_dir).remove(rel_path)
    try:
        (Path(data_dir) / rel_path).unlink()
        return True
    except FileNotFoundError:
        return False


def _unlink(path: str | Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


@dataclass(frozen=True)
class CleanReport:
    temp_files: int = 0  # this store's temporary files and stale claims removed
    orphans: int = 0  # complete files this store wrote but never committed a row for, removed


@dataclass(frozen=True)
class Placed:
    """An image file in place under its final name.

    ``created``: this store created the final name just now (only such a file may be deleted
    again in this run, e.g. when the writer decides it is a duplicate). ``claim``: this store's
    temporary link to the file, to drop once the row is committed (None: nothing to drop)."""

    rel_path: str
    created: bool
    claim: str | None


def _claim_target(name: str) -> str | None:
    """``.tmp-<sha1>.<ext>.<random>`` -> the final relative path it claims, or None."""
    if not name.startswith(TMP_PREFIX):
        return None
    parts = name[len(TMP_PREFIX):].split(".")
    if len(parts) < 3:
        return None
    try:
        return relative_path(parts[0], parts[1])
    except ValueError:
        return None


class DataFolder:
    """One store's view of a data folder: where it writes, and what it may clean up."""

    def __init__(self, data_dir: Path | str, store_id: str) -> None:
        if not store_id or not all(c.isalnum() or c in "-_" for c in store_id):
            raise ValueError(f"not a store id: {store_id!r}")
        self.remote = is_url(data_dir)
        self.data_dir = data_dir
        self.root = Path(str(data_dir))
        self.store_id = store_id
        self.own = self.root / STORES_DIR / store_id
        self.tmp = self.own / "tmp"

    @property
    def may_be_shared(self) -> bool:
        """Whether another store may hold the same files (then a committed file stays put)."""
        return self.remote or bool(self.other_stores())

    # -- the folder's writers ------------------------------------------------------------------

    def open(self, description: str = "") -> list[str]:
        """Make this store's folder (and say which store it is); returns the other stores'
        ids that write into the same data folder. Raises :class:`DataFolderError` when the
        folder cannot be written."""
        if self.remote:
            return []
        try:
            self.tmp.mkdir(parents=True, exist_ok=True)
            marker = self.own / "store.json"
            if not marker.exists():
                info = {"store_id": self.store_id, "store": description,
                        "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
                write_atomic(self.own, "store.json", json.dumps(info, indent=1).encode())
            (self.root / IMAGES_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise DataFolderError(describe_os_error(exc, self.root)) from None
        return self.other_stores()

    def other_stores(self) -> list[str]:
        if self.remote:
            return []
        base = self.root / STORES_DIR
        try:
            return sorted(p.name for p in base.iterdir() if p.is_dir() and p.name != self.store_id)
        except FileNotFoundError:
            return []

    # -- writing -------------------------------------------------------------------------------

    def place(self, rel_path: str, data: bytes, fsync: bool = True) -> Placed:
        """Put ``data`` (whose sha1 and extension ``rel_path`` names) under its final name.

        Raises OSError for local write problems (read-only folder, disk full): those are the
        folder's fault, not the image's."""
        if self.remote:
            storage = open_storage(self.data_dir)
            size = storage.size(rel_path)
            if size is not None:
                if size != len(data):
                    raise OSError(errno.EEXIST, f"{rel_path} exists with other content (not this image)", rel_path)
                return Placed(rel_path, created=False, claim=None)
            storage.write_atomic(rel_path, data, fsync=fsync)
            return Placed(rel_path, created=True, claim=None)
        final = self.root / rel_path
        if final.exists():
            return self._existing(rel_path, final, data, fsync)
        tmp = self._write_tmp(rel_path, data, fsync)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.link(tmp, final)
        except FileExistsError:  # another download of the same bytes won the race (this run)
            _unlink(tmp)
            return Placed(rel_path, created=False, claim=None)
        except BaseException:
            _unlink(tmp)
            raise
        return Placed(rel_path, created=True, claim=tmp)

    def _write_tmp(self, rel_path: str, data: bytes, fsync: bool) -> str:
        name = rel_path.rsplit("/", 1)[-1]
        return write_temp(self.tmp, f"{TMP_PREFIX}{name}.", data, fsync)

    def _existing(self, rel_path: str, final: Path, data: bytes, fsync: bool) -> Placed:
        if final.stat().st_size != len(data):
            raise OSError(errno.EEXIST, f"{final} exists with other content (not this image); move it away", str(final))
        if not self._claimed_by_another_store(final):
            return Placed(rel_path, created=False, claim=None)
        # Another store's unconfirmed leftover: its clean-up may delete that inode, so put our
        # own copy (same bytes) in its place and claim it.
        tmp = self._write_tmp(rel_path, data, fsync)
        swap = tmp + ".swap"
        try:
            os.link(tmp, swap)
            os.replace(swap, final)
        except BaseException:
            _unlink(swap)
            _unlink(tmp)
            raise
        return Placed(rel_path, created=False, claim=tmp)

    def _claimed_by_another_store(self, final: Path) -> bool:
        name = final.name
        for other in self.other_stores():
            tmp = self.root / STORES_DIR / other / "tmp"
            for cand in tmp.glob(f"{TMP_PREFIX}{name}.*"):
                try:
                    if os.path.samefile(cand, final):
                        return True
                except OSError:
                    continue
        return False

    def release(self, claim: str | None) -> None:
        """The file's row is committed (or the file is gone): drop the claim."""
        if claim:
            _unlink(claim)

    def delete_created(self, placed: Placed) -> None:
        """Delete a file this run created and will not keep (its claim goes too)."""
        if placed.created and self.remote:
            remove(self.data_dir, placed.rel_path)
        elif placed.created:
            final = self.root / placed.rel_path
            if placed.claim is None or _same(placed.claim, final):
                _unlink(final)
        self.release(placed.claim)

    # -- start-up ------------------------------------------------------------------------------

    def clean(self, referenced: set[str] | frozenset[str]) -> CleanReport:
        """Remove this store's leftovers: temporary files, and final files it created whose row
        was never committed (``referenced`` holds every ``local_path`` of this store's rows).

        Call this only while holding the harvest lock (:class:`corpus.harvest.lock.HarvestLock`)."""
        temps = orphans = 0
        if self.remote:
            return CleanReport()
        try:
            names = os.listdir(self.tmp)
        except FileNotFoundError:
            return CleanReport()
        for name in names:
            path = self.tmp / name
            target = _claim_target(name.removesuffix(".swap"))
            if target is not None and target not in referenced and _same(path, self.root / target):
                if _unlink(self.root / target):
                    orphans += 1
            if _unlink(path):
                temps += 1
        return CleanReport(temps, orphans)


def _same(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def describe_os_error(exc: OSError, where: Path | str | None = None) -> str:
    """A one-line, user-facing account of a local I/O error."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    path = exc.filename or where
    hint = {
        errno.ENOSPC: "free some space or use another data folder",
        errno.EDQUOT: "free some space or use another data folder",
        errno.EROFS: "the folder is on a read-only filesystem; use another data folder",
        errno.EACCES: "no permission to write there; use another data folder",
        errno.EPERM: "no permission to write there (or no hard links on this filesystem); use another data folder",
        errno.ENOTDIR: "a file stands where a folder should be; use another data folder",
        errno.EEXIST: "use another data folder",
    }.get(exc.errno or 0, "")
    text = f"cannot write to the data folder: {reason}" + (f" ({path})" if path else "")
    return text + (f"; {hint}" if hint else "")

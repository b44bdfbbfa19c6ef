"""Where image files live: a local folder (the default, and the fast path) or any fsspec URL.

The data folder may be ``./data`` or ``s3://bucket/prefix`` (or ``gs://``, ``az://``, ... whatever
fsspec reaches through its plugins). Everything that reads or writes image files goes through
:func:`open_storage`; rows keep paths relative to the data folder (``images/ab/cd/<sha1>.jpg``),
so a store can move between a disk and a bucket by copying the files.

* **Local folders** use plain ``os`` calls, exactly as before this module existed: a temporary
  file in the same folder, fsync, ``os.replace``. Nothing of fsspec is imported.
* **Object stores** (S3 and friends) make a single PUT atomic by themselves: the object appears
  whole or not at all, so a content-addressed write is one PUT, skipped when an object of the
  same size is already there (same name = same sha1 = same bytes: idempotent).
* **Other fsspec file systems** (sftp, ...) get a temporary name in the same folder and a move.

Credentials come from where the file system's own library looks (for S3: ``AWS_*`` variables,
``~/.aws`` profiles, instance roles; ``AWS_ENDPOINT_URL_S3`` for an S3-compatible server), or
from fsspec's ``FSSPEC_<PROTOCOL>_<OPTION>`` variables. They are never part of what this module
prints: :attr:`Storage.display` drops any user/password from the URL.
"""

from __future__ import annotations

import io
import os
import posixpath
import tempfile
import uuid
from functools import lru_cache
from pathlib import Path
from typing import IO, Iterator, Union
from urllib.parse import urlsplit, urlunsplit

DataDir = Union[str, Path]

TMP_PREFIX = ".tmp-"
# Protocols whose single PUT is atomic (the object is visible whole or not at all).
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "r2", "memory"})


class StorageError(OSError):
    """A data folder that cannot be used (unknown protocol, missing plugin, bad path)."""


def is_url(data_dir: DataDir | None) -> bool:
    """True for ``proto://...`` data folders other than ``file://``."""
    if data_dir is None or isinstance(data_dir, Path):
        return False
    scheme = urlsplit(str(data_dir)).scheme
    return len(scheme) > 1 and "://" in str(data_dir) and scheme != "file"


def as_data_dir(value: DataDir) -> DataDir:
    """A setting's value as a data folder: URLs stay strings (``Path`` would fold ``//``)."""
    s = str(value)
    if is_url(s):
        return s.rstrip("/")
    if s.startswith("file://"):
        return Path(urlsplit(s).path)
    return Path(value)


def display(data_dir: DataDir) -> str:
    """The data folder for messages: never with a user name or password."""
    s = str(data_dir)
    if not is_url(s):
        return s
    parts = urlsplit(s)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _check_rel(rel: str) -> str:
    rel = str(rel).replace("\\", "/")
    norm = posixpath.normpath(rel)
    if not rel or rel.startswith("/") or norm == ".." or norm.startswith("../") or "://" in rel:
        raise StorageError(f"{rel!r} is not a path inside the data folder")
    return norm


def write_temp(directory: Path | str, prefix: str, data: bytes, fsync: bool = True) -> str:
    """Write ``data`` to a new temporary file in ``directory`` (fsynced unless told not to) and
    return its path; nothing is left behind if writing fails. The first half of every atomic
    write: the caller then renames or hard-links it into place."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Storage:
    """Files under one data folder, addressed by paths relative to it."""

    is_local = False

    @property
    def display(self) -> str:
        raise NotImplementedError

    def write_atomic(self, rel: str, data: bytes, fsync: bool = True) -> None:
        raise NotImplementedError

    def read_bytes(self, rel: str) -> bytes:
        raise NotImplementedError

    def exists(self, rel: str) -> bool:
        raise NotImplementedError

    def size(self, rel: str) -> int | None:
        raise NotImplementedError

    def remove(self, rel: str) -> bool:
        raise NotImplementedError

    def open(self, rel: str) -> IO[bytes]:
        raise NotImplementedError

    def local_path(self, rel: str) -> Path | None:
        """A path on this machine's file system, or None for remote storage."""
        return None

    def get_file(self, rel: str, dst: Path) -> None:
        """Copy one file out of the store to a local path (written atomically)."""
        raise NotImplementedError

    def walk(self, sub: str) -> Iterator[str]:
        """Every file under ``sub``, as paths relative to the data folder."""
        raise NotImplementedError


class LocalStorage(Storage):
    """A folder on this machine: plain ``os`` calls (the fast path)."""

    is_local = True

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def display(self) -> str:
        return str(self.root)

    def path(self, rel: str) -> Path:
        return self.root / _check_rel(rel)

    def local_path(self, rel: str) -> Path | None:
        return self.path(rel)

    def write_atomic(self, rel: str, data: bytes, fsync: bool = True) -> None:
        final = self.path(rel)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = write_temp(final.parent, TMP_PREFIX, data, fsync)
        try:
            os.replace(tmp, final)
        except BaseException:
            _remove(tmp)
            raise

    def read_bytes(self, rel: str) -> bytes:
        return self.path(rel).read_bytes()

    def exists(self, rel: str) -> bool:
        return self.path(rel).is_file()

    def size(self, rel: str) -> int | None:
        try:
            return self.path(rel).stat().st_size
        except FileNotFoundError:
            return None

    def remove(self, rel: str) -> bool:
        try:
            self.path(rel).unlink()
            return True
        except FileNotFoundError:
            return False

    def open(self, rel: str) -> IO[bytes]:
        return open(self.path(rel), "rb")

    def get_file(self, rel: str, dst: Path) -> None:
        import shutil

        shutil.copyfile(self.path(rel), dst)

    def walk(self, sub: str) -> Iterator[str]:
        top = self.root / _check_rel(sub)
        for dirpath, _dirs, names in os.walk(top):
            for name in names:
                yield os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")


class FsspecStorage(Storage):
    """A folder behind an fsspec URL (``s3://bucket/prefix``, ``gs://...``, ``memory://...``)."""

    def __init__(self, url: str) -> None:
        try:
            from fsspec.core import url_to_fs
        except ImportError:  # pragma: no cover - fsspec comes with the s3 extra
            raise StorageError(f"data folder {display(url)} needs fsspec: pip install 'mic-corpus[s3]'") from None
        try:
            self.fs, self.base = url_to_fs(url)
        except ImportError as exc:
            raise StorageError(f"data folder {display(url)}: {exc} (for s3:// URLs: pip install 'mic-corpus[s3]')") from None
        except ValueError as exc:
            raise StorageError(f"data folder {display(url)}: {exc}") from None
        self.url = url
        self.base = self.base.rstrip("/")
        protocols = self.fs.protocol if isinstance(self.fs.protocol, (tuple, list)) else (self.fs.protocol,)
        self.object_store = any(p in OBJECT_STORES for p in protocols)

    @property
    def display(self) -> str:
        return display(self.url)

    def full(self, rel: str) -> str:
        return f"{self.base}/{_check_rel(rel)}"

    def write_atomic(self, rel: str, data: bytes, fsync: bool = True) -> None:
        path = self.full(rel)
        if self.object_store:
            # Content-addressed: an object of this name and size already holds these bytes.
            if self.size(rel) == len(data):
                return
            self.fs.pipe_file(path, data)
            return
        parent = posixpath.dirname(path)
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{parent}/{TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            self.fs.pipe_file(tmp, data)
            self.fs.mv(tmp, path)
        except BaseException:
            try:
                self.fs.rm_file(tmp)
            except (OSError, FileNotFoundError):
                pass
            raise

    def read_bytes(self, rel: str) -> bytes:
        return self.fs.cat_file(self.full(rel))

    def exists(self, rel: str) -> bool:
        return self.size(rel) is not None

    def size(self, rel: str) -> int | None:
        try:
            info = self.fs.info(self.full(rel))
        except FileNotFoundError:
            return None
        if info.get("type") == "directory":
            return None
        return int(info.get("size") or 0)

    def remove(self, rel: str) -> bool:
        if self.size(rel) is None:  # S3 deletes a missing key without complaint
            return False
        try:
            self.fs.rm_file(self.full(rel))
            return True
        except FileNotFoundError:
            return False

    def open(self, rel: str) -> IO[bytes]:
        return io.BytesIO(self.read_bytes(rel))

    def get_file(self, rel: str, dst: Path) -> None:
        dst = Path(dst)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=dst.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.read_bytes(rel))
            os.replace(tmp, dst)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def walk(self, sub: str) -> Iterator[str]:
        top = self.full(sub)
        try:
            found = self.fs.find(top)
        except FileNotFoundError:
            return
        for p in found:
            yield p[len(self.base) + 1:]


def check_data_dir(data_dir: DataDir) -> None:
    """Raise :class:`StorageError` now for a URL no installed fsspec plugin can open."""
    if is_url(data_dir):
        open_storage(data_dir)


@lru_cache(maxsize=32)
def _open_url(url: str) -> FsspecStorage:
    return FsspecStorage(url)


def open_storage(data_dir: DataDir) -> Storage:
    """The storage for a data folder: :class:`LocalStorage` for paths, fsspec for URLs."""
    d = as_data_dir(data_dir)
    if isinstance(d, Path):
        return LocalStorage(d)
    return _open_url(d)

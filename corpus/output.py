"""Folders the toolkit writes results into (exports, previews, charts): checked before any work.

A folder that is a file, cannot be created or cannot be written is an :class:`OutputError` with
one line naming the folder and the reason, raised before a single row is read, so a long export
never dies at its end and nothing half-written is left behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from corpus.errors import CorpusIOError

__all__ = ["OutputError", "prepare_output_dir"]


class OutputError(CorpusIOError):
    """An output folder or file the system will not let us write."""


def prepare_output_dir(path: str | Path, what: str = "export folder") -> Path:
    """Create ``path`` (with parents) and prove it writable by creating and removing a probe file."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{what} {path} is a file, not a folder: name a folder (it is created if missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), path)
        raise OutputError(f"cannot create {what} {path}: {blocker} is a file") from None
    except OSError as exc:
        raise OutputError(f"cannot create {what} {path}: {exc.strerror or exc}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
    except OSError as exc:
        raise OutputError(f"cannot write into {what} {path}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)  # our own probe, created a line above
    return path

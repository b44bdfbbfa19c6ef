"""One harvest per data folder at a time.

The start-up clean-up deletes files without a committed row; a second harvest writing into the
same folder would lose its just-written files to it, so harvests take an exclusive lock first.
"""

from __future__ import annotations

import os
from pathlib import Path

from corpus.errors import StoreError


class HarvestLocked(StoreError):
    """Another harvest is running on the same data folder or the same store (the message says
    which, for the user)."""


class HarvestLock:
    """An exclusive ``flock`` on ``data_dir/.harvest.lock``; the OS drops it if the process dies."""

    def __init__(self, data_dir: Path) -> None:
        from corpus.storage import is_url

        self.remote = is_url(data_dir)
        self.path = Path(str(data_dir)) / ".harvest.lock"
        self._fd: int | None = None

    def acquire(self) -> "HarvestLock":
        import fcntl

        if self.remote:  # object storage: no clean-up runs there, so nothing to guard
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # read-only, a file where the folder should be, ...
            from corpus.harvest.files import DataFolderError, describe_os_error

            raise DataFolderError(describe_os_error(exc, self.path.parent)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise HarvestLocked(
                f"another harvest is running on {self.path.parent} (lock {self.path}); wait for it or stop it"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "HarvestLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

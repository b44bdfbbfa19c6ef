"""A streaming writer for JSON objects whose members are long arrays (COCO files).

Each array element is serialised and written as it comes, so memory stays flat however many
images and annotations pass through; only the current element is held.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, Iterable

# No circular check: the elements are plain dicts and lists built by the exports (it costs a
# tenth of the encoding of a small annotation).
_ENC = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)
encode = _ENC.encode


class JsonObjectWriter:
    """Write ``{"k": v, ..., "arr": [e1, e2, ...], ...}`` member by member, element by element."""

    def __init__(self, path: Path, buffer_size: int = 1 << 20) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write to a temporary name and rename at the end: a crash never leaves a truncated file
        # under the final name.
        self._tmp = self.path.with_name(self.path.name + ".part")
        self._f: IO[str] = open(self._tmp, "w", encoding="utf-8", buffering=buffer_size)
        self._f.write("{")
        self._members = 0
        self._in_array = False
        self._items = 0

    def member(self, key: str, value: Any) -> None:
        assert not self._in_array
        self._f.write(("," if self._members else "") + encode(key) + ":" + encode(value))
        self._members += 1

    def begin_array(self, key: str) -> None:
        assert not self._in_array
        self._f.write(("," if self._members else "") + encode(key) + ":[")
        self._members += 1
        self._in_array = True
        self._items = 0

    def item(self, value: Any) -> None:
        self._f.write(("," if self._items else "") + encode(value))
        self._items += 1

    def raw_items(self, text: str, count: int) -> None:
        """Append ``count`` already-encoded, comma-separated elements."""
        if count:
            self._f.write(("," if self._items else "") + text)
            self._items += count

    def items(self, values: Iterable[Any]) -> None:
        for v in values:
            self.item(v)

    def end_array(self) -> None:
        assert self._in_array
        self._f.write("]")
        self._in_array = False

    def close(self) -> Path:
        self._f.write("}")
        self._f.close()
        self._tmp.replace(self.path)
        return self.path

    def abort(self) -> None:
        self._f.close()
        self._tmp.unlink(missing_ok=True)


class Spool:
    """Encoded array elements kept in a temporary file until their array's turn comes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = open(path, "w+", encoding="utf-8", buffering=1 << 20)
        self.count = 0

    def add(self, value: Any) -> None:
        self._f.write(("," if self.count else "") + encode(value))
        self.count += 1

    def drain_into(self, w: JsonObjectWriter, chunk: int = 1 << 20) -> None:
        self._f.flush()
        self._f.seek(0)
        first = True
        while True:
            text = self._f.read(chunk)
            if not text:
                break
            if first:
                w.raw_items(text, self.count)
                first = False
            else:
                w._f.write(text)
        self.close()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()
        self.path.unlink(missing_ok=True)

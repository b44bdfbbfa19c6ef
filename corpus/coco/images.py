"""Image rows as COCO image and license entries, and their files in an export folder."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from corpus.errors import UsageError
from corpus.storage import Storage, open_storage
from corpus.store.models import Image, Source

FileMode = Literal["copy", "link", "symlink", "none"]
FILE_MODES: tuple[str, ...] = ("copy", "link", "symlink", "none")

_MIME_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
             "image/tiff": ".tif", "image/bmp": ".bmp"}

# The columns every export reads (Core rows, not ORM objects: ten times cheaper per row).
IMAGE_COLUMNS = (
    Image.id, Image.sha1, Image.local_path, Image.width, Image.height, Image.mime,
    Image.license_code, Image.license_url, Image.author, Image.attribution, Image.title,
    Image.landing_url, Image.file_url, Source.name.label("source"),
)


def image_select():
    return select(*IMAGE_COLUMNS).join(Source, Source.id == Image.source_id)


def file_name(image_id: int, sha1: str | None, local_path: str | None, mime: str | None) -> str:
    """A base name unique in the corpus (COCO Annotator matches images by bare file name) that
    also tells the importer which image it is: ``<id>-<sha1[:10]><ext>``."""
    ext = Path(local_path).suffix.lower() if local_path else ""
    if not ext:
        ext = _MIME_EXT.get(mime or "", ".jpg")
    return f"{image_id}-{sha1[:10]}{ext}" if sha1 else f"{image_id}{ext}"


_NAME_RE = re.compile(r"^(\d+)(?:-([0-9a-f]{10}))?\.[A-Za-z0-9]+$")


def parse_file_name(name: str) -> tuple[int, str | None] | None:
    """(image id, sha1 prefix or None) from an exported base name, or None if it is not ours."""
    m = _NAME_RE.match(os.path.basename(name))
    return (int(m.group(1)), m.group(2)) if m else None


@lru_cache(maxsize=256)
def _license(code: str, url: str):
    from corpus.licenses import from_code

    return from_code(code, url)


def license_of(row: Any):
    return _license(row.license_code or "", row.license_url or "")


def license_entry(row: Any, license_id: int) -> dict[str, Any]:
    """COCO ``licenses`` entry (id, name, url) carrying this image's full attribution."""
    from corpus.licenses import attribution_line

    lic = license_of(row)
    attribution = row.attribution or attribution_line(row.title or "", row.author or "", lic, row.landing_url or "", row.source or "")
    return {
        "id": license_id,
        "name": lic.name,
        "url": row.license_url or lic.url,
        "code": row.license_code,
        "author": row.author or "",
        "attribution": attribution,
        "source": row.source or "",
        "source_url": row.landing_url or "",
    }


def image_entry(row: Any, name: str, width: int, height: int, license_id: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "file_name": name,
        "width": width,
        "height": height,
        "license": license_id,
        "coco_url": row.file_url or "",
        "flickr_url": row.landing_url or "",  # COCO's field for the page the image came from
        "source_url": row.landing_url or "",
        "author": row.author or "",
        "sha1": row.sha1 or "",
    }


@dataclass(frozen=True)
class RemoteFile:
    """An image file in object storage (the data folder is an fsspec URL)."""

    storage: Storage
    rel: str
    size: int

    def open(self):
        return self.storage.open(self.rel)


@dataclass
class FilePlacer:
    """Puts image files into an export folder by copy, hard link or symbolic link (files in
    object storage are always copied: nothing can link to a bucket)."""

    data_dir: Path | str
    mode: str = "copy"

    def __post_init__(self) -> None:
        self.storage = open_storage(self.data_dir)

    def source_path(self, local_path: str | None) -> Path | RemoteFile | None:
        if not local_path:
            return None
        p = Path(local_path)
        if not p.is_absolute() and not self.storage.is_local:
            size = self.storage.size(local_path)
            return None if size is None else RemoteFile(self.storage, local_path, size)
        p = p if p.is_absolute() else Path(self.data_dir) / p
        return p if p.is_file() else None

    def locate(self, row: Any) -> tuple[Path | RemoteFile | None, tuple[int, int]] | None:
        """An image row's file and (width, height), or None when the export must leave the image
        out: its file is missing (and files are wanted) or its size is unknown. The one check
        every export (COCO, COCO Annotator, YOLO) makes before it places a file."""
        src = self.source_path(row.local_path)
        if src is None and self.mode != "none":
            return None
        size = image_size(row, src)
        return None if size is None else (src, size)

    def place(self, src: Path | RemoteFile, dst: Path) -> None:
        if self.mode == "none":
            return
        if isinstance(src, RemoteFile):
            if dst.is_file() and not dst.is_symlink() and dst.stat().st_size == src.size:
                return  # a re-export into the same folder
            dst.parent.mkdir(parents=True, exist_ok=True)
            src.storage.get_file(src.rel, dst)
            return
        if dst.exists() or dst.is_symlink():
            if dst.is_file() and dst.stat().st_size == src.stat().st_size:
                return  # a re-export into the same folder
            dst.unlink()
        dst.parent.mkdir(parents=True, exist_ok=True)
        if self.mode == "copy":
            shutil.copyfile(src, dst)
        elif self.mode == "link":
            try:
                os.link(src, dst)
            except OSError:  # another file system: a symbolic link still avoids the copy
                os.symlink(src.resolve(), dst)
        elif self.mode == "symlink":
            os.symlink(src.resolve(), dst)
        else:
            raise UsageError(f"unknown file mode {self.mode!r}; choose one of {', '.join(FILE_MODES)}")


def image_size(row: Any, src: Path | RemoteFile | None) -> tuple[int, int] | None:
    """(width, height) from the row, else read from the file header."""
    if row.width and row.height:
        return int(row.width), int(row.height)
    if src is None:
        return None
    from PIL import Image as PILImage

    try:
        with PILImage.open(src.open() if isinstance(src, RemoteFile) else src) as im:
            return im.size
    except OSError:
        return None

"""Is this download a usable image? Magic numbers, Pillow, a decompression-bomb guard, EXIF
orientation and a minimum size. Pure functions over bytes: the pipeline does the I/O.

A rejection raises :class:`Rejected` with a short machine reason (stored in
``images.reject_reason`` so a rerun does not fetch the image again) and a human detail.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

# Formats we keep: what annotation tools and browsers all read. GIF/TIFF/SVG and animations
# (APNG, animated WebP) are rejected.
KEPT_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
# Content types a server may legitimately put on image bytes; anything else (text/html, ...) is
# rejected before the body is read.
NEUTRAL_CONTENT_TYPES = {"application/octet-stream", "binary/octet-stream", "application/binary"}

DEFAULT_MAX_PIXELS = 50_000_000  # ~7000 x 7000; far above any thumbnail we ask the APIs for
DEFAULT_MIN_SIZE = 256  # shorter side, pixels
ORIENTATION_TAG = 0x0112


class Rejected(Exception):
    """The bytes are not an image we keep. ``reason`` is a short code, ``detail`` says why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    min_size: int = DEFAULT_MIN_SIZE  # shorter side after EXIF orientation
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass
class Checked:
    format: str  # JPEG, PNG, WEBP
    ext: str
    mime: str
    width: int  # as displayed (EXIF orientation applied)
    height: int
    data: bytes  # the bytes to store: the download, or a re-encode when EXIF rotated it
    small: Image.Image  # a decoded, reduced image for the perceptual hash
    reoriented: bool = False


def sniff(data: bytes) -> str | None:
    """The image format from magic numbers (None when the bytes are no image we know)."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:12] in (b"ftypavif", b"ftypheic", b"ftypmif1"):
        return "HEIF"
    return None


def content_type_ok(content_type: str | None) -> bool:
    """Whether a Content-Type header allows image bytes (missing headers are allowed)."""
    if not content_type:
        return True
    ct = content_type.split(";", 1)[0].strip().lower()
    return ct.startswith("image/") or ct in NEUTRAL_CONTENT_TYPES


def _decode_error(exc: BaseException) -> Rejected:
    msg = str(exc)
    low = msg.lower()
    if "truncat" in low or "broken data stream" in low or "premature end" in low:
        return Rejected("truncated", msg)
    return Rejected("corrupt_image", f"{type(exc).__name__}: {msg}")


def check(data: bytes, content_type: str | None = None, limits: Limits = Limits()) -> Checked:
    """Verify ``data`` and return what the pipeline stores; raise :class:`Rejected` otherwise."""
    if not content_type_ok(content_type):
        raise Rejected("not_an_image", f"served as {content_type}")
    fmt = sniff(data)
    if fmt is None:
        what = "HTML" if data[:512].lstrip().lower().startswith((b"<!doctype", b"<html")) else "unknown bytes"
        raise Rejected("not_an_image", f"{what} served as {content_type or 'no content type'}")
    if fmt not in KEPT_FORMATS:
        raise Rejected("unsupported_format", fmt)
    ext, mime = KEPT_FORMATS[fmt]
    try:
        im = Image.open(io.BytesIO(data), formats=[fmt])
        w, h = im.size  # header only: nothing decoded yet
    except Image.DecompressionBombError as exc:
        raise Rejected("decompression_bomb", str(exc)) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _decode_error(exc) from None
    # The explicit cap comes before any decoding; Pillow's own MAX_IMAGE_PIXELS check is a
    # second net (DecompressionBombError above) at a higher, process-wide limit.
    if w * h > limits.max_pixels:
        raise Rejected("decompression_bomb", f"{w}x{h} = {w * h} pixels > {limits.max_pixels}")
    if getattr(im, "is_animated", False):
        # APNG / animated WebP: annotated on frame 1 while every viewer plays it (GIF is out anyway).
        raise Rejected("unsupported_format", f"animated {fmt} ({getattr(im, 'n_frames', '?')} frames)")
    if fmt == "PNG":
        # verify() checks every chunk's CRC; it leaves the image unusable, so reopen.
        try:
            im.verify()
            im = Image.open(io.BytesIO(data), formats=[fmt])
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise _decode_error(exc) from None
    try:
        orientation = im.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block is not a broken image
        orientation = 1
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    if min(w, h) < limits.min_size:
        raise Rejected("too_small", f"{w}x{h}, shorter side < {limits.min_size}")
    try:
        if orientation not in (None, 1):
            return _reoriented(im, fmt, ext, mime)
        if fmt == "JPEG":
            # Decoding in the DCT domain at 1/8 scale reads every byte of the entropy-coded data
            # (so truncation is still caught) at a fraction of a full decode.
            im.draft("L", (64, 64))
        im.load()
    except Image.DecompressionBombError as exc:
        raise Rejected("decompression_bomb", str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _decode_error(exc) from None
    return Checked(fmt, ext, mime, w, h, data, im)


def _reoriented(im: Image.Image, fmt: str, ext: str, mime: str) -> Checked:
    """Apply EXIF orientation to the pixels and re-encode, so every tool sees the same pixels
    (browsers and OpenCV honour the tag, Pillow and pycocotools do not)."""
    im.load()
    upright = ImageOps.exif_transpose(im)
    out = io.BytesIO()
    if fmt == "JPEG":
        upright.convert("RGB").save(out, "JPEG", quality=95)
    else:
        upright.save(out, fmt)
    return Checked(fmt, ext, mime, upright.width, upright.height, out.getvalue(), upright, reoriented=True)

"""Exact (sha1 of the stored bytes) and perceptual (64-bit pHash) fingerprints."""

from __future__ import annotations

import hashlib

import imagehash
from PIL import Image


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def phash_hex(im: Image.Image) -> str:
    """64-bit pHash as 16 hex digits. ``im`` may be a reduced decode (``Image.draft``): pHash
    works on a 32x32 greyscale copy anyway, and the reduced decode changes at most a couple
    of bits (see docs/harvest.md)."""
    return str(imagehash.phash(im))


def hamming(a: str | int, b: str | int) -> int:
    x = (int(a, 16) if isinstance(a, str) else a) ^ (int(b, 16) if isinstance(b, str) else b)
    return x.bit_count()

"""Deterministic, disjoint splits: each image lands in exactly one split, decided by a hash of its
content hash (sha1) and a seed, so the same image stays in the same split across exports and
machines, whatever else the corpus gains or loses."""

from __future__ import annotations

import hashlib

from corpus.errors import UsageError

Splits = list[tuple[str, float]]


def parse_splits(spec: str | None) -> Splits | None:
    """``"train=0.8,val=0.1,test=0.1"`` -> [("train", 0.8), ...]; fractions must sum to 1."""
    if spec is None or not spec.strip():
        return None
    out: Splits = []
    for part in spec.split(","):
        name, sep, frac = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"split {part.strip()!r}: expected NAME=FRACTION, e.g. train=0.8,val=0.1,test=0.1")
        if not name.replace("-", "").replace("_", "").isalnum():
            raise UsageError(f"split name {name!r}: use letters, digits, '-' or '_'")
        try:
            value = float(frac)
        except ValueError:
            raise UsageError(f"split {name}: {frac.strip()!r} is not a number") from None
        if not 0 < value <= 1:
            raise UsageError(f"split {name}: fraction {value} must be in (0, 1]")
        if any(n == name for n, _ in out):
            raise UsageError(f"split {name} named twice")
        out.append((name, value))
    total = sum(v for _, v in out)
    if abs(total - 1.0) > 1e-6:
        raise UsageError(f"split fractions sum to {total:g}, not 1")
    return out


def split_key(image_id: int, sha1: str | None) -> str:
    """What an image's split is decided by: its content hash, else its store id (every export
    that splits, COCO or YOLO, uses this, so they agree image for image)."""
    return sha1 or f"id:{image_id}"


def split_of(key: str, splits: Splits, seed: int = 0) -> str:
    """The split of the image with this key (its sha1, else ``id:<n>``)."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2**64
    acc = 0.0
    for name, frac in splits:
        acc += frac
        if u < acc:
            return name
    return splits[-1][0]

"""Licenses as data: one vocabulary, flags per license, and the policy that decides what we keep.

(Stub by the lead: the harvest-sources engineer fills in normalisation and policies.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class License:
    code: str  # normalised: CC0-1.0, PDM-1.0, CC-BY-4.0, CC-BY-SA-3.0, Pexels, Pixabay, ...
    name: str  # human readable: "CC BY-SA 4.0"
    url: str
    commercial: bool
    derivatives: bool
    share_alike: bool
    attribution_required: bool
    verify: bool = False  # status statements rather than licenses (Flickr 7/8): check by hand

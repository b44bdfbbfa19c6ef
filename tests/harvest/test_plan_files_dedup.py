"""Query planning, content-addressed files and the dedup indexes (pure parts)."""

from __future__ import annotations

import os

import pytest

from corpus.harvest import files
from corpus.harvest.dedup import PhashIndex, Sha1Index
from corpus.harvest.plan import plan_queries, query_text, select_classes
from tests.harvest.support import onto_class


class Lang:
    def __init__(self, name, codes):
        self.name, self.codes = name, codes

    def search_language(self, lang):
        return self.codes.get(lang) if self.codes is not None else ""


CLASSES = [
    onto_class("tennis_player.n.01", "tennis player", "dominant",
               {"en": ("tennis_player",), "fr": ("joueur_de_tennis", "tennis_player"), "bg": ("тенисист", "тенисистка", "x")}, 1),
    onto_class("racket.n.04", "racket", "attribute", {"en": ("racket", "racquet")}, 2),
    onto_class("athlete.n.01", "athlete", "parent", {"en": ("athlete",)}, 3),
]


def test_plan_per_class_language_and_source():
    sources = {"any": Lang("any", None), "en_only": Lang("en_only", {"en": "en"}), "locales": Lang("l", {"fr": "fr-FR", "en": "en-US"})}
    plan = plan_queries(select_classes(CLASSES), sources, ["en", "fr", "bg"], max_lemmas=2)
    got = [(p.synset, p.source, p.lang, p.source_lang, p.text) for p in plan]
    assert ("athlete.n.01", "any", "en", "", "athlete") not in got  # parents are not harvested by default
    tennis_any = [(lang, t) for s, src, lang, _, t in got if s == "tennis_player.n.01" and src == "any"]
    # The same text in two languages is one query at a source that takes any language.
    assert tennis_any == [("en", "tennis player"), ("fr", "joueur de tennis"), ("bg", "тенисист"), ("bg", "тенисистка")]
    tennis_loc = [(lang, code, t) for s, src, lang, code, t in got if s == "tennis_player.n.01" and src == "locales"]
    assert tennis_loc == [("en", "en-US", "tennis player"), ("fr", "fr-FR", "joueur de tennis"), ("fr", "fr-FR", "tennis player")]
    assert [t for s, src, *_, t in got if src == "en_only"] == ["tennis player", "racket", "racquet"]


def test_select_classes_by_name_or_synset_and_unknown_names():
    assert [c.synset for c in select_classes(CLASSES, ["Athlete", "racket.n.04"])] == ["athlete.n.01", "racket.n.04"]
    with pytest.raises(ValueError, match="unknown class.*nope"):
        select_classes(CLASSES, ["nope"])


def test_query_text_normalises_lemmas():
    assert query_text(" table_tennis  player ") == "table tennis player"


def test_relative_path_is_content_addressed_and_validated():
    sha = "ab" * 20
    assert files.relative_path(sha, "jpg") == f"images/ab/ab/{sha}.jpg"
    with pytest.raises(ValueError):
        files.relative_path("../../etc/passwd", "jpg")


def test_write_atomic(tmp_path):
    sha = "cd" * 20
    rel = files.relative_path(sha, "png")
    p = files.write_atomic(tmp_path, rel, b"data")
    assert p.read_bytes() == b"data" and not [n for n in os.listdir(p.parent) if n.startswith(files.TMP_PREFIX)]


def test_data_folder_claims_and_cleans_only_its_own_files(tmp_path):
    mine = files.DataFolder(tmp_path, "store-a")
    other = files.DataFolder(tmp_path, "store-b")
    assert mine.open("a") == [] and other.open("b") == ["store-a"]
    kept = mine.place(files.relative_path("11" * 20, "jpg"), b"kept")
    lost = mine.place(files.relative_path("22" * 20, "jpg"), b"row never committed")
    theirs = other.place(files.relative_path("33" * 20, "jpg"), b"store b's leftover")
    assert kept.created and kept.claim and os.path.samefile(kept.claim, tmp_path / kept.rel_path)
    again = mine.place(kept.rel_path, b"kept")  # already there: used as it is, not ours to delete
    assert (again.created, again.claim) == (False, None)
    with pytest.raises(OSError, match="other content"):
        mine.place(kept.rel_path, b"different")
    user = tmp_path / files.relative_path("44" * 20, "jpg")
    user.parent.mkdir(parents=True)
    user.write_bytes(b"a user's")
    rep = mine.clean({kept.rel_path})
    assert (rep.temp_files, rep.orphans) == (2, 1)
    assert (tmp_path / kept.rel_path).read_bytes() == b"kept" and not (tmp_path / lost.rel_path).exists()
    assert (tmp_path / theirs.rel_path).exists() and user.exists() and os.path.exists(theirs.claim)
    mine.delete_created(mine.place(files.relative_path("55" * 20, "jpg"), b"a duplicate after all"))
    assert not (tmp_path / files.relative_path("55" * 20, "jpg")).exists() and os.listdir(mine.tmp) == []


def test_data_folder_that_cannot_be_written_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(files.DataFolderError, match="cannot write to the data folder"):
        files.DataFolder(tmp_path / "file", "s").open()


def test_phash_index_finds_the_nearest_within_the_radius():
    ix = PhashIndex(capacity=2)
    base = 0x0F0F_0F0F_F0F0_F0F0
    for i in range(100):  # far from base (24 bits or more); the index grows past its capacity
        ix.add(base ^ (0xFFFFFF << (i % 40)), 1000 + i)
    ix.add(base, 7)
    assert ix.nearest(base ^ 0b111, 8) == (7, 3)
    assert ix.nearest(base ^ 0x1FF, 8) is None  # 9 bits from base, 15+ from the others
    assert len(ix) == 101
    assert PhashIndex().nearest(base, 8) is None


def test_sha1_index_keeps_the_first_id():
    ix = Sha1Index()
    ix.add("a" * 40, 1)
    ix.add("a" * 40, 2)
    assert ix.get("a" * 40) == 1 and "a" * 40 in ix and len(ix) == 1


def test_popcount_fallback_for_numpy_1_gives_the_same_answer(monkeypatch):
    """numpy 1.x has no np.bitwise_count: the lookup-table path must agree with it bit for bit,
    and the index must find the same neighbours through it."""
    import numpy as np

    from corpus.harvest import dedup

    rng = np.random.default_rng(7)
    x = rng.integers(0, 2**63, size=5000, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, size=5000, dtype=np.uint64)
    x[:3] = [0, 2**64 - 1, 2**63]
    want = np.array([int(v).bit_count() for v in x])
    assert (dedup.popcount64_table(x) == want).all()
    if hasattr(np, "bitwise_count"):
        assert (dedup.popcount64(x) == want).all()
    monkeypatch.setattr(dedup, "_HAS_BITWISE_COUNT", False)  # as on numpy 1.x
    ix = PhashIndex()
    for i, v in enumerate(x[:1000]):
        ix.add(int(v), i)
    assert ix.nearest(int(x[500]) ^ 0b1011, 8) == (500, 3)


def test_clean_hit_strips_controls_and_rejects_unstorable_ids():
    """The text cleaning at the source boundary, field by field (the PostgreSQL run is in
    test_integrity.py)."""
    from corpus.harvest.sanitize import LIMITS, UnusableHit, clean_hit
    from corpus.licenses import from_code
    from corpus.sources.base import Hit

    hit = Hit("alpha", "id-1", "http://x/a.jpg", "http://x/p", from_code("CC-BY-4.0"), "cc\x00by",
              author="A\x00n\tn", author_raw="<b>A</b>\n\x01", title="t" * 5000, mime="image/jpeg" + "x" * 100,
              width=10**12, height=480, rank=-1, extra={"k\x00": ["v\x00", {"deep": "\ud800ok"}], "n": 10**30})
    c = clean_hit(hit)
    assert (c.author, c.author_raw, c.license_raw) == ("An n", "<b>A</b>\n", "ccby")
    assert len(c.title) == LIMITS["title"] and c.title.endswith("…")
    assert (c.mime, c.width, c.height, c.rank) == (None, None, 480, None)
    assert c.extra == {"k": ["v", {"deep": "ok"}], "n": str(10**30)}
    for bad_id, reason in (("x" * (LIMITS["source_image_id"] + 1), "source_image_id_too_long"),
                           ("a\x00b", "bad_source_image_id"), (" ", "no_source_image_id")):
        with pytest.raises(UnusableHit) as ei:
            clean_hit(Hit("alpha", bad_id, "http://x/a.jpg", "", from_code("CC0-1.0"), ""))
        assert ei.value.reason == reason
    with pytest.raises(UnusableHit, match="bad_file_url"):
        clean_hit(Hit("alpha", "ok", "http://x/\x00a.jpg", "", from_code("CC0-1.0"), ""))

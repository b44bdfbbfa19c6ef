"""Fair shares of a class's quota over languages and sources (issue 10, item 1)."""

from __future__ import annotations

from corpus.harvest.plan import ClassQuota, fair_shares, plan_queries, unnamed_pairs
from tests.harvest.support import onto_class


def test_fair_shares_even_with_remainder_first():
    assert fair_shares(10, ["en", "bg", "fr"]) == {"en": 4, "bg": 3, "fr": 3}
    assert fair_shares(2, ["en", "bg", "fr"]) == {"en": 1, "bg": 1, "fr": 0}
    assert fair_shares(0, ["en"]) == {"en": 0}


def test_fair_shares_give_a_dry_key_what_it_has_and_the_rest_to_the_others():
    assert fair_shares(100, ["en", "bg", "eu", "fr"], {"bg": 3}) == {"en": 33, "bg": 3, "eu": 32, "fr": 32}
    # a cap above the even share takes nothing from the others
    assert fair_shares(12, ["en", "bg"], {"bg": 50}) == {"en": 6, "bg": 6}
    # caps that cannot all be met: what they have, and nothing left for the rest
    assert fair_shares(4, ["en", "bg", "eu"], {"bg": 5, "eu": 5}) == {"en": 2, "bg": 1, "eu": 1}


def test_class_quota_round_robin_and_redistribution():
    q = ClassQuota(12, [("en", "commons"), ("en", "openverse"), ("bg", "commons"), ("fr", "commons")])
    t = q.targets()
    assert t == {("en", "commons"): 2, ("en", "openverse"): 2, ("bg", "commons"): 4, ("fr", "commons"): 4}
    q.add_kept(("bg", "commons"), 1)
    q.set_dry(("bg", "commons"))  # Bulgarian found one image only
    t = q.targets()
    assert t[("bg", "commons")] == 1 and t[("en", "commons")] + t[("en", "openverse")] + t[("fr", "commons")] == 11
    assert q.room(("bg", "commons")) == 0 and q.room(("fr", "commons")) == 5  # 11 = en 6 + fr 5
    q.set_dry(("en", "openverse"))  # its share goes to the other English source first
    assert q.targets()[("en", "commons")] == 6
    q.add_inflight(("fr", "commons"), 5)
    assert q.room(("fr", "commons")) == 0 and not q.full()
    q.add_inflight(("fr", "commons"), -5)
    q.add_kept(("fr", "commons"), 5)
    q.add_kept(("en", "commons"), 6)
    assert q.full() and q.kept == 12
    assert q.kept_by_language() == {"en": 6, "bg": 1, "fr": 5}


def test_per_language_is_an_explicit_share_without_redistribution():
    q = ClassQuota(100, [("en", "a"), ("en", "b"), ("bg", "a")], per_language=3)
    assert q.total == 6 and q.targets() == {("en", "a"): 2, ("en", "b"): 1, ("bg", "a"): 3}
    q.set_dry(("bg", "a"))
    assert q.targets()[("en", "a")] + q.targets()[("en", "b")] == 3  # English does not take Bulgarian's share


def test_images_from_earlier_runs_count_where_they_were_found():
    q = ClassQuota(4, [("en", "a"), ("bg", "a")])
    q.add_kept(("en", "a"), 3)  # an earlier run (before fair shares) filled English
    assert q.room(("en", "a")) == 0 and q.room(("bg", "a")) == 2
    q.add_kept(("xx", "gone"), 1)  # found by a query no longer planned: counts for the class only
    assert q.kept == 4 and q.full()


def test_unnamed_pairs_are_reported():
    classes = [onto_class("a.n.01", "a", "dominant", {"en": ("a",), "bg": ("а",)}),
               onto_class("b.n.01", "b", "dominant", {"en": ("b",), "bg": ()})]
    assert unnamed_pairs(classes, ["en", "bg", "fr"]) == {"bg": ["b.n.01"], "fr": ["a.n.01", "b.n.01"]}

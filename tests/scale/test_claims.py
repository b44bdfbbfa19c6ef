"""corpus.claims on real stores: a lease goes to one holder, expires when its holder stops
renewing it, and is released when the work is stored."""

from __future__ import annotations

import threading
import time

import pytest

from corpus.claims import Claims, team_mode
from corpus.store.db import make_engine, upgrade


def _check(engine) -> None:
    a = Claims(engine, "annotate:m", ttl_s=0.6, holder="a")
    b = Claims(engine, "annotate:m", ttl_s=0.6, holder="b")
    assert a.claim(["1", "2", "3"]) == ["1", "2", "3"]
    assert b.claim(["3", "4"]) == ["4"]  # 3 is a's
    assert a.claim(["3"]) == ["3"]  # a holder may claim its own again
    assert set(b.holders(["1", "2", "3", "4"])) == {"1", "2", "3"}
    a.release(["1"])
    assert b.claim(["1"]) == ["1"] and a.holders(["1"]) == {"1": (b.holder, a.holders(["1"])["1"][1])}
    # a stops renewing (killed): after the TTL its keys are free; b renews its own meanwhile.
    time.sleep(0.35)
    assert b.renew() == 2
    time.sleep(0.35)
    assert sorted(b.claim(["2", "3"])) == ["2", "3"] and b.holders(["1"]) == {}
    assert a.renew() == 0  # nothing left to a
    b.close()
    assert a.claim(["1", "2", "3", "4"]) == ["1", "2", "3", "4"]
    a.close()


def test_claims_on_sqlite(engine):
    _check(engine)


@pytest.mark.postgres
def test_claims_on_postgresql_race(pg_url):
    upgrade(pg_url)
    engine = make_engine(pg_url)
    _check(engine)
    # Eight threads race for the same 50 keys: each key goes to exactly one of them.
    got: dict[str, list[str]] = {}
    barrier = threading.Barrier(8)

    def race(name: str) -> None:
        c = Claims(engine, "harvest", ttl_s=60, holder=name)
        barrier.wait()
        got[name] = c.claim(str(k) for k in range(50))

    threads = [threading.Thread(target=race, args=(f"h{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [k for keys in got.values() for k in keys]
    assert sorted(won, key=int) == [str(k) for k in range(50)]
    assert team_mode(engine) and not team_mode(engine, False)
    engine.dispose()


def test_team_mode_is_off_for_sqlite_unless_asked(engine):
    assert not team_mode(engine) and team_mode(engine, True)

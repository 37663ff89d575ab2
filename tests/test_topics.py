"""Stored topics never change: events name their classes by topic, and a store written by any
earlier release must still decode. Atlas and Branch share one base (``Definitions``) without
their events' topics changing, and the topics written before the package was grouped into parts
(``control.domain:...``) resolve through eventsourcing's topic registry, not a shim module."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from eventsourcing.utils import get_topic, resolve_topic

from control.store.domain import Atlas, Branch, Definitions, Ledger

FIXTURES = Path(__file__).parent / "fixtures"


def test_atlas_and_branch_events_keep_their_topics():
    atlas = Atlas.start("gazetteer")
    atlas.define({"places": []})
    branch = Branch.start("homs-holds")
    branch.define({"at": "x"})
    topics = [get_topic(type(e)) for e in (*atlas.collect_events(), *branch.collect_events())]
    assert topics == [
        "control.store.domain:Atlas.Started",
        "control.store.domain:Atlas.Defined",
        "control.store.domain:Branch.Started",
        "control.store.domain:Branch.Defined",
    ]
    assert issubclass(Atlas.Defined, Definitions.Defined) and Atlas.Defined is not Branch.Defined


def test_topics_from_before_the_parts_resolve_without_a_shim_module():
    assert resolve_topic("control.domain:Ledger.CaptureReported") is Ledger.CaptureReported
    assert resolve_topic("control.domain:Atlas.Defined") is Atlas.Defined
    assert not (Path(__file__).parents[1] / "control" / "domain.py").exists()


def test_the_v1_fixture_with_old_topics_still_answers(tmp_path, run):
    store = tmp_path / "old.db"
    shutil.copy(FIXTURES / "store_v1.sqlite", store)
    with sqlite3.connect(store) as con:
        old = {r[0] for r in con.execute("SELECT DISTINCT topic FROM stored_events")}
    assert any(t.startswith("control.domain:") for t in old)
    result = run("replay", "--at", "2024-12-08T00:00Z", "--store", str(store))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "government holds 3 of 14: Damascus, Latakia, Tartus"

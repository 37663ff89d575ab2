"""The third clock: ``recorded_at`` (when the store learned a report) and ``--recorded-at``."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from freezegun import freeze_time

from control import open_ledger, parse_instant
from control.store.config import store_env
from control.store.ledger import LedgerApp
from control.store.streams import RECORD_STREAM

FIXTURES = Path(__file__).parent / "fixtures"
QUESTIONS = [
    ("replay", "--at", "2024-12-08T00:00Z"),
    ("replay", "--at", "2024-12-08T00:00Z", "--json"),
    ("replay", "--at", "2024-12-07T23:00Z", "--known-at", "2024-12-07T22:00Z"),
    ("events",),
    ("events", "--json", "--place", "Damascus"),
    ("history", "Damascus"),
    ("history", "Damascus", "--json"),
    ("changes", "--since", "2024-11-27", "--json"),
]


def test_recorded_at_answers_byte_for_byte_as_the_store_did(run, tmp_path):
    (tmp_path / "late.txt").write_text("Rebels said they had taken Damascus on Saturday.\n")
    with freeze_time("2025-01-10T12:00:00Z"):
        then = {q: run(*q).output for q in QUESTIONS}
    with freeze_time("2025-03-01T12:00:00Z"):  # a report from 2024, typed in months later
        added = run(
            "add", "--kind", "capture", "--place", "Damascus", "--actor", "hts", "--from", "government",
            "--when", "Saturday", "--reported-at", "2024-12-07T23:30Z", "--file", "late.txt",
            "--quote", "they had taken Damascus",
        )  # fmt: skip
        assert added.exit_code == 0, added.output
    now = run("replay", "--at", "2024-12-08T00:00Z").output
    assert now != then[QUESTIONS[0]]  # the backdated report changed today's answer ...
    for question in QUESTIONS:  # ... but not what the store said before it was recorded
        again = run(*question, "--recorded-at", "2025-02-01T00:00Z")
        assert again.stdout == then[question], question
        assert "as the store had it at 2025-02-01T00:00:00Z" in again.stderr
    events = json.loads(run("events", "--json").output)
    late = next(e for e in events if e["id"] == "damascus-capture-1")
    assert late["recorded_at"] == "2025-03-01T12:00:00Z"
    assert late["reported_at"] == "2024-12-07T23:30:00Z"
    assert {e["recorded_at"] for e in events if e["id"] != "damascus-capture-1"} == {"2025-01-10T12:00:00Z"}


def test_recorded_at_never_decreases_in_commit_order_even_if_a_clock_runs_back(tmp_path):
    store = str(tmp_path / "s.db")
    times = iter(["2025-05-01T00:00Z", "2025-04-01T00:00Z"])  # a writer whose clock is behind
    app = LedgerApp(env=store_env(store), clock=lambda: parse_instant(next(times)))
    from control.service.sync import sync_record

    sync_record(app)
    (tmp_path / "a.txt").write_text("HTS claimed Tartus.\n")
    from control.service.validation import add_reports

    table = {
        "kind": "claim", "place": "Tartus", "actor": "hts", "when": "by report", "file": "a.txt",
        "quote": "HTS claimed Tartus", "reported_at": "2024-12-08T00:00Z",
    }  # fmt: skip
    add_reports(app, [table], parse_instant("2025-05-02T00:00Z"), base=tmp_path)
    stamps = [e.recorded_at for e in app.read()]
    assert stamps == sorted(stamps)
    assert stamps[-1] == parse_instant("2025-05-01T00:00Z")


def test_a_store_written_by_the_previous_release_upcasts_through_the_mapper(tmp_path):
    store = tmp_path / "old.sqlite"
    shutil.copy(FIXTURES / "store_v1.sqlite", store)
    shutil.copy(FIXTURES / "latakia-note.txt", tmp_path)
    con = sqlite3.connect(store)
    old_rows = (
        con.execute(
            "select originator_version, topic, state from stored_events where originator_id = ?",
            (RECORD_STREAM.hex,),
        ).fetchall()
        or con.execute("select originator_version, topic, state from stored_events").fetchall()
    )
    con.close()
    assert old_rows and all(b"recorded_at" not in bytes(row[2]) for row in old_rows)
    fixture_events = {
        e.id: e for e in LedgerApp(env=store_env(str(store))).read() if e.id == "latakia-claim-fixture"
    }
    stamp = fixture_events["latakia-claim-fixture"].recorded_at
    assert stamp is not None and stamp.year == 2026  # from the v1 event's own stored timestamp

    ledger = open_ledger(str(store))  # syncs today's record into the old store
    events = ledger.events()
    assert all(e.recorded_at is not None for e in events)
    assert "latakia-claim-fixture" in {e.id for e in events}
    assert ledger.replay("2024-12-08T00:00Z").holding("government").capitals == (
        "Damascus",
        "Latakia",
        "Tartus",
    )
    # What the old store said before the upgrade is still answerable.
    before = ledger.replay("2024-12-08T00:00Z", recorded_at=stamp)
    assert before.holding("government").capitals == ("Damascus", "Latakia", "Tartus")
    assert before.events_used <= ledger.replay("2024-12-08T00:00Z").events_used

"""The event store: SQLite file and PostgreSQL give the same answers as folding the record file.

PostgreSQL tests run against a real server named by CONTROL_TEST_POSTGRES (a postgresql:// URL;
.ci/run starts one and sets it). Each test gets its own schema.
"""

from __future__ import annotations

import json
import os
import sys
import uuid

import pytest

from control import open_ledger, record_events, replay
from control.model.errors import UserError
from control.model.events import Event, Source
from control.model.times import parse_instant
from control.service.sync import open_app, sync_record
from control.store.config import RECORD, store_env
from control.store.ledger import LedgerApp
from control.store.streams import GAZETTEER_STREAM, RECORD_STREAM, derived_namespace, stream_id
from control.store.streams import STREAM_NAMESPACE as PINNED
from control.views.render import to_json

INSTANTS = ["2024-11-26", "2024-11-29T00:00Z", "2024-12-06T12:00Z", "2024-12-07T23:00Z", "2024-12-08T00:00Z"]
PG_URL = os.environ.get("CONTROL_TEST_POSTGRES")


def _same_answers(ledger_events: list[Event], record: list[Event]) -> None:
    for at in INSTANTS:
        for known_at in (None, parse_instant("2024-12-07T18:00Z")):
            ours = to_json(replay(ledger_events, parse_instant(at), known_at).to_dict())
            theirs = to_json(replay(record, parse_instant(at), known_at).to_dict())
            assert ours == theirs, (at, known_at)


def test_stream_ids_are_pinned():
    assert derived_namespace() == PINNED
    assert RECORD_STREAM == uuid.uuid5(PINNED, "record") == stream_id("record")
    assert GAZETTEER_STREAM == uuid.uuid5(PINNED, "gazetteer") == stream_id("gazetteer")


def test_sqlite_store_and_record_file_give_the_same_answer(store, events):
    stored = open_ledger(store).events()
    assert all(e.recorded_at is not None for e in stored)
    assert [e._replace(recorded_at=None) for e in stored] == events
    _same_answers(stored, events)


def test_loading_the_record_twice_adds_nothing(store, fingerprint):
    first = open_app(store)
    assert len(first.read()) == len(record_events())
    before = fingerprint(store)
    assert sync_record(open_app(store)) == 0
    app = LedgerApp(env=store_env(store))
    app.stored_digest = lambda name="record": ""  # force the slow path: compare every event
    assert sync_record(app) == 0
    assert fingerprint(store) == before


def test_a_stored_record_event_is_never_rewritten(store, events, fingerprint):
    app = LedgerApp(env=store_env(store))
    app.ensure_read_model(store)
    hama = next(e for e in events if e.id == "hama-capture-001")
    tampered = hama._replace(source=Source(hama.source.file, "Hama"))
    app.append(RECORD, [tampered])
    before = fingerprint(store)
    with pytest.raises(UserError, match="'hama-capture-001' differs from the one in the store"):
        open_app(store)
    assert fingerprint(store) == before


def test_event_classes_are_explicit_and_versioned():
    from control.store.domain import EVENT_CLASSES, Ledger

    assert set(EVENT_CLASSES) == {
        "baseline", "capture", "withdrawal", "handover", "denial", "claim", "correction",
    }  # fmt: skip
    for cls in EVENT_CLASSES.values():
        assert cls.class_version == 2  # v2: recorded_at; v1 upcast by upcast_v1_v2
        assert callable(cls.upcast_v1_v2)
    from control.model.events import OTHER_VERSION, REPORT_VERSION
    from control.store.domain import Branch

    assert REPORT_VERSION == 2
    for cls in (Ledger.Opened, Ledger.RecordLoaded, Branch.Started, Branch.Defined):
        assert cls.class_version == OTHER_VERSION == 1  # the fast read path relies on these


def test_stored_kinds_use_their_own_event_class(store):
    app = open_app(store)
    topics = {topic.rsplit(".", 1)[-1] for topic, _ in app.payloads(RECORD)}
    assert {"BaselineRecorded", "CaptureReported", "DenialReported", "ClaimReported"} <= topics


def test_postgres_store_gives_the_same_answer_and_loads_once(pg_store, events):
    stored = open_ledger(pg_store).events()
    assert [e._replace(recorded_at=None) for e in stored] == events
    _same_answers(stored, events)
    again = open_app(pg_store)
    assert sync_record(again) == 0
    assert (
        len(list(again.recorder.select_events(RECORD_STREAM))) == len(record_events()) + 2
    )  # opened, loaded


def test_cli_on_postgres(run, pg_store):
    data = json.loads(run("replay", "--store", pg_store, "--at", "2024-12-08T00:00Z", "--json").output)
    assert data["holdings"]["government"]["capitals"] == ["Damascus", "Latakia", "Tartus"]


def test_unreachable_postgres_is_a_clear_error_without_the_password(run):
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    result = run("replay", "--store", "postgresql://u:secret@127.0.0.1:9/none?connect_timeout=1")
    assert result.exit_code == 2
    assert "cannot use postgresql://u:***@127.0.0.1:9/none" in result.stderr
    assert "secret" not in result.stderr


def test_two_first_uses_at_once_load_the_record_once(store, fingerprint):
    first, second = LedgerApp(env=store_env(store)), LedgerApp(env=store_env(store))
    assert second.stored_digest() == ""  # the second has looked before the first writes
    assert sync_record(first) == len(record_events())
    loaded = fingerprint(store)
    assert sync_record(second) == 0
    assert fingerprint(store) == loaded
    assert second.read() == first.read()


def test_without_the_postgres_extra_a_postgres_store_is_one_clear_line(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    result = run("replay", "--store", "postgresql://u:secret@127.0.0.1:5432/db")
    assert result.exit_code == 2
    assert "pip install 'territorial-control[postgres]'" in result.stderr and "secret" not in result.stderr

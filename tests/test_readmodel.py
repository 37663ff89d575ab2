"""The read model: the same answers as the pure fold over the events, rebuilt idempotently, and
never out of step with the events (written in their transaction; a killed writer is tested)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from helpers.ledgers import BASE, INSTANTS, START, ledgers
from hypothesis import given, settings
from hypothesis import strategies as st

from control.fold.projection import replay, transitions
from control.service.sync import bind_gazetteer, open_app
from control.store.config import RECORD, store_env
from control.store.ledger import LedgerApp


def _answers(events, at, known_at, recorded_at):
    snap = replay(events, at, known_at, recorded_at=recorded_at).to_dict()
    moves = [t.to_dict() for t in transitions(events, known_at)]
    return json.dumps([snap, moves], sort_keys=True)


@settings(max_examples=25, deadline=None)
@given(ledgers(), INSTANTS, INSTANTS, st.integers(min_value=0, max_value=3), st.data())
def test_the_read_model_answers_as_the_fold_over_the_events(
    tmp_path_factory, events, at, known_at, cut, data
):
    store = str(tmp_path_factory.mktemp("rm") / "s.db")
    stamps = iter(START + timedelta(days=400 + i) for i in range(10))
    app = LedgerApp(env=store_env(store), clock=lambda: next(stamps))
    app.ensure_read_model(store)
    app.append(RECORD, BASE)
    batches = [events[i::3] for i in range(3)]  # three transactions, three recorded times
    for batch in batches:
        if batch:
            app.append(RECORD, batch)
    from_events = app.read_events()
    from_model = app.read()
    assert from_model == from_events
    recorded_at = START + timedelta(days=400 + cut, hours=1)
    assert _answers(app.read(recorded_at=recorded_at), at, known_at, recorded_at) == _answers(
        [e for e in from_events if e.recorded_at <= recorded_at], at, known_at, recorded_at
    )


@settings(max_examples=25, deadline=None)
@given(ledgers(), st.lists(st.text(), min_size=1, max_size=5), st.booleans())
def test_an_append_stores_each_report_as_the_mapper_would(tmp_path_factory, events, quotes, zlib):
    """Append encodes each report once, for its event and its row: the stored bytes are the
    mapper's own, any text in a quote; a mapper that compresses is used as it is."""
    from eventsourcing.compressor import ZlibCompressor

    from control.store.domain import EVENT_CLASSES
    from control.store.readmodel import report_event
    from control.store.streams import stream_id

    store = str(tmp_path_factory.mktemp("enc") / "s.db")
    app = LedgerApp(env=store_env(store), clock=lambda: START + timedelta(days=400))
    if zlib:
        app.mapper.compressor = ZlibCompressor()
    app.ensure_read_model(store)
    events = [
        e._replace(source=e.source._replace(quote=quotes[i % len(quotes)])) for i, e in enumerate(events)
    ]
    app.append(RECORD, events)
    stored = list(app.recorder.select_events(stream_id(RECORD)))[1:]  # after the ledger's opening
    assert len(stored) == len(events)
    for s, event in zip(stored, events, strict=True):
        decoded = app.mapper.to_domain_event(s)
        cls = EVENT_CLASSES[event.kind]
        assert type(decoded) is cls
        own = cls(  # the event as the mapper would have stored it: same bytes
            originator_id=s.originator_id,
            originator_version=s.originator_version,
            timestamp=decoded.timestamp,
            report=event.report_dict(),
            recorded_at=decoded.recorded_at,
        )
        assert app.mapper.to_stored_event(own) == s
    rows = app.recorder.query(f"SELECT report, recorded_at FROM {app.recorder.table} ORDER BY position")
    assert [report_event(r) for r in rows] == app.read_events()


TEXTS = st.text()
MAYBE = st.one_of(st.none(), st.text())


@settings(max_examples=200, deadline=None)
@given(ledgers(), st.data())
def test_a_reports_stored_json_is_its_dicts_encoding(events, data):
    """``Event.report_json`` writes the report's JSON directly: byte for byte the read model's
    ``report_json`` of ``report_dict()``, any text in any field (quotes, escapes, non-ASCII,
    control characters, surrogates' neighbours, None where a field may be absent)."""
    from control.model.times import iso
    from control.store.readmodel import report_json

    for e in events:
        e = e._replace(
            id=data.draw(TEXTS),
            actor=data.draw(MAYBE),
            previous=data.draw(MAYBE),
            targets=tuple(data.draw(st.lists(TEXTS, max_size=3))),
            when=data.draw(TEXTS),
            note=data.draw(TEXTS),
            scenario=data.draw(MAYBE),
            source=e.source._replace(file=data.draw(TEXTS), quote=data.draw(TEXTS)),
        )
        text = e.report_json(iso(e.window.earliest), iso(e.window.latest), iso(e.reported_at))
        assert text == report_json(e.report_dict())
        assert json.loads(text) == e.report_dict()


def _rows(app: LedgerApp):
    return app.recorder.query(f"SELECT * FROM {app.recorder.table} ORDER BY stream, position")


def test_rebuilding_is_idempotent(store, run):
    run("replay")
    app = open_app(store)
    before = _rows(app)
    assert run("rebuild").output == f"read model rebuilt: {len(before)} report(s)\n"
    assert _rows(app) == before
    assert run("rebuild").exit_code == 0 and _rows(app) == before
    # a rebuild really rewrites: rows lost or damaged since are made again from the events
    import sqlite3

    with sqlite3.connect(store) as con:
        con.execute(f"DELETE FROM {app.recorder.table} WHERE rowid % 3 = 0")
        con.execute(f"UPDATE {app.recorder.table} SET place = 'Nowhere' WHERE rowid % 3 = 1")
    damaged = _rows(app)
    assert len(damaged) < len(before) and damaged != before
    assert run("rebuild").exit_code == 0 and _rows(app) == before


WRITER = """
import sys
from control.service.sync import open_app
from control.store.config import RECORD
from control.model.events import Event, Source
from control.model.times import Window, parse_instant
app = open_app(sys.argv[1])
run = sys.argv[2]  # each writer's ids are its own: the store already holds the killed ones'
t = parse_instant("2024-12-01T00:00Z")
n = 0
while True:
    batch = [
        Event(f"k{run}-{n}-{i}", "claim", "Tartus", Window(t, t), t, Source("s", f"q{run}-{n}-{i}"), "hts")
        for i in range(50)
    ]
    app.append(RECORD, batch)
    if n == 0:  # one batch is in: the kill lands in a later one, however slow the machine
        print("ready", flush=True)
    n += 1
"""


def test_a_writer_killed_mid_append_leaves_events_and_read_model_in_step(tmp_path):
    store = str(tmp_path / "k.db")
    for delay in (0.3, 0.7, 1.1):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, store, str(delay)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        app = open_app(store)
        events = app.read_events()
        assert app.read() == events
        assert len(events) > len(BASE)
        assert proc.returncode == -signal.SIGKILL  # killed while writing, not dead before
        rows = _rows(app)
        app.rebuild_read_model()
        assert _rows(app) == rows


def test_streamed_json_is_byte_for_byte_the_whole_list():
    from control.views.render import json_lines, to_json

    for items in ([], [{"a": 1}], [{"b": [1, 2], "a": "x\ny"}, {"c": None}], [[1, {"z": 2}], "s"]):
        assert "".join(json_lines(items)) == to_json(items)


def test_events_stream_in_canonical_order_from_the_read_model(run, store):
    from control.fold.projection import canonical_order
    from control.views.render import to_json

    out = run("events", "--json").output
    app = open_app(store)
    expected = sorted(app.read_events(), key=canonical_order)
    assert out == to_json([e.to_dict() for e in expected])


def test_reads_by_place_take_the_places_index_on_every_clock(run, tmp_path):
    """A fold's read of some places' reports (and of the corrections touching them) seeks the
    index by place, or by id, whatever clocks bound it: never the store-wide index by recorded
    time, which would read every report stored by then for each chunk of places. The index by
    place orders each place's reports by window start (a batch of recent reports adds to each
    place's end: see ``readmodel.PLACE_INDEX``)."""
    from control.model import gazetteer
    from control.model.times import parse_instant
    from control.store import placereads, readmodel

    store = str(tmp_path / "s.db")
    assert run("synth", "--places", "30", "--events", "2000", "--seed", "3", "--store", store).exit_code == 0
    app = open_app(store)
    columns = [r[2] for r in app.recorder.query(f"PRAGMA index_info({readmodel.PLACE_INDEX})")]
    assert columns == ["stream", "place", "earliest"]
    asked: list[tuple[str, list[object]]] = []
    query = app.recorder.query

    def spy(sql, params=()):
        asked.append((sql, list(params)))
        return query(sql, params)

    app.recorder.query = spy
    stamp = parse_instant(app.last_recorded())
    with gazetteer.using(app.bound_gazetteer()):
        places = [g.name for g in gazetteer.governorates()][:5]
        known = parse_instant("2020-01-01T00:00Z")
        for known_at, recorded_at in ((None, None), (known, None), (None, stamp)):
            found, _ = placereads.events_of(app, readmodel.RECORD_KEY_TEXT, places, known_at, recorded_at)
            assert found and {e.place for e in found if e.kind != "correction"} <= set(places)
    reads = [(sql, params) for sql, params in asked if f"FROM {readmodel.TABLE} " in sql and " IN (" in sql]
    assert len(reads) >= 3 and any("recorded_at" in sql for sql, _ in reads)
    for sql, params in reads:
        plan = " ".join(str(r[3]) for r in query("EXPLAIN QUERY PLAN " + sql, params))
        assert "control_reports_recorded" not in plan, (sql, plan)
        assert "control_reports_place" in plan or "id=?" in plan, (sql, plan)


#: A writer that commits its first batch, then dies before saying so.
COMMIT_AND_DIE = (
    "import os, pickle, sys\n"
    "from control.store.pool import work\n"
    "work(pickle.load(sys.stdin.buffer))\n"
    "os._exit(1)\n"
)


def _synth_batches(size: int = 300, count: int = 4):
    from control.ingest.synth import synth_events, synth_gazetteer

    atlas = synth_gazetteer(50, 7)
    events = list(synth_events(50, size * count, 7, atlas))
    return atlas, [events[i : i + size] for i in range(0, len(events), size)]


def _appended(app: LedgerApp, tables: tuple[str, ...] = ("control_meta",)) -> tuple[list[object], ...]:
    """What an append leaves in a store: the decoded events and every read-model row written
    beside them."""
    tables = ("control_reports", "control_dirty", "control_counts", "control_touch", *tables)
    found = (app.recorder.query(f"SELECT * FROM {app.recorder.name(t)}") for t in tables)
    return (app.read_events(), *(sorted(tuple(r) for r in rows) for rows in found))


def _writer_answers(monkeypatch) -> list[int]:
    """The writer process's answers (stored events inserted per batch), as they come."""
    from control.store import pool

    answers: list[int] = []
    run_tasks = pool.run_tasks

    def counted(tasks, workers):
        for answer in run_tasks(tasks, workers):
            answers.append(answer)
            yield answer

    monkeypatch.setattr(pool, "run_tasks", counted)
    return answers


@pytest.mark.parametrize(
    "command",
    [None, ["/nonexistent/python"], [sys.executable, "-c", COMMIT_AND_DIE]],
    ids=["writer-process", "no-writer", "writer-dies-after-committing"],
)
def test_batches_appended_through_a_writer_process_are_those_appended_one_by_one(
    tmp_path, monkeypatch, command
):
    """``append_batches`` (synth's path: a writer process inserts one batch while the caller
    encodes the next) leaves the very events and read-model rows that ``append`` leaves batch by
    batch, each batch committed once: also when the writer cannot start, or dies after
    committing a batch it did not report (the caller reads the stream's head and goes on)."""
    from control.store import pool

    atlas, batches = _synth_batches()
    now = START + timedelta(days=3000)
    one = LedgerApp(env=store_env(str(tmp_path / "one.db")), clock=lambda: now)
    bind_gazetteer(one, atlas, "synth:7")
    for batch in batches:
        one.append(RECORD, batch, refresh=False)
    two = LedgerApp(env=store_env(str(tmp_path / "two.db")), clock=lambda: now)
    bind_gazetteer(two, atlas, "synth:7")
    if command is not None:
        monkeypatch.setattr(pool, "COMMAND", command)
    answers = _writer_answers(monkeypatch)
    sizes: list[int] = []
    assert two.append_batches(RECORD, iter(batches), done=sizes.append) == 1200
    assert sizes == [300] * 4
    assert answers == ([300] * 4 if command is None else [])  # stored events inserted by the writer
    assert _appended(two) == _appended(one)


def test_a_batch_that_fails_in_the_writer_process_is_raised_and_none_after_it_is_sent(tmp_path):
    """An id taken by an earlier batch fails its batch in the writer process: the caller gets
    eventsourcing's IntegrityError, the batches before it stay appended, the later ones are not."""
    from eventsourcing.persistence import IntegrityError

    atlas, batches = _synth_batches()
    batches[2] = [*batches[2][:-1], batches[0][0]]  # an id of the first batch
    app = LedgerApp(env=store_env(str(tmp_path / "s.db")))
    bind_gazetteer(app, atlas, "synth:7")
    sizes: list[int] = []
    with pytest.raises(IntegrityError):
        app.append_batches(RECORD, iter(batches), done=sizes.append)
    assert sizes == [300, 300]
    assert {e.id for e in app.read()} - {e.id for e in app.read() if e.kind == "baseline"} == {
        e.id for batch in batches[:2] for e in batch
    }


def test_batches_appended_on_postgresql_through_a_writer_process(tmp_path, monkeypatch, pg_store):
    """The writer process appends to a PostgreSQL store as well: the same events and rows as
    batch-by-batch appends to a SQLite one."""
    atlas, batches = _synth_batches()
    now = START + timedelta(days=3000)
    stores = (str(tmp_path / "s.db"), pg_store)
    apps = [LedgerApp(env=store_env(where), clock=lambda: now) for where in stores]
    for app in apps:
        bind_gazetteer(app, atlas, "synth:7")
    for batch in batches:
        apps[0].append(RECORD, batch, refresh=False)
    answers = _writer_answers(monkeypatch)
    assert apps[1].append_batches(RECORD, iter(batches)) == 1200
    assert answers == [300] * 4
    assert _appended(apps[1], ()) == _appended(apps[0], ())


def test_fewer_batches_than_a_writer_process_pays_for_are_appended_here(tmp_path, monkeypatch):
    """Below ``PIPELINED`` batches no writer process is started (it would cost more to start
    than it saves): the batches are appended here, as ``append`` appends them."""
    from control.store.ledger import PIPELINED

    atlas, batches = _synth_batches(count=PIPELINED - 1)
    app = LedgerApp(env=store_env(str(tmp_path / "s.db")))
    bind_gazetteer(app, atlas, "synth:7")
    answers = _writer_answers(monkeypatch)
    assert app.append_batches(RECORD, [[], *batches]) == 300 * (PIPELINED - 1)
    assert answers == []
    assert {e.id for e in app.read()} >= {e.id for batch in batches for e in batch}

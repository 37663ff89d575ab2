"""The stored states (control.store.states) answer exactly as the pure fold over the events.

On random ledgers (hypothesis) appended in several transactions, some left unrefreshed (as a
killed writer or a batch leaves them): ``app.snapshot(t)`` is byte for byte ``replay(events, t)``
at every breakpoint and between, on SQLite and PostgreSQL; corrections filed under another place
than what they retract, chains of corrections and Rif Dimashq counted as Damascus included.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.ledgers import BASE, HOUR, START, grid_ledgers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from control.fold.phases import capital_phases
from control.fold.projection import replay, transitions
from control.model import gazetteer
from control.model.events import Event, Source
from control.model.times import Window, parse_instant
from control.service.sync import open_app
from control.store import placereads, readmodel, states
from control.store.config import RECORD, store_env
from control.store.ledger import LedgerApp
from control.store.readmodel import STATES, TABLE
from control.store.streams import RECORD_STREAM
from control.views.render import snapshot_text, to_json

PLACES = ("Latakia", "Damascus", "Rif Dimashq", "Homs")


@st.composite
def with_far_corrections(draw: Any) -> list[Event]:
    """A random ledger plus corrections filed under any place, some retracting corrections."""
    events = draw(grid_ledgers(places=PLACES, most=20))
    for n in range(draw(st.integers(min_value=0, max_value=3))):
        target = draw(st.sampled_from(events))
        at = target.reported_at + HOUR * draw(st.integers(min_value=0, max_value=24))
        events.append(
            Event(
                f"far{n}",
                "correction",
                draw(st.sampled_from(PLACES)),
                Window(at, at),
                at,
                Source("gen.txt", f"far correction {n}"),
                targets=(target.id,),
            )
        )
    return events


def _json(snapshot: Any) -> str:
    return json.dumps(snapshot.to_dict(), sort_keys=True)


def _probes(events: list[Event]) -> list[Any]:
    edges = {START - 40 * HOUR, START + 400 * HOUR}
    for e in events:
        for t in (e.window.earliest, e.window.latest, e.window.latest + timedelta(days=7), e.reported_at):
            edges.update((t, t - timedelta(seconds=1)))
    ordered = sorted(edges)
    return ordered[:: max(1, len(ordered) // 24)]  # every breakpoint's neighbourhood is sampled


def _same(app: LedgerApp) -> None:
    events = app.read()
    for t in _probes(events):
        expected = replay(events, t)
        whole = app.snapshot(t)
        assert _json(whole) == _json(expected), t
        assert [c.since_baseline for c in whole.capitals] == [c.since_baseline for c in expected.capitals]
        # the compact answer over many places (replay's text): no source read, the same lines
        light = app.snapshot(t, set())
        atlas = app.bound_gazetteer() or gazetteer.builtin()
        assert snapshot_text(light, atlas, compact=True) == snapshot_text(expected, atlas, compact=True), t
        # one place's answer (replay --place): the others are read light, the holdings are whole
        one = app.snapshot(t, {"Latakia"}, since=False)
        assert (one.holdings, one.disputed) == (expected.holdings, expected.disputed), t
        assert one.capital("Latakia").to_dict() == expected.capital("Latakia").to_dict(), t


def _fill(app: LedgerApp, events: list[Event], refresh: list[bool]) -> None:
    app.ensure_read_model("test")
    app.append(RECORD, BASE)
    size = -(-len(events) // len(refresh))
    for i, fresh in enumerate(refresh):  # in order: a correction never comes before its target
        batch = events[i * size : (i + 1) * size]
        if batch:
            app.append(RECORD, batch, refresh=fresh)


@settings(max_examples=25, deadline=None)
@given(with_far_corrections(), st.lists(st.booleans(), min_size=1, max_size=3))
def test_stored_states_answer_as_the_fold(tmp_path_factory, events, refresh):
    store = str(tmp_path_factory.mktemp("st") / "s.db")
    app = LedgerApp(env=store_env(store))
    _fill(app, events, refresh)
    _same(app)  # dirty places (a batch not refreshed) are folded by the reader
    app.refresh_states()
    assert not placereads.dirty_places(app, states.RECORD_KEY)
    _same(app)
    before = app.recorder.query(f"SELECT * FROM {STATES} ORDER BY stream, place, start")
    reports = app.recorder.query(f"SELECT * FROM {TABLE} ORDER BY stream, position")
    app.rebuild_read_model()  # idempotent, states included
    assert app.recorder.query(f"SELECT * FROM {STATES} ORDER BY stream, place, start") == before
    # the rows a writer built from its reports are those decoded back from the stored events
    assert app.recorder.query(f"SELECT * FROM {TABLE} ORDER BY stream, position") == reports


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=with_far_corrections(), refresh=st.lists(st.booleans(), min_size=1, max_size=3))
def test_stored_states_answer_as_the_fold_on_postgres(pg_store, events, refresh):
    import psycopg

    schema = f"s_{uuid.uuid4().hex[:10]}"  # a fresh schema per example
    url = pg_store.split("?")[0]
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"create schema {schema}")
    try:
        app = LedgerApp(env=store_env(f"{url}?schema={schema}"))
        _fill(app, events, refresh)
        _same(app)
        app.refresh_states()
        _same(app)
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f"drop schema {schema} cascade")


def test_replay_on_the_latest_knowledge_reads_the_stored_states(run, store):
    """The CLI's answer comes from the stored states: change one stored state (never done but
    here) and the answer shows it; the pure fold (--known-at) does not."""
    run("replay")
    app = open_app(store)
    app.recorder.execute_script(
        [(f'UPDATE {STATES} SET state = replace(state, \'"s":"held"\', \'"s":"vacated"\')', ())]
    )
    at = "2024-12-08T00:00Z"
    assert "vacated" in run("replay", "--at", at).output
    assert "vacated" not in run("replay", "--at", at, "--known-at", "2024-12-09T00:00Z").output


STOPPED = """
import sys
from control.service.sync import open_app
from control.store.config import RECORD
from control.model import gazetteer
from control.model.events import Event, Source
from control.model.times import Window, parse_instant
app = open_app(sys.argv[1])
t = parse_instant("2024-12-01T00:00Z")
batch = [Event(f"x{i}", "capture", "Tartus", Window(t, t), t, Source("synth", f"q{i}"), actor="hts")
         for i in range(3)]
app.append(RECORD, batch, refresh=False)
print("appended", flush=True)
import time
time.sleep(60)
"""


def test_a_writer_killed_between_append_and_refresh_leaves_right_answers(tmp_path):
    store = str(tmp_path / "k.db")
    proc = subprocess.Popen([sys.executable, "-c", STOPPED, store], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "appended"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    app = open_app(store)
    assert placereads.dirty_places(app, states.RECORD_KEY) == ["Tartus"]
    _same(app)
    app.refresh_states()  # the next writer's refresh finishes the job
    assert placereads.dirty_places(app, states.RECORD_KEY) == []
    _same(app)


@settings(max_examples=25, deadline=None)
@given(
    with_far_corrections(),
    st.lists(st.booleans(), min_size=1, max_size=3),
    st.one_of(st.none(), st.integers(min_value=-30, max_value=200)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
    st.sampled_from(gazetteer.SEAT_SETTINGS),
    st.sampled_from((1, 7)),
)
def test_other_clocks_are_folded_place_by_place_as_the_fold(
    tmp_path_factory, events, refresh, known_hours, cut, seat, days
):
    """--known-at, --recorded-at, another seat or horizon: folded a chunk of places at a time
    from the read model, the same answer as the fold over every event."""
    store = str(tmp_path_factory.mktemp("fo") / "s.db")
    stamps = iter(START + timedelta(days=400 + i) for i in range(10))
    app = LedgerApp(env=store_env(store), clock=lambda: next(stamps))
    _fill(app, events, refresh)
    known_at = None if known_hours is None else START + known_hours * HOUR
    recorded_at = None if cut is None else START + timedelta(days=400 + cut, hours=1)
    horizon = timedelta(days=days)
    everything = app.read()
    for t in _probes(everything)[::3]:
        expected = replay(everything, t, known_at, seat, recorded_at, horizon)
        assert _json(app.folded_snapshot(t, known_at, recorded_at, seat, horizon)) == _json(expected), t


@settings(max_examples=25, deadline=None)
@given(
    with_far_corrections(),
    st.one_of(st.none(), st.integers(min_value=-30, max_value=200)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
    st.sampled_from(gazetteer.SEAT_SETTINGS),
    st.sampled_from(("csv", "geojson")),
)
def test_the_intervals_export_folded_place_by_place_is_the_whole_ledgers(
    tmp_path_factory, events, known_hours, cut, seat, fmt
):
    """``export --intervals`` folds a chunk of places at a time from the read model and writes
    as it folds: byte for byte the text of every place's timeline over the whole ledger."""
    from control.fold.phases import place_timelines
    from control.fold.projection import DEFAULT_HORIZON
    from control.views import exports

    store = str(tmp_path_factory.mktemp("iv") / "s.db")
    stamps = iter(START + timedelta(days=400 + i) for i in range(10))
    app = LedgerApp(env=store_env(store), clock=lambda: next(stamps))
    _fill(app, events, [True, False])
    known_at = None if known_hours is None else START + known_hours * HOUR
    recorded_at = None if cut is None else START + timedelta(days=400 + cut, hours=1)
    stored = app.read(recorded_at=recorded_at)
    begins = gazetteer.baseline_as_of()
    end = max(max(e.reported_at, e.window.latest + DEFAULT_HORIZON) for e in stored)
    whole = place_timelines(stored, begins, end + timedelta(seconds=1), known_at, False, seat)
    streamed = "".join(exports.interval_chunks(app.timelines(begins, known_at, recorded_at, seat), fmt, seat))
    rows = list(exports.interval_rows(whole, seat))
    if fmt == "csv":
        assert streamed == exports._csv(rows, exports.INTERVAL_COLUMNS)
        return
    features = [
        {
            "type": "Feature",
            "id": row["id"],
            "geometry": {"type": "Point", "coordinates": list(row["_point"])},
            "properties": {k: row[k] for k in exports.INTERVAL_COLUMNS},
        }
        for row in rows
    ]
    assert streamed == to_json({"type": "FeatureCollection", "features": features})


@settings(max_examples=25, deadline=None)
@given(
    with_far_corrections(),
    st.one_of(st.none(), st.integers(min_value=-30, max_value=200)),
    st.sampled_from(gazetteer.SEAT_SETTINGS),
)
def test_changes_and_histories_read_place_by_place_are_the_folds(tmp_path_factory, events, known_hours, seat):
    from control.fold.history import history
    from control.fold.projection import known, transitions

    store = str(tmp_path_factory.mktemp("tr") / "s.db")
    app = LedgerApp(env=store_env(store))
    _fill(app, events, [True])
    known_at = None if known_hours is None else START + known_hours * HOUR
    everything = app.read()
    assert app.transitions(known_at, None, seat) == transitions(everything, known_at, seat)
    for place in PLACES:
        assert history(app.place_events(place, known_at), place) == history(
            known(everything, known_at), place
        )


@settings(max_examples=25, deadline=None)
@given(
    with_far_corrections(),
    st.lists(st.booleans(), min_size=1, max_size=3),
    st.integers(min_value=-40, max_value=100),
    st.integers(min_value=1, max_value=300),
)
def test_the_holdings_chart_from_stored_states_is_the_folds(tmp_path_factory, events, refresh, lo, hours):
    from control.views.chartdata import holdings_from_steps, holdings_series

    store = str(tmp_path_factory.mktemp("ch") / "s.db")
    app = LedgerApp(env=store_env(store))
    _fill(app, events, refresh)
    start, end = START + lo * HOUR, START + (lo + hours) * HOUR
    expected = holdings_series(app.read(), start, end)
    assert holdings_from_steps(*app.chart_inputs(start, end), start, end) == expected


def test_the_holdings_chart_reads_its_steps_from_their_index_alone(run, tmp_path):
    """The chart's steps (states whose controller or status changed) come in time order from
    their own index, which holds those states only: no table row is read, no sort is made."""
    from control.store.readmodel import RECORD_KEY_TEXT

    store = str(tmp_path / "s.db")
    assert run("synth", "--places", "30", "--events", "2000", "--seed", "3", "--store", store).exit_code == 0
    app = open_app(store)
    asked: list[tuple[str, list[Any]]] = []
    query_iter = app.recorder.query_iter

    def spy(sql: str, params: Any = (), size: int = 2000) -> Any:
        asked.append((sql, list(params)))
        return query_iter(sql, params, size)

    app.recorder.query_iter = spy
    govs, updates, _, _ = app.chart_inputs(
        parse_instant("2017-01-01T00:00Z"), parse_instant("2024-01-01T00:00Z")
    )
    assert len(updates) > len(govs)
    (sql, params), *_ = [(q, p) for q, p in asked if f"FROM {STATES}" in q]
    plan = " ".join(str(r[3]) for r in app.recorder.query("EXPLAIN QUERY PLAN " + sql, params))
    assert f"COVERING INDEX {STATES}_steps" in plan and "TEMP B-TREE" not in plan, plan
    (ddl,) = app.recorder.query("SELECT sql FROM sqlite_master WHERE name = %s", [f"{STATES}_steps"])[0]
    steps = app.recorder.query(
        f"SELECT COUNT(*), SUM(step) FROM {STATES} WHERE stream = %s", [RECORD_KEY_TEXT]
    )[0]
    assert ddl.endswith("WHERE step = 1") and steps[1] < steps[0]  # a partial index: the steps only


def test_the_holdings_chart_command_draws_the_folds_bytes(run, store, tmp_path):
    """The command's stored path (latest knowledge) draws byte for byte the fold's chart."""
    from control.views.charts import draw
    from control.views.display import default_range
    from control.views.plotting import save

    assert run("chart", "holdings", "--out", str(tmp_path / "a.svg")).exit_code == 0
    events = open_app(store).read()
    lo, hi = default_range(gazetteer.builtin(), None)
    figure = draw(gazetteer.builtin(), "holdings", events, hi, None, lo, hi, gazetteer.DEFAULT_SEAT)
    save(figure, tmp_path / "b.svg", "svg")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


@pytest.mark.parametrize(
    "fixture, added",
    [
        ("store_v2.sqlite", "homs-claim-1"),
        ("store_v7.sqlite", "homs-claim-7"),
        ("store_v11.sqlite", "homs-claim-11"),
    ],
)
def test_a_store_written_by_the_previous_main_opens_and_answers_the_same(
    run, tmp_path, monkeypatch, fixture, added
):
    """Stores of earlier releases (read model version 2: no stored states; version 7: stored
    states of another shape, whose new indexes would not apply) are rebuilt on first use; a store
    of the current version written before SQLite's states became WITHOUT ROWID tables (version
    11, 4 KiB pages) is read as it is. Their answers are those of the pure fold over their
    events, every six hours of the record."""
    import shutil

    fixtures = Path(__file__).resolve().parent / "fixtures"
    old = tmp_path / "old.sqlite"
    shutil.copy(fixtures / fixture, old)
    monkeypatch.setenv("CONTROL_STORE", str(old))
    assert run("replay", "--at", "2024-12-08T00:00Z").exit_code == 0  # the upgrade
    app = open_app(str(old))
    events = app.read()
    assert added in {e.id for e in events}
    assert app.read() == app.read_events()
    t = START - 48 * HOUR
    while t < START + 14 * 24 * HOUR:
        assert _json(app.snapshot(t)) == _json(replay(events, t)), t
        t += 6 * HOUR
    out = run("replay", "--at", "2024-12-08T00:00Z", "--json").output
    assert json.loads(out) == json.loads(_json(replay(events, parse_instant("2024-12-08T00:00Z"))))


def _shape(path: Path) -> tuple[int, dict[str, str]]:
    """A SQLite store's page size and the DDL of its derived states' tables and indexes."""
    import sqlite3

    with closing(sqlite3.connect(path)) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        found = db.execute("SELECT name, sql FROM sqlite_master WHERE name LIKE 'control_states%'")
        return size, {name: sql for name, sql in found if sql}


def test_a_new_sqlite_store_is_made_for_bulk_writes_and_an_old_one_is_reshaped_on_first_use(run, tmp_path):
    """A new store has 8 KiB pages, its states in a WITHOUT ROWID table (no separate index of
    its key), the record's rows keyed by a one-letter stream key and indexed by place and start;
    a store of an earlier release (read model 11: states in a rowid table, 32-character keys, the
    older index by place) is rebuilt into that shape on first use, keeping its page size (fixed
    once in WAL mode), and answers the same before and after ``control rebuild``."""
    import shutil
    import sqlite3

    def keys(path: Path) -> list[str]:
        with closing(sqlite3.connect(path)) as db:
            return sorted(
                {
                    r[0]
                    for t in ("control_reports", "control_states")
                    for r in db.execute(f"SELECT stream FROM {t}")
                }
            )

    new = tmp_path / "new.sqlite"
    assert run("replay", "--at", "2024-12-08T00:00Z", "--store", str(new)).exit_code == 0
    size, tables = _shape(new)
    assert size == 8192
    assert "WITHOUT ROWID" in tables["control_states"] and "control_states_summary" in tables
    assert keys(new) == [readmodel.RECORD_KEY_TEXT]
    old = tmp_path / "old.sqlite"
    shutil.copy(Path(__file__).resolve().parent / "fixtures" / "store_v11.sqlite", old)
    size, tables = _shape(old)
    assert size == 4096 and "WITHOUT ROWID" not in tables["control_states"]
    assert keys(old) == [RECORD_STREAM.hex]
    first = run("replay", "--at", "2024-12-08T00:00Z", "--json", "--store", str(old)).output
    size, tables = _shape(old)
    assert size == 4096 and "WITHOUT ROWID" in tables["control_states"] and "control_states_summary" in tables
    assert keys(old) == [readmodel.RECORD_KEY_TEXT]
    with closing(sqlite3.connect(old)) as db:  # the index by place of read model 13
        place_index = [r[2] for r in db.execute(f"PRAGMA index_info({readmodel.PLACE_INDEX})")]
    assert place_index == ["stream", "place", "earliest"]
    assert run("rebuild", "--store", str(old)).exit_code == 0
    assert run("replay", "--at", "2024-12-08T00:00Z", "--json", "--store", str(old)).output == first


def _serial_then_parallel(run: Any, store: str, monkeypatch: Any) -> tuple[LedgerApp, str, list[Any]]:
    """A synthetic store rebuilt with no worker: the app, the query of its stored states and
    their rows; then two workers are set for refreshes of more than ten places."""
    assert run("synth", "--places", "120", "--events", "3000", "--seed", "5", "--store", store).exit_code == 0
    app = LedgerApp(env=store_env(store))
    query = f"SELECT * FROM {app.recorder.name(STATES)} ORDER BY stream, place, start"
    monkeypatch.setenv(states.WORKERS_ENV, "1")
    app.rebuild_read_model()
    serial = app.recorder.query(query)
    monkeypatch.setattr(states, "PARALLEL_PLACES", 10)
    monkeypatch.setattr(states, "PARALLEL_REPORTS", 100)
    monkeypatch.setenv(states.WORKERS_ENV, "2")
    return app, query, serial


def _large_refresh(run: Any, store: str, monkeypatch: Any) -> None:
    """A whole store's refresh (rebuild, synth) folds in worker processes, each on its own
    connection, and writes chunks of places in several transactions: the stored rows are
    exactly those the fold here writes in one, and answers stay the fold's."""
    app, query, serial = _serial_then_parallel(run, store, monkeypatch)
    monkeypatch.setattr(states, "WRITE_ROWS", 500)  # and in several transactions
    real = states.fold_places

    def not_here(*args: Any) -> Any:
        raise AssertionError("folded in the parent process")

    monkeypatch.setattr(states, "fold_places", not_here)  # the workers import their own
    app.rebuild_read_model()
    monkeypatch.setattr(states, "fold_places", real)
    assert app.recorder.query(query) == serial
    with gazetteer.using(app.bound_gazetteer()):
        events = app.read()
        for t in (START, START + 24 * HOUR * 400, START + 24 * HOUR * 1500):
            assert _json(app.snapshot(t)) == _json(replay(events, t)), t
        # readers' folds of a large store (another knowledge, the holdings chart's phases) are
        # worked in the workers too, with the fold's answers
        monkeypatch.setattr(states, "CHUNK_WORK", dict.fromkeys(states.CHUNK_WORK, not_here))
        known = START + 24 * HOUR * 1000
        for t in (START + 24 * HOUR * 400, START + 24 * HOUR * 1500):
            assert _json(app.folded_snapshot(t, known)) == _json(replay(events, t, known)), t
        lo, hi = START + 24 * HOUR * 300, START + 24 * HOUR * 900
        steps, moves = app.phases(lo, hi, known)
        # as charts draw them (no reports), in the fold's order
        assert moves == [
            states.Move(t.governorate, t.capital, t.before, t.after, t.window)
            for t in transitions(events, known)
        ]
        assert [(g.name, pairs) for g, pairs in steps] == [
            (g.name, pairs) for g, pairs in capital_phases(events, lo, hi, known)
        ]


def test_a_large_refresh_folds_in_worker_processes_to_the_same_rows(run, tmp_path, monkeypatch):
    _large_refresh(run, str(tmp_path / "w.db"), monkeypatch)


def test_a_large_refresh_folds_in_worker_processes_on_postgres(run, pg_store, monkeypatch):
    """The same on PostgreSQL, where workers that made the tables again raced each other in the
    catalog ("tuple concurrently updated") and left every place dirty. A bulk refresh leaves the
    planner the states' new size (ANALYZE): till autovacuum came, the chart's query was planned
    for empty tables (7.5 s instead of 1.0 s at 10k)."""
    monkeypatch.setattr(states, "BULK_ROWS", 1000)  # this store's refresh is a bulk one
    _large_refresh(run, pg_store, monkeypatch)
    app = LedgerApp(env=store_env(pg_store))
    assert not placereads.dirty_places(app, states.RECORD_KEY)
    schema = app.recorder.datastore.schema
    found = app.recorder.query(
        "SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        [schema, STATES],
    )
    sizes = dict(found)
    rows = app.recorder.query(f"SELECT COUNT(*) FROM {app.recorder.name(STATES)}")[0][0]
    assert sizes[STATES] == rows > 0, sizes  # analyzed: the planner's count is the real one


def test_fold_workers_serve_a_users_own_program_which_runs_once(run, tmp_path):
    """Workers are children of this package alone (``control.store.pool``), never a re-import of
    the caller's main module: a user's script without a ``__main__`` guard, and a program read
    from standard input, both fold in workers (the fold is made to fail in the program itself),
    and each runs its own lines once. A worker imports the caller's very package, though another
    ``control`` comes first on the path it inherits (PyPI has one). One per core up to four by
    default."""
    store = str(tmp_path / "u.db")
    assert run("synth", "--places", "120", "--events", "3000", "--seed", "5", "--store", store).exit_code == 0
    ran = tmp_path / "ran.txt"
    other = tmp_path / "other" / "control"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("raise SystemExit('another control package')\n", encoding="utf-8")
    root = str(Path(states.__file__).resolve().parents[2])
    script = (
        f"import sys; sys.path.insert(0, {root!r})  # this package, found by the program itself\n"
        "import control.store.states as states\n"
        "from control.store.config import store_env\n"
        "from control.store.ledger import LedgerApp\n"
        f"open({str(ran)!r}, 'a').write('ran\\n')\n"
        "states.PARALLEL_PLACES, states.PARALLEL_REPORTS = 10, 100\n"
        "def not_here(*args):\n"
        "    raise AssertionError('folded in the program itself')\n"
        "states.fold_places = not_here\n"
        f"app = LedgerApp(env=store_env({store!r}))\n"
        "print(app.rebuild_read_model(), len(states.dirty_places(app, states.RECORD_KEY)))\n"
    )
    program = tmp_path / "analysis.py"
    program.write_text(script, encoding="utf-8")
    env = dict(os.environ, CONTROL_WORKERS="2", PYTHONPATH=str(other.parent))
    for cmd, text in (([sys.executable, str(program)], None), ([sys.executable, "-"], script)):
        done = subprocess.run(
            cmd, input=text, text=True, capture_output=True, timeout=120, env=env, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[1] == "0", done.stdout  # no place left dirty
    assert ran.read_text(encoding="utf-8") == "ran\n" * 2
    app = LedgerApp(env=store_env(store))
    with gazetteer.using(app.bound_gazetteer()):
        events = app.read()
        t = START + 24 * HOUR * 800
        assert _json(app.snapshot(t)) == _json(replay(events, t))
    defaults = {k: v for k, v in os.environ.items() if k != states.WORKERS_ENV}
    code = "from control.store import states; print(states._workers())"
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=defaults
    )
    assert found.stdout.strip() == str(min(os.cpu_count() or 1, 4)), found.stderr


#: A worker that answers its first task, then dies.
ONE_AND_DIE = (
    "import pickle, sys\n"
    "from control.store.pool import work\n"
    "task = pickle.load(sys.stdin.buffer)\n"
    "sys.stdout.buffer.write(pickle.dumps((True, work(task))))\n"
    "sys.stdout.buffer.flush()\n"
)


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-c", "import sys; sys.exit(3)"],
        [sys.executable, "-c", ONE_AND_DIE],
        ["/nonexistent/python"],
    ],
    ids=["cannot-start", "dies-after-one", "no-interpreter"],
)
def test_workers_that_cannot_start_or_die_leave_the_rest_to_the_writer(run, tmp_path, monkeypatch, command):
    """A worker that cannot start, or dies midway, never hangs the refresh nor loses a chunk:
    the writer folds what was not answered, to the very rows a serial refresh writes, and no
    place is left dirty. An exception in a worker's work is raised in the caller."""
    from control.store import pool

    app, query, serial = _serial_then_parallel(run, str(tmp_path / "p.db"), monkeypatch)
    monkeypatch.setattr(pool, "COMMAND", command)
    app.rebuild_read_model()
    assert app.recorder.query(query) == serial
    assert not placereads.dirty_places(app, states.RECORD_KEY)
    monkeypatch.undo()
    with pytest.raises(KeyError, match="no such work"):
        list(
            pool.run_tasks(
                [(states.FOLD_TASK, app.env, states.RECORD_KEY, ["Place 0001"], "no such work", ())], 1
            )
        )


def test_fold_workers_end_with_a_caller_killed_9(tmp_path):
    """A writer killed with -9 mid-refresh leaves no worker behind: each ends at the end of its
    input."""
    import time

    store = str(tmp_path / "k.db")
    script = (
        "import sys\n"
        "import control.store.states as states\n"
        "from control.cli import main\n"
        "states.PARALLEL_PLACES, states.PARALLEL_REPORTS, states.FOLD_CHUNK = 10, 100, 2\n"
        f"main(['synth', '--places', '400', '--events', '20000', '--seed', '3', '--store', {store!r}])\n"
    )
    env = dict(os.environ, CONTROL_WORKERS="2")
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while not workers and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        workers = _children(proc.pid)
    assert workers, "no worker started"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 20
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)


def _children(pid: int) -> list[int]:
    """The live ``control.store.pool`` workers whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"control.store.pool" in cmd:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_refresh_that_meets_a_busy_store_is_said_not_hidden(run, tmp_path, monkeypatch):
    """A bulk write whose refresh meets a busy store still succeeds (its reports are stored and
    every answer stays right), and says on stderr how many places readers must fold meanwhile."""
    from eventsourcing.persistence import OperationalError

    def busy(*args: Any) -> int:
        import sqlite3

        locked = sqlite3.OperationalError("database is locked")
        locked.sqlite_errorcode = 5  # SQLITE_BUSY: the code, not the words, says "busy"
        raise OperationalError(str(locked)) from locked

    monkeypatch.setattr(states, "refresh", busy)
    store = str(tmp_path / "busy.db")
    result = run("synth", "--places", "30", "--events", "300", "--seed", "2", "--store", store)
    assert result.exit_code == 0, result.output
    assert "synth: note: 30 place(s) not refreshed" in result.stderr
    # one report added meanwhile: stored, and said the same way (its place joins the others)
    article = tmp_path / "wire.txt"
    article.write_text("Kurdish forces said they hold the city.\n", encoding="utf-8")
    added = run(
        "add", "--id", "busy-1", "--kind", "claim", "--place", "Place 0001", "--actor", "kurds",
        "--earliest", "2020-01-01T00:00Z", "--latest", "2020-01-01T06:00Z",
        "--reported-at", "2020-01-02T00:00Z", "--file", str(article),
        "--quote", "Kurdish forces said they hold the city.", "--store", store,
    )  # fmt: skip
    assert added.exit_code == 0 and "added busy-1" in added.output, added.output
    assert "add: note: 30 place(s) not refreshed" in added.stderr
    monkeypatch.undo()
    done = run("rebuild", "--store", store)
    assert done.exit_code == 0 and "not refreshed" not in done.stderr


@settings(max_examples=150, deadline=None)
@given(grid_ledgers(places=("Latakia",), most=30), st.booleans())
def test_a_stored_states_text_is_the_compact_json_of_its_fields(events, with_base):
    """``encode`` puts a state's text together from parts remembered across the place's states;
    each text is exactly the compact JSON of the state's fields (``encode_dict``), state by
    state in the order a refresh encodes them (one memo for the place)."""
    from control.fold.phases import place_states
    from control.store.statecodec import encode, encode_dict

    g = gazetteer.resolve_place("Latakia")
    mine = ([e for e in BASE if e.place == g.name] if with_base else []) + [
        e for e in events if e.kind != "correction"
    ]
    memo: dict[Any, Any] = {}
    for _, state in place_states(g, mine, START - 40 * HOUR, START + 220 * HOUR):
        text = encode(state, memo)
        assert text == json.dumps(encode_dict(state), separators=(",", ":"), ensure_ascii=False)


def test_bulk_folds_run_the_garbage_collector_less_often_and_then_as_before(store, monkeypatch):
    """A refresh folds each chunk of places with the cyclic collector's gen-0 threshold raised
    (it took a fifth of the fold's time at 1M), and leaves the process's threshold as it was,
    also when the fold fails."""
    import gc

    app = open_app(store)
    seen = []
    rows_of = states.CHUNK_WORK["rows"]

    def spy(*args):
        seen.append(gc.get_threshold()[0])
        return rows_of(*args)

    monkeypatch.setitem(states.CHUNK_WORK, "rows", spy)
    before = gc.get_threshold()
    app.recorder.execute_script(
        [
            ("INSERT INTO control_dirty VALUES (%s, %s)", (states.RECORD_KEY, g.name))
            for g in gazetteer.governorates()
        ]
    )
    assert states.refresh(app, states.RECORD_KEY) == 14
    assert seen and all(t >= readmodel.BULK_GC_THRESHOLD for t in seen)
    assert gc.get_threshold() == before

    def broken(*args):
        raise RuntimeError("fold failed")

    monkeypatch.setitem(states.CHUNK_WORK, "rows", broken)
    app.recorder.execute_script([("INSERT INTO control_dirty VALUES (%s, %s)", (states.RECORD_KEY, "Homs"))])
    with pytest.raises(RuntimeError):
        states.refresh(app, states.RECORD_KEY)
    assert gc.get_threshold() == before


def test_reading_the_whole_ledger_runs_the_collector_less_often_and_then_as_before(store, monkeypatch):
    """``read()`` makes every report at once: the collector's threshold is raised meanwhile and
    restored after, the events unchanged."""
    import gc

    import control.store.reports as reports

    app = open_app(store)
    expected = app.read()
    seen = []
    decode = reports.report_event

    def spy(row):
        seen.append(gc.get_threshold()[0])
        return decode(row)

    monkeypatch.setattr(reports, "report_event", spy)
    before = gc.get_threshold()
    assert app.read() == expected
    assert seen and all(t >= readmodel.BULK_GC_THRESHOLD for t in seen)
    assert gc.get_threshold() == before


def test_worker_chunks_are_sized_by_reports_per_place():
    """A worker's task holds about FOLD_REPORTS reports: 100 places of a synthetic ledger's 500
    reports each (as before), 2,000 of a gazetteer's places with a baseline each (the tasks' own
    cost had been most of loading 100,000 places), and always several tasks per worker."""
    assert states.chunk_size(1_000_000, 2_000, 2_000, 2) == states.FOLD_CHUNK == 100
    assert states.chunk_size(100_014, 100_014, 100_014, 2) == states.MAX_FOLD_CHUNK
    assert states.chunk_size(100_000, 100_000, 4_000, 2) == 500  # four tasks a worker
    assert states.chunk_size(200_000, 14, 14, 2) == states.FOLD_CHUNK  # deep places: as before


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_refresh_here_folds_deep_places_a_few_at_a_time_and_writes_by_size(
    monkeypatch, tmp_path, backend, request
):
    """Deep places (thousands of reports each) are folded and written one at a time, their state
    rows made as they are inserted, so a refresh's memory follows one deep place's fold, not its
    encoded states nor all places'; the states stored are the same."""
    from control.service.sync import open_app as open_store

    where = str(tmp_path / "deep.db") if backend == "sqlite" else request.getfixturevalue("pg_store")
    app = open_store(where)
    seen: list[int] = []
    real = states.CHUNK_WORK["place_rows"]

    def counted(app_: Any, stream: str, chunk: Any, *args: Any) -> Any:
        seen.append(len(chunk))
        return real(app_, stream, chunk, *args)

    before = app.recorder.query(f"SELECT * FROM {app.recorder.name('control_states')} ORDER BY place, start")
    monkeypatch.setattr(states, "HERE_REPORTS", 1)  # every place counts as deep
    monkeypatch.setattr(states, "WRITE_CHARS", 1)  # and every chunk is written at once
    monkeypatch.setitem(states.CHUNK_WORK, "place_rows", counted)
    app.recorder.execute_script(
        [(f"INSERT INTO {app.recorder.name('control_dirty')} SELECT stream, place FROM "
          f"{app.recorder.name('control_states')} GROUP BY stream, place", [])]
    )  # fmt: skip
    assert app.refresh_states() == 14
    assert seen == [1] * 14
    after = app.recorder.query(f"SELECT * FROM {app.recorder.name('control_states')} ORDER BY place, start")
    assert after == before

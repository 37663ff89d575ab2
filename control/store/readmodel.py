"""The read model: one indexed row per stored report, written in the same transaction as the event.

The event store (eventsourcing's ``stored_events``) stays the truth. Beside it, table
``control_reports`` holds one row per report event: its stream and position (the event's version,
so append order), id, place, kind, actor, window, report time, recorded time, file and the report
as JSON. The rows are written by the application recorder itself, inside the transaction that
inserts the events (SQLite and PostgreSQL alike), so the two can never disagree, not even after a
crash between statements (``kill -9`` is tested). What it gives:

* ids unique by a primary key (a second writer's duplicate fails the whole transaction);
* validation by index: an id, a duplicate report, the next free id, the last recorded time;
* reads of one place's reports, or of what was recorded by a time, without decoding everything.

``control rebuild`` drops and rewrites the rows from the events, reading them through
eventsourcing's mapper (so older event versions are upcast); it is idempotent. A store written
before the read model existed is rebuilt on first use (the version in ``control_meta`` says so).
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from control.model.events import Event
from control.model.times import iso
from control.store.streams import RECORD_STREAM

#: Bump when the rows' shape changes: stores are then rebuilt on first use.
READ_MODEL_VERSION = "14"  # 14: each stored state carries the conflicts bearing on it
TABLE = "control_reports"
META = "control_meta"
#: Each place's whole state from each of its breakpoints on (see control.store.states).
STATES = "control_states"
#: Each place's conflicting changes, before read model 14; left empty since (each stored state
#: carries the conflicts that bear on it), still cleared with a place's other derived rows.
CONFLICTS = "control_conflicts"
#: Each place's effective changes of control (what charts draw), latest knowledge.
MOVES = "control_moves"
#: Places whose states are behind their reports (marked in the events' transaction).
DIRTY = "control_dirty"
#: For each correction, its own place and every place whose reports it retracts (through chains
#: of corrections).
TOUCH = "control_touch"
#: Reports per stream and day of window start (the "events used" count of an answer, by index).
COUNTS = "control_counts"
#: Stored events read per page by the rebuild.
PAGE = 5000
#: A write of at least this many rows is a bulk write: on SQLite, its connection's page cache
#: grows to :data:`BULK_CACHE_KIB` first. Rows land in random places of the indexes (by place,
#: id, time); with SQLite's default 2 MiB cache each batch rewrote most of their pages, so the
#: append rate fell by two thirds from 10k to 1M reports.
BULK_ROWS = 5000
#: Row ids per statement of a read by id (under SQLite's 32,766 parameters).
ROWIDS = 20_000
BULK_CACHE_KIB = 256 * 1024
#: Python's cyclic collector runs a collection each time this many containers are made, in bulk
#: reads, folds and writes (:func:`fewer_collections`); its default, 700, made it a fifth of the
#: refresh's fold: a chunk's events and states are hundreds of thousands of live objects.
BULK_GC_THRESHOLD = 100_000


#: A new SQLite store's page size. Each batch lands in random places of the reports' indexes (by
#: place, id, time) and of the states' (by time), so a commit writes most of their pages out: with
#: 8 KiB pages instead of SQLite's 4 KiB, appending 1M reports took 39 s instead of 44 s, the
#: states' refresh about as long (PostgreSQL's pages are 8 KiB too). Fixed once the store is in WAL
#: mode, so it is set by :func:`prepare_sqlite` before eventsourcing opens the file.
SQLITE_PAGE_SIZE = 8192
COLUMNS = (
    "stream", "position", "id", "place", "kind", "actor", "earliest", "latest", "reported_at",
    "recorded_at", "file", "report",
)  # fmt: skip


def rows_for(stored_events: Iterable[StoredEvent]) -> list[tuple[Any, ...]]:
    """Read-model rows for the report events among ``stored_events`` (current version only:
    older versions never reach the recorder again; the rebuild upcasts them first)."""
    out = []
    for s in stored_events:
        if "Reported" not in s.topic and "Recorded" not in s.topic:
            continue
        state = json.loads(s.state)
        report = state.get("report")
        if report is None or "recorded_at" not in state:
            continue
        out.append(row(_stream(s.originator_id), s.originator_version, report, state["recorded_at"]))
    return out


def digests_for(stored_events: Iterable[StoredEvent]) -> list[tuple[str, str]]:
    """(meta key, digest) for the record checksums among ``stored_events`` (the latest wins)."""
    out = []
    for s in stored_events:
        if s.topic.endswith("RecordLoaded"):
            out.append((f"digest:{_stream(s.originator_id)}", str(json.loads(s.state)["digest"])))
    return out


#: The report's JSON in the read model: eventsourcing's own JSON form of the stored report (keys
#: in the report's order, no spaces, UTF-8 as is), so an append encodes each report once for both.
report_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run Python's cyclic garbage collector less often meanwhile (gen-0 threshold
    :data:`BULK_GC_THRESHOLD`), then as before. Reference counting still frees every object as
    soon as it is dropped (the fold and the writers make no cycles): only the collector's walks
    over the live objects become rarer."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], BULK_GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def prepare_sqlite(path: str, timeout: float) -> None:
    """Give a new (absent or empty) SQLite store file :data:`SQLITE_PAGE_SIZE` pages and WAL mode,
    before eventsourcing's first connection sets WAL with the default page size. An existing
    store is left as it is (its pages stay as they were made); so is a file another process is
    making at the same moment (its store gets the same page size, or the default: answers are
    the same either way)."""
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        if os.path.getsize(path) > 0:
            return
    except OSError:  # absent: made here; a folder or worse: refused by the store check
        if os.path.exists(path):
            return
    try:
        connection = sqlite3.connect(path, timeout=timeout)
    except sqlite3.Error:
        return
    try:
        connection.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
        connection.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error:
        pass  # busy: another process is making the store
    finally:
        connection.close()


def known_filter(known_at: Any, recorded_at: Any, keyed: bool = False) -> tuple[str, list[Any]]:
    """SQL (``AND ...``, ``%s`` placeholders) and its parameters for
    :func:`control.fold.projection.known` on ``control_reports``' columns: reported by
    ``known_at``, stored by ``recorded_at`` (either may be None: no bound).

    ``keyed``: the query also names its places or ids, whose index finds its rows. The store's
    clock is then bounded through an expression, which no index serves: SQLite's planner (no
    statistics) otherwise took the index by ``recorded_at`` and read every report stored by
    then, for each chunk of places (``replay --recorded-at`` 1.75 s against 1.16 s for
    ``--known-at`` on 100k reports, and growing with the ledger)."""
    sql, params = "", []
    for column, value in (("reported_at", known_at), ("recorded_at", recorded_at)):
        if value is not None:
            bounded = f"{column} || ''" if keyed and column == "recorded_at" else column
            sql += f" AND {bounded} <= %s"
            params.append(iso(value))
    return sql, params


#: What a read selects to make an Event of a row (:func:`report_event`).
REPORT = "report, recorded_at"


def report_event(found: Sequence[Any]) -> Event:
    """The Event of a row selected as :data:`REPORT` (the report's JSON, then its recorded time)."""
    return Event.from_stored(json.loads(found[0]), found[1])


#: Rows whose JSON :func:`report_events` parses in one call: the gain is the calls saved, and a
#: bounded batch keeps the joined text small whatever the rows (a deep place has hundreds of
#: thousands of reports).
PARSE_BATCH = 1_000


def report_events(rows: Sequence[Sequence[Any]]) -> list[Event]:
    """:func:`report_event` of each row, their JSON parsed :data:`PARSE_BATCH` rows per call (a
    call each costs an answer citing thousands of reports a fifth of its reading)."""
    out: list[Event] = []
    for i in range(0, len(rows), PARSE_BATCH):
        part = rows[i : i + PARSE_BATCH]
        found = json_list(row[0] for row in part)
        out += [Event.from_stored(data, row[1]) for data, row in zip(found, part, strict=True)]
    return out


def json_list(texts: Iterable[str]) -> list[Any]:
    """The values of JSON ``texts`` (each one value), parsed in one call."""
    return json.loads("[" + ",".join(texts) + "]")


def row(
    stream: str, position: int, report: dict[str, Any], recorded_at: str, text: str | None = None
) -> tuple[Any, ...]:
    """The read model's row of one stored report; ``text``: :func:`report_json` of ``report``,
    when the writer already has it."""
    return (
        stream,
        position,
        report["id"],
        report["place"],
        report["kind"],
        report.get("actor") or "",
        report["window"]["earliest"],
        report["window"]["latest"],
        report["reported_at"],
        recorded_at,
        report["file"],
        report_json(report) if text is None else text,
    )


def event_row(
    stream: str, position: int, event: Event, times: tuple[str, str, str], recorded_at: str, text: str
) -> tuple[Any, ...]:
    """:func:`row` of ``event.report_dict()``, from the event itself (``times``: its window's
    ``iso`` texts and its report time's, made once for its JSON ``text`` and its row)."""
    earliest, latest, reported_at = times
    return (
        stream,
        position,
        event.id,
        event.place,
        event.kind,
        event.actor or "",
        earliest,
        latest,
        reported_at,
        recorded_at,
        event.source.file,
        text,
    )


#: The reports' index by place. By window start within a place: a batch of recent reports adds
#: to the end of each place's entries, so a commit rewrites about one page per place it touches.
#: Keyed (place, kind, actor, earliest, latest) before read model 13, for the duplicate check
#: alone, each batch's entries landed among every place's kinds and actors and each commit
#: rewrote most of the index: appending 1M reports took 36.5-38.5 s against 31.4 s. The
#: duplicate check (:meth:`KnownReports.similar`) seeks place and start and reads the few rows.
PLACE_INDEX = f"{TABLE}_place"


def place_index(name: Callable[[str], str]) -> str:
    """DDL of :data:`PLACE_INDEX` (``name`` qualifies the table: PostgreSQL's schema)."""
    return f"CREATE INDEX IF NOT EXISTS {PLACE_INDEX} ON {name(TABLE)} (stream, place, earliest)"


#: The tables derived from the events alone (dropped and made anew by a rebuild).
DERIVED = (STATES, CONFLICTS, MOVES, DIRTY, TOUCH, COUNTS)


def extra_tables(name: Callable[[str], str], indexes: bool = True, sqlite: bool = False) -> list[str]:
    """DDL of the tables beside ``control_reports`` (same text for SQLite and PostgreSQL);
    ``name`` qualifies a table name (PostgreSQL's schema).

    Without ``indexes``: the tables only, as the recorders create them on opening a store. A
    store of an older read-model version keeps its derived tables (perhaps of another shape, so
    an index of the new shape would not apply) until its rebuild, which drops them and makes
    them anew with their indexes (see ``LedgerApp.rebuild_read_model``).

    On SQLite (``sqlite``) the states, moves and conflicts are ``WITHOUT ROWID`` tables: kept in
    their primary key's order (place, then time), they need no separate index of that key, as a
    rowid table does; each state row is written into three B-trees instead of four (the states'
    refresh of 1M reports wrote 76 MB less)."""
    keyed = " WITHOUT ROWID" if sqlite else ""
    tables = [
        f"CREATE INDEX IF NOT EXISTS {TABLE}_earliest ON {name(TABLE)} (stream, earliest)",
        f"CREATE TABLE IF NOT EXISTS {name(STATES)} (stream TEXT NOT NULL, place TEXT NOT NULL, "
        "start TEXT NOT NULL, controller TEXT, status TEXT NOT NULL, step INTEGER NOT NULL, "
        "since TEXT, since_latest TEXT, since_baseline INTEGER NOT NULL, state TEXT NOT NULL, "
        f"PRIMARY KEY (stream, place, start)){keyed}",
        f"CREATE TABLE IF NOT EXISTS {name(MOVES)} (stream TEXT NOT NULL, place TEXT NOT NULL, "
        "seq INTEGER NOT NULL, earliest TEXT NOT NULL, latest TEXT NOT NULL, capital TEXT NOT NULL, "
        f"before TEXT, after TEXT, PRIMARY KEY (stream, place, seq)){keyed}",
        f"CREATE TABLE IF NOT EXISTS {name(CONFLICTS)} (stream TEXT NOT NULL, place TEXT NOT NULL, "
        "seq INTEGER NOT NULL, earliest TEXT NOT NULL, change TEXT NOT NULL, "
        f"PRIMARY KEY (stream, place, seq)){keyed}",
        f"CREATE TABLE IF NOT EXISTS {name(DIRTY)} (stream TEXT NOT NULL, place TEXT NOT NULL, "
        "PRIMARY KEY (stream, place))",
        f"CREATE TABLE IF NOT EXISTS {name(TOUCH)} (stream TEXT NOT NULL, id TEXT NOT NULL, "
        "place TEXT NOT NULL, PRIMARY KEY (stream, id, place))",
        f"CREATE TABLE IF NOT EXISTS {name(COUNTS)} (stream TEXT NOT NULL, day TEXT NOT NULL, "
        "n BIGINT NOT NULL, PRIMARY KEY (stream, day))",
    ]
    if not indexes:
        return tables
    return [
        *tables,
        # the holdings chart reads every place's steps (step = 1: controller or status changed),
        # in time order, from this index alone; it holds those rows only (a fifth of the states
        # are not steps: the refresh of 1M reports writes a fifth fewer entries into this, its
        # costliest index, whose entries land all over it)
        f"CREATE INDEX IF NOT EXISTS {STATES}_steps ON {name(STATES)} "
        "(stream, start, place, controller, status, step) WHERE step = 1",  # step: covered
        # a one-line answer per place at any instant: one seek of this index, no table row (on
        # SQLite too: a seek of the WITHOUT ROWID table reads its wider rows' pages, and a
        # compact replay of 2,000 places took 7% longer from a new process)
        f"CREATE INDEX IF NOT EXISTS {STATES}_summary ON {name(STATES)} "
        "(stream, place, start, status, since, since_latest, since_baseline, controller)",
        # and the moves reaching into a period, in transitions' order, from this one alone
        f"CREATE INDEX IF NOT EXISTS {MOVES}_latest ON {name(MOVES)} "
        "(stream, latest, earliest, place, seq, capital, before, after)",
        f"CREATE INDEX IF NOT EXISTS {TOUCH}_place ON {name(TOUCH)} (stream, place)",
    ]


def index_rows(
    run: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]],
    many: Callable[[str, list[tuple[Any, ...]]], None],
    name: Callable[[str], str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Insert report rows and everything kept beside them, in the caller's transaction: the
    places they make dirty, what each correction touches, the day counts, and the record's
    first baseline and last report time (meta ``begins:``/``ends:``). ``run`` executes one
    statement (``%s`` placeholders) and returns its rows; ``many`` executes one per row."""
    if not rows:
        return
    many(f"INSERT INTO {name(TABLE)} VALUES ({','.join(['%s'] * len(COLUMNS))})", list(rows))
    dirty: set[tuple[str, str]] = set()
    days: dict[tuple[str, str], int] = {}
    begins: dict[str, str] = {}
    ends: dict[str, str] = {}
    for r in rows:
        stream, kind, earliest, reported = r[0], r[4], r[6], r[8]
        dirty.add((stream, r[3]))
        days[(stream, earliest[:10])] = days.get((stream, earliest[:10]), 0) + 1
        ends[stream] = max(ends.get(stream, reported), reported)
        if kind == "baseline":
            begins[stream] = min(begins.get(stream, earliest), earliest)
        if kind != "correction":
            continue
        touched: set[str] = {r[3]}  # its own place (its history lists it), and what it retracts
        for target in json.loads(r[11]).get("targets") or ():
            for place, target_kind in run(
                f"SELECT place, kind FROM {name(TABLE)} WHERE stream = %s AND id = %s", [stream, target]
            ):
                if target_kind != "correction":
                    touched.add(place)
                else:
                    touched.update(
                        p
                        for (p,) in run(
                            f"SELECT place FROM {name(TOUCH)} WHERE stream = %s AND id = %s", [stream, target]
                        )
                    )
        many(f"INSERT INTO {name(TOUCH)} VALUES (%s, %s, %s)", [(stream, r[2], p) for p in sorted(touched)])
        dirty.update((stream, p) for p in touched)
    many(
        f"INSERT INTO {name(DIRTY)} VALUES (%s, %s) ON CONFLICT (stream, place) DO NOTHING",
        sorted(dirty),
    )
    many(
        f"INSERT INTO {name(COUNTS)} AS c VALUES (%s, %s, %s) "
        "ON CONFLICT (stream, day) DO UPDATE SET n = c.n + excluded.n",
        [(k[0], k[1], n) for k, n in sorted(days.items())],
    )
    for key, values, pick in (("begins", begins, "<"), ("ends", ends, ">")):
        many(
            f"INSERT INTO {name(META)} AS m (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
            f"SET value = CASE WHEN excluded.value {pick} m.value THEN excluded.value ELSE m.value END",
            [(f"{key}:{stream}", value) for stream, value in sorted(values.items())],
        )


def index_pages(
    page: Callable[[int], list[StoredEvent]],
    index: Callable[[list[tuple[Any, ...]]], None],
    convert: Callable[[list[StoredEvent]], list[tuple[Any, ...]]],
) -> int:
    """The rebuild's loop: each page of stored events after a version, converted to rows and
    indexed, until none is left. Returns the number of rows."""
    count, after = 0, 0
    while found := page(after):
        after = found[-1].originator_version
        rows = convert(found)
        count += len(rows)
        index(rows)
    return count


#: The record's key in the read model's ``stream`` column. Every row of every table carries its
#: stream's key, and so does every entry of every index: as the record's id in hex (32
#: characters, the same for all of its rows) each entry was longer and each comparison of keys
#: slower; the record's 1M reports were appended 8% faster with this one. Other streams keep
#: their id's hex (never this key).
RECORD_KEY_TEXT = "r"
_RECORD_HEX = RECORD_STREAM.hex


def _stream(originator_id: UUID | str) -> str:
    text = originator_id.hex if isinstance(originator_id, UUID) else str(originator_id).replace("-", "")
    return RECORD_KEY_TEXT if text == _RECORD_HEX else text


def stream_key(originator_id: UUID | str) -> str:
    return _stream(originator_id)

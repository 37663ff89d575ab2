"""Materialised answers: each place's whole state from each of its breakpoints on, in the store.

Why: ``replay --at T`` on the latest knowledge must cost the same on a 1M-report ledger as on
the seed record. So the read model keeps, per place, the fold's ``CapitalState`` at every one of
its breakpoints (``control_states``: one row per place and instant from which a state holds,
computed by :func:`control.fold.phases.place_states`, the pure fold's one-sweep form). An answer
at T is then one indexed lookup per place plus the events its states cite.

Consistency: the recorder marks the places a report touches "dirty" (``control_dirty``) in the
very transaction that stores the report (a correction marks the places of what it retracts).
Writers refresh dirty places after their append while still holding the writer lock; a reader
that finds dirty places (a writer killed in between, or a batch not refreshed yet) folds those
places itself from their own reports. So an answer never disagrees with the events, and no
reader ever waits for a refresh. Only the default Rif Dimashq seat and contest horizon, on the
latest knowledge, are materialised; other questions take the pure fold.

This module folds places and keeps their stored states current: the refresh, and the dispatch of
chunks of places to worker processes (:func:`in_chunks`). The states' text is
:mod:`control.store.statecodec`'s; the reads by place, :mod:`control.store.placereads`'; the
answers read or folded from them, :mod:`control.store.answers`'.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from control.fold.projection import (
    CapitalState,
    Transition,
    place_state,
    place_transitions,
    transition_order,
)
from control.model import gazetteer
from control.model.times import ERA_START, Window
from control.store import placereads
from control.store.placereads import CHUNK, FOLD_CHUNK, affected, dirty_places, sql_marks
from control.store.placereads import as_stored as as_stored  # the CLI's charts import it from here
from control.store.readmodel import (
    BULK_ROWS,
    CONFLICTS,
    DIRTY,
    MOVES,
    STATES,
    TABLE,
    fewer_collections,
    stream_key,
)
from control.store.statecodec import Rows, encoded_rows, place_moves, place_rows
from control.store.streams import RECORD_STREAM

if TYPE_CHECKING:
    from control.store.ledger import LedgerApp
    from control.store.placereads import Branch


#: The record's stream in the read model's tables.
RECORD_KEY = stream_key(RECORD_STREAM)


#: The first row of every place holds from here (nothing is asked before the era).
FLOOR = ERA_START


CEIL = datetime(9999, 12, 31, tzinfo=UTC)


#: State rows written per transaction by a refresh (whole chunks of places): fewer, larger
#: transactions rewrite fewer pages of the states' time-ordered indexes.
WRITE_ROWS = 50_000
#: ... or once the states waiting to be written hold this many characters (a deep place's
#: states can be large: memory follows this, not the whole refresh).
WRITE_CHARS = 64 * 1024 * 1024


#: What a refresh rewrites of each place it folds.
DERIVED_BY_PLACE = (STATES, CONFLICTS, MOVES)


#: A refresh of at least this many places over at least this many reports folds in worker
#: processes (a whole store's: ``control rebuild``, ``synth``); smaller ones fold here.
PARALLEL_PLACES = 200


PARALLEL_REPORTS = 50_000


#: Worker processes for a large refresh (``$CONTROL_WORKERS``; 1: none).
WORKERS_ENV = "CONTROL_WORKERS"


class Move(NamedTuple):
    """An effective change of control as charts draw it (a stored ``Transition``, without its
    reports)."""

    governorate: str
    capital: str
    before: str | None
    after: str | None
    window: Window


def fold_places(
    app: LedgerApp, stream: str, governorates: Sequence[gazetteer.Governorate], world: Branch | None = None
) -> Iterator[tuple[gazetteer.Governorate, list[tuple[datetime, CapitalState]], list[Transition]]]:
    """Each governorate's states at all its breakpoints, and its effective changes of control,
    folded from its own reports (``world``: in a what-if branch)."""
    from control.fold.phases import place_states_and_transitions  # here: a stored answer never needs it

    for g, deciding in placereads.deciding_events(app, stream, governorates, world=world):
        pairs, moves = place_states_and_transitions(g, deciding, FLOOR, CEIL, gazetteer.DEFAULT_SEAT)
        yield g, pairs, moves


def fresh_places(
    app: LedgerApp, stream: str
) -> dict[str, tuple[list[tuple[datetime, CapitalState]], list[Transition]]]:
    """The dirty places' states and moves, folded by the reader itself (a writer killed before
    its refresh, or a batch still under way): place name -> (states, moves)."""
    dirty = affected(dirty_places(app, stream))
    if not dirty:  # the usual case: nothing to fold (nor its code to load)
        return {}
    return {g.name: (pairs, found) for g, pairs, found in fold_places(app, stream, dirty)}


def _workers() -> int:
    """Fold workers for a large refresh or read: ``$CONTROL_WORKERS`` if set, else one per core
    up to four."""
    text = os.environ.get(WORKERS_ENV, "")
    if text.strip().isdigit():
        return max(1, int(text))
    return min(os.cpu_count() or 1, 4)


def _rows_of(app: LedgerApp, stream: str, chunk: Sequence[gazetteer.Governorate]) -> Rows:
    return encoded_rows(stream, list(fold_places(app, stream, chunk)))


def _states_at(
    app: LedgerApp,
    stream: str,
    chunk: Sequence[gazetteer.Governorate],
    at: datetime,
    known_at: datetime | None,
    recorded_at: datetime | None,
    seat: str,
    horizon: timedelta,
    world: Branch | None = None,
) -> list[CapitalState]:
    found = placereads.deciding_events(app, stream, chunk, known_at, recorded_at, seat, world)
    return [place_state(g, deciding, at, seat, horizon) for g, deciding in found]


def _phases_of(
    app: LedgerApp,
    stream: str,
    chunk: Sequence[gazetteer.Governorate],
    start: datetime,
    end: datetime,
    known_at: datetime | None,
    recorded_at: datetime | None,
    seat: str,
    world: Branch | None = None,
) -> tuple[list[tuple[str, list[tuple[datetime, Any]]]], list[Transition]]:
    from control.fold.phases import place_phases

    steps, moves = [], []
    for g, deciding in placereads.deciding_events(app, stream, chunk, known_at, recorded_at, seat, world):
        steps.append((g.name, place_phases(deciding, start, end)))
        moves += place_transitions(g, deciding, seat)
    moves.sort(key=transition_order)
    # as charts draw them: without their reports (which would hold every report of the ledger)
    # and ranked here, where transition_order can tell changes of one place apart
    return steps, [
        (n, Move(t.governorate, t.capital, t.before, t.after, t.window)) for n, t in enumerate(moves)
    ]


#: What works a chunk of places in a worker process (:func:`control.store.workers.fold`).
FOLD_TASK = "control.store.workers:fold"


#: What :func:`in_chunks` can do to a chunk of places, by name (a worker is sent the name).
def _place_rows_of(app: LedgerApp, stream: str, chunk: Sequence[gazetteer.Governorate]) -> Any:
    """:func:`_rows_of` of one deep place, its state rows made as they are asked for (its moves
    at once): its encoded states are never all in memory together."""
    ((g, pairs, found),) = fold_places(app, stream, chunk)
    memo: dict[Any, Any] = {}
    moves = place_moves(stream, g, found, memo)
    return [g.name], place_rows(stream, g, pairs, memo), [], moves


CHUNK_WORK: dict[str, Any] = {
    "rows": _rows_of,
    "place_rows": _place_rows_of,
    "states_at": _states_at,
    "phases": _phases_of,
}


#: Reports a worker's chunk of places is sized for (100 places of 500 reports, a synthetic
#: ledger's shape), and the most places a chunk may hold (places with few reports each, such as a
#: gazetteer of 100,000 places with a baseline each, go 2,000 to a task, not 100: the tasks'
#: own cost, not the fold, was most of loading such a gazetteer).
FOLD_REPORTS = 50_000
MAX_FOLD_CHUNK = 2_000
#: Reports a refresh folds at once in this process: a place with thousands of reports (a capital
#: in an ACLED export) is folded and written on its own, so memory follows one deep place's
#: states, not all of them.
HERE_REPORTS = 10_000


def chunk_size(reports: int, places: int, targets: int, workers: int) -> int:
    """Places per worker task: about :data:`FOLD_REPORTS` reports' worth at the ledger's average
    reports per place, between :data:`FOLD_CHUNK` and :data:`MAX_FOLD_CHUNK`, and small enough
    to give each worker several tasks."""
    per_place = max(1, reports // max(1, places))
    size = max(FOLD_CHUNK, min(MAX_FOLD_CHUNK, FOLD_REPORTS // per_place))
    return max(FOLD_CHUNK, min(size, -(-targets // (workers * 4))))


def in_chunks(
    app: LedgerApp, stream: str, targets: Sequence[gazetteer.Governorate], work: str, args: tuple[Any, ...]
) -> Iterator[Any]:
    """``CHUNK_WORK[work](app, stream, chunk, *args)`` for each chunk of :data:`FOLD_CHUNK` places,
    in order: here, or, for at least :data:`PARALLEL_PLACES` places over at least
    :data:`PARALLEL_REPORTS` reports, in worker processes (:func:`_workers`,
    :mod:`control.store.pool`), each opening the store itself and reading its places' reports on
    its own connection. Workers that cannot start or that die leave the rest to this process."""
    chunks = [targets[i : i + FOLD_CHUNK] for i in range(0, len(targets), FOLD_CHUNK)]
    workers = min(_workers(), len(chunks))
    done = 0
    counted: list[int] = []

    def reports() -> int:
        """The stream's reports, counted once (the workers' chunks and this process's both ask)."""
        if not counted:
            table = app.recorder.name(TABLE)
            found = app.recorder.query(f"SELECT COUNT(*) FROM {table} WHERE stream = %s", [stream])
            counted.append(int(found[0][0]))
        return counted[0]

    places = len(gazetteer.current().places)
    if workers > 1 and len(targets) >= PARALLEL_PLACES and reports() >= PARALLEL_REPORTS:
        from control.store import pool

        size = chunk_size(reports(), places, len(targets), workers)
        chunks = [targets[i : i + size] for i in range(0, len(targets), size)]

        # the tables exist: a worker creating them again races the others in PostgreSQL's
        # catalog ("tuple concurrently updated")
        env = dict(app.env, CREATE_TABLE="no")
        atlas = gazetteer.current()  # the version answering (--recorded-at: an earlier one)
        version = None if atlas.builtin else atlas.version
        tasks = [(FOLD_TASK, env, stream, [g.name for g in chunk], work, args, version) for chunk in chunks]
        try:
            for result in pool.run_tasks(tasks, workers):
                yield result
                done += 1
            return
        except pool.Broken:  # a worker could not start, or died: the rest is done here
            pass
    rest = [g for chunk in chunks[done:] for g in chunk]
    if work == "rows" and len(rest) > 1:  # a refresh here: deep places one or a few at a time
        size = max(1, min(FOLD_CHUNK, HERE_REPORTS // max(1, reports() // max(1, places))))
        chunks = [rest[i : i + size] for i in range(0, len(rest), size)]
        done = 0
        if size == 1:  # each deep place's rows made as they are written: see :func:`refresh`
            work = "place_rows"
    for chunk in chunks[done:]:
        with fewer_collections():
            found = CHUNK_WORK[work](app, stream, chunk, *args)
        yield found


def refresh(app: LedgerApp, stream: str) -> int:
    """Re-fold the dirty places' states and store them (call under the writer lock). Chunks of
    places are written together, up to :data:`WRITE_ROWS` state rows per transaction; the dirty
    marks go last, so a refresh cut short leaves them dirty (readers fold them themselves) and
    the next writer finishes it. Returns the number of governorates refreshed."""
    dirty = dirty_places(app, stream)
    if not dirty:
        return 0
    name = app.recorder.name
    targets = affected(dirty)
    pending: Rows = ([], [], [], [])

    def write(names: list[str], rows: Iterable[Any], conflicts: list[Any], moves: list[Any]) -> None:
        """One transaction: the places' derived rows deleted, theirs inserted (``rows`` may be
        made as they are inserted: executemany takes them one at a time)."""
        deletes = []
        for i in range(0, len(names), CHUNK):
            part = names[i : i + CHUNK]
            where = f"WHERE stream = %s AND place IN ({sql_marks(len(part))})"
            deletes += [(f"DELETE FROM {name(t)} {where}", [stream, *part]) for t in DERIVED_BY_PLACE]
        app.recorder.execute_script(
            deletes,
            (f"INSERT INTO {name(STATES)} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows),
            (f"INSERT INTO {name(CONFLICTS)} VALUES (%s, %s, %s, %s, %s)", conflicts),
            (f"INSERT INTO {name(MOVES)} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", moves),
        )

    def flush() -> int:
        count = len(pending[1])
        if pending[0]:
            write(*pending)
        for part in pending:
            part.clear()
        return count

    written = chars = 0
    with fewer_collections():  # the workers' rows, read back and written
        for chunk in in_chunks(app, stream, targets, "rows", ()):  # written as they come, in order
            names, rows, conflicts, moves = chunk
            if not isinstance(rows, list):  # a deep place's rows, made as they go into the store
                written += flush()
                made = [0]

                def counted(rows: Iterator[Any] = rows, made: list[int] = made) -> Iterator[Any]:
                    for row in rows:
                        made[0] += 1
                        yield row

                write(names, counted(), conflicts, moves)
                written += made[0]
                continue
            for into, found in zip(pending, chunk, strict=True):
                into.extend(found)
            chars += sum(len(row[-1] or "") for row in rows)
            if len(pending[1]) >= WRITE_ROWS or chars >= WRITE_CHARS:
                written += flush()
                chars = 0
        written += flush()
    if written >= BULK_ROWS:
        app.recorder.analyze(DERIVED_BY_PLACE)
    known = {g.name for g in gazetteer.governorates()}  # marks of places not known (yet) are kept
    dirty = [p for p in dirty if p in known]
    for i in range(0, len(dirty), CHUNK):
        part = dirty[i : i + CHUNK]
        app.recorder.execute_script(
            [
                (
                    f"DELETE FROM {name(DIRTY)} WHERE stream = %s AND place IN ({sql_marks(len(part))})",
                    [stream, *part],
                )
            ]
        )
    return len(targets)

"""The read model's report queries, as :class:`LedgerApp`'s methods (:class:`ReportReads`, one
of its bases): reports by index (all, at some places, by time), counts, spans and the statements
a timeline marks, each one SQL query on the read model (:mod:`control.store.readmodel`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from control.model.events import Event
from control.model.times import iso
from control.store.config import RECORD
from control.store.readmodel import REPORT, fewer_collections, known_filter, report_event, stream_key
from control.store.streams import stream_id

if TYPE_CHECKING:
    from control.store.placereads import Branch

T = TypeVar("T")


def own_places(method: Callable[..., T]) -> Callable[..., T]:
    """A store's answer is about its own gazetteer's places: when no caller scoped one (the CLI
    scopes the store's, or some of its places for --place), the store's is, for the call only."""

    @functools.wraps(method)
    def scoped(self: Any, *args: Any, **options: Any) -> T:
        from control.model import gazetteer

        if gazetteer.scoped() is not None:
            return method(self, *args, **options)
        with gazetteer.using(self.bound_gazetteer() or gazetteer.builtin()):
            return method(self, *args, **options)

    return scoped


def own_places_gen(method: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """:func:`own_places` for a generator: the store's gazetteer while it runs."""

    @functools.wraps(method)
    def scoped(self: Any, *args: Any, **options: Any) -> Iterator[Any]:
        from control.model import gazetteer

        if gazetteer.scoped() is not None:
            yield from method(self, *args, **options)
            return
        with gazetteer.using(self.bound_gazetteer() or gazetteer.builtin()):
            yield from method(self, *args, **options)

    return scoped


def _in_places(places: Collection[str] | None) -> tuple[str, list[str]]:
    """SQL keeping the reports at ``places`` (all if None; none if empty), and its parameters."""
    if places is None:
        return "", []
    chosen = sorted(places)
    return (f" AND place IN ({','.join(['%s'] * len(chosen))})" if chosen else " AND 1 = 0"), chosen


class ReportReads:
    """Reports read from the read model by index. A base of :class:`control.store.ledger.LedgerApp`
    (its ``recorder``, ``_read_model_ready`` and ``bound_gazetteer`` are the app's)."""

    recorder: Any
    _read_model_ready: Callable[[], None]

    def read(self, name: str = RECORD, recorded_at: datetime | None = None) -> list[Event]:
        """Every report in ledger ``name`` in append order, each with its ``recorded_at``;
        with ``recorded_at``, only those the store had by then (what it would have answered).
        Read from the read model (one indexed row per report, kept in the events' transaction),
        in one fetch: the fast path of every read command. The whole ledger is made at once, so
        the cyclic collector runs less often meanwhile (1M reports: 8.4 s against 12-19 s)."""
        sql, params = self._reports_query(name, recorded_at, None, None, canonical=False)
        with fewer_collections():
            return [report_event(r) for r in self.recorder.query(sql, params)]

    @own_places
    def reports_at(
        self, places: Collection[str], name: str = RECORD, recorded_at: datetime | None = None
    ) -> list[Event]:
        """The reports at ``places`` and the corrections touching them (through chains of
        corrections too), read by index: what the answers at those places depend on, whatever
        the ledger's size (``recorded_at``: only those the store had by then)."""
        from control.store import placereads

        self._read_model_ready()
        chosen, stream = sorted(places), stream_key(stream_id(name))
        found: dict[str, Event] = {}
        for i in range(0, len(chosen), placereads.CHUNK):
            part, _ = placereads.events_of(self, stream, chosen[i : i + placereads.CHUNK], None, recorded_at)
            found.update((e.id, e) for e in part)
        return list(found.values())

    def report_span(self, name: str = RECORD) -> tuple[datetime, datetime] | None:
        """Where ledger ``name``'s reports begin and end (None if it has none): its first
        baseline (nothing is reported before it: validation refuses it) and its last report
        time, kept in the read model's meta as reports are stored (no scan of the reports)."""
        from control.store import placereads

        self._read_model_ready()
        stream = stream_key(stream_id(name))
        first, last = placereads.record_begins(self, stream), placereads.record_ends(self, stream)
        if first is None or last is None:  # a ledger with no baseline: its reports say
            found = self.recorder.query(
                f"SELECT MIN(reported_at), MAX(reported_at) FROM {self.recorder.table} WHERE stream = %s",
                [stream],
            )[0]
            if found[0] is None:
                return None
            first, last = datetime.fromisoformat(found[0]), datetime.fromisoformat(found[1])
        return first, last

    def count_reports(self, places: Collection[str] | None = None, name: str = RECORD) -> int:
        """How many reports ledger ``name`` holds (at ``places`` only, if given), by index."""
        sql, params = self._at_places("COUNT(*)", places, name)
        return int(self.recorder.query(sql, params)[0][0])

    def place_counts(self, places: Collection[str] | None = None, name: str = RECORD) -> dict[str, int]:
        """How many reports ledger ``name`` holds at each place (``places`` only, if given), by index."""
        sql, params = self._at_places("place, COUNT(*)", places, name)
        return {place: int(n) for place, n in self.recorder.query(sql + " GROUP BY place", params)}

    def _at_places(self, what: str, places: Collection[str] | None, name: str) -> tuple[str, list[Any]]:
        self._read_model_ready()
        at, chosen = _in_places(places)
        return f"SELECT {what} FROM {self.recorder.table} WHERE stream = %s{at}", [
            stream_key(stream_id(name)),
            *chosen,
        ]

    def iter_reports(
        self,
        name: str = RECORD,
        recorded_at: datetime | None = None,
        known_at: datetime | None = None,
        place: str | Collection[str] | None = None,
        canonical: bool = True,
    ) -> Iterator[Event]:
        """Reports as they are read from the read model (bounded memory), filtered in SQL (``place``:
        one place's name, or several), in canonical order (report time, window, id) or append
        order."""
        sql, params = self._reports_query(name, recorded_at, known_at, place, canonical)
        for r in self.recorder.query_iter(sql, params):
            yield report_event(r)

    def _reports_query(
        self,
        name: str,
        recorded_at: datetime | None,
        known_at: datetime | None,
        place: str | Collection[str] | None,
        canonical: bool,
    ) -> tuple[str, list[Any]]:
        """The read model's query for ledger ``name``'s reports, filtered and ordered in SQL."""
        self._read_model_ready()
        known, params = known_filter(known_at, recorded_at, keyed=place is not None)
        sql = f"SELECT {REPORT} FROM {self.recorder.table} WHERE stream = %s{known}"
        params.insert(0, stream_key(stream_id(name)))
        at, chosen = _in_places([place] if isinstance(place, str) else place)
        sql += at
        params += chosen
        # byte order of ids on any database (a PostgreSQL locale collation would sort "a-1" apart)
        collate = getattr(self.recorder, "byte_order", "")
        sql += f" ORDER BY reported_at, earliest, latest, id{collate}" if canonical else " ORDER BY position"
        return sql, params

    def last_recorded(self, name: str = RECORD) -> str:
        rows = self.recorder.query(
            f"SELECT MAX(recorded_at) FROM {self.recorder.table} WHERE stream = %s",
            [stream_key(stream_id(name))],
        )
        return str(rows[0][0] or "") if rows else ""

    @own_places
    def statements(
        self,
        start: datetime,
        end: datetime,
        known_at: datetime | None = None,
        recorded_at: datetime | None = None,
        world: Branch | None = None,
        places: Collection[str] | None = None,
    ) -> list[Event]:
        """The denials and claims reported by ``known_at`` and stored by ``recorded_at`` whose
        window ends in ``[start, end]`` (what the timeline chart marks), by index. ``world``:
        those of a what-if branch (:meth:`branch`): the record's made by its cut and not
        suppressed, then its own. ``places``: at those places only."""
        from control.store.placereads import earlier

        self._read_model_ready()
        cut = known_at if world is None else earlier(known_at, world.cut)
        known, params = known_filter(cut, recorded_at)
        at, chosen = _in_places(places)
        found = self.recorder.query(
            f"SELECT {REPORT} FROM {self.recorder.table} WHERE stream = %s AND kind IN ('denial', 'claim') "
            f"AND latest >= %s AND latest <= %s{at}{known} ORDER BY position",
            [stream_key(stream_id(RECORD)), iso(start), iso(end), *chosen, *params],
        )
        said = [report_event(r) for r in found]
        if world is None:
            return said
        return [e for e in said if e.id not in world.suppress] + [
            e
            for e in world.extra
            if e.kind in ("denial", "claim")
            and start <= e.window.latest <= end
            and (known_at is None or e.reported_at <= known_at)
            and (places is None or e.place in places)
        ]

    def record_ends(self, recorded_at: datetime | None = None) -> datetime | None:
        """The last report time in the record (None if empty), by the read model's meta; with
        ``recorded_at``, of the reports the store had by then (by index)."""
        from control.store import placereads

        stream = stream_key(stream_id(RECORD))
        if recorded_at is None:
            return placereads.record_ends(self, stream)
        self._read_model_ready()
        stored, params = known_filter(None, recorded_at)
        found = self.recorder.query(
            f"SELECT MAX(reported_at) FROM {self.recorder.table} WHERE stream = %s{stored}", [stream, *params]
        )[0][0]
        return datetime.fromisoformat(found) if found else None

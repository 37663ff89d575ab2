"""Where dated control maps are stored: one event per map, in a stream of their own.

A map (all its observations) is one ``MapObserved`` event of the ``snapshots`` stream: the record
of what the source said, kept whole (as the dict :class:`control.ingest.snapshots.Map` gives;
:mod:`control.service.maps` turns them into maps and back). The fold never reads it: what the
maps imply is appended to the record as ordinary reports (control/ingest/snapshots.py), so
``replay`` costs what it costs for any ledger of that many reports. One event per map, not per
place: 1,000 daily maps of 2,000 places are 1,000 events to store and read back, and a map is
re-derived from one event.
A corrected map is a later event for the same source and instant; the latest is in force.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from control.store.domain import new_event
from control.store.streams import stream_id

if TYPE_CHECKING:
    from control.store.ledger import LedgerApp

STREAM = "snapshots"
#: Maps per transaction when a series is stored (each event holds a whole map).
MAPS_PER_TRANSACTION = 50


class MapSeries(Aggregate):
    """The stream of stored maps (never rebuilt as an aggregate: read with ``payloads``)."""

    class Started(Aggregate.Created):
        class_version = 1
        name: str

    class MapObserved(Aggregate.Event):
        class_version = 1
        map: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            pass

    def __init__(self, name: str) -> None:
        self.name = name


def _pages(app: LedgerApp) -> Iterator[dict[str, Any]]:
    """Each stored map's payload, read a page of events at a time (a map decoded, then dropped)."""
    sid = stream_id(STREAM)
    after: int | None = None
    while True:
        page = list(app.recorder.select_events(sid, gt=after, limit=MAPS_PER_TRANSACTION))
        if not page:
            return
        for stored in page:
            state = app.decoded(stored)
            if "map" in state:
                yield state["map"]
        after = page[-1].originator_version


def stored_maps(app: LedgerApp) -> list[dict[str, Any]]:
    """Every stored map's dict, in the order stored (a corrected map after the one it corrects)."""
    return list(_pages(app))


def stored_digests(app: LedgerApp) -> dict[tuple[str, str], tuple[str, str]]:
    """(source, as-of text) -> (digest, input digest) of the map in force (the latest stored): what
    tells a re-imported map from a new or corrected one, without keeping the maps."""
    return {(m["source"], m["as_of"]): (m["digest"], m.get("input", "")) for m in _pages(app)}


def store_maps(app: LedgerApp, maps: Sequence[dict[str, Any]]) -> int:
    """Append ``maps`` (each a map's dict) to the stream, :data:`MAPS_PER_TRANSACTION` per
    transaction (optimistic concurrency: a writer that lost the race raises eventsourcing's
    IntegrityError)."""
    sid = stream_id(STREAM)
    head = list(app.recorder.select_events(sid, desc=True, limit=1))
    pending = []
    if head:
        version = head[0].originator_version
    else:
        started = MapSeries._create(MapSeries.Started, id=sid, name=STREAM)
        pending = [app.mapper.to_stored_event(e) for e in started.collect_events()]
        version = started.version
    for start in range(0, len(maps), MAPS_PER_TRANSACTION):
        for m in maps[start : start + MAPS_PER_TRANSACTION]:
            version += 1
            event = new_event(MapSeries.MapObserved, sid, version, map=m)
            pending.append(app.mapper.to_stored_event(event))
        app.recorder.insert_events(pending, read_rows=[])
        pending = []
    if pending:
        app.recorder.insert_events(pending, read_rows=[])
    return len(maps)

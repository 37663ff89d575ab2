"""Validating reports against the ledger as stored, then appending them: what ``add`` and
scenarios ask of the ledger (:class:`KnownReports`, answered by index), the validation context
(:func:`context`), and the bounded retry of a validated append (:func:`add_reports`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from control.model import gazetteer
from control.model.events import Event
from control.model.times import iso
from control.store.config import RECORD, public, write_deadline
from control.store.ledger import LedgerApp
from control.store.readmodel import REPORT, report_event, stream_key
from control.store.retry import retrying
from control.store.streams import stream_id
from control.store.writelock import writer_lock

if TYPE_CHECKING:
    from control.ingest.record import Context
    from control.model.tomlfile import TomlFile


class KnownReports:
    """What validation asks of the ledger (is this id taken? which event is it? is the same
    report already there? the next free number for an id stem?), answered by index from the read
    model, plus the events validated earlier in the same batch. O(log n) per question."""

    def __init__(self, app: LedgerApp, name: str = RECORD, extra: Sequence[Event] = ()) -> None:
        self.app = app
        self.stream = stream_key(stream_id(name))
        self.local: dict[str, Event] = {e.id: e for e in extra}

    def _rows(self, where: str, params: Sequence[Any]) -> list[Event]:
        rows = self.app.recorder.query(
            f"SELECT {REPORT} FROM {self.app.recorder.table} WHERE stream = %s AND {where}",
            [self.stream, *params],
        )
        return [report_event(r) for r in rows]

    def __contains__(self, event_id: object) -> bool:
        return event_id in self.local or bool(self._rows("id = %s", [event_id]))

    def __getitem__(self, event_id: str) -> Event:
        if event_id in self.local:
            return self.local[event_id]
        found = self._rows("id = %s", [event_id])
        if not found:
            raise KeyError(event_id)
        return found[0]

    def __setitem__(self, event_id: str, event: Event) -> None:
        self.local[event_id] = event

    def get(self, event_id: str, default: Event | None = None) -> Event | None:
        try:
            return self[event_id]
        except KeyError:
            return default

    def values(self) -> list[Event]:
        return list(self.local.values())

    def similar(self, event: Event) -> list[Event]:
        """Stored or batch events with the same place, kind, actor, window and file."""
        stored = self._rows(
            "place = %s AND kind = %s AND actor = %s AND earliest = %s AND latest = %s AND file = %s",
            [
                event.place,
                event.kind,
                event.actor or "",
                iso(event.window.earliest),
                iso(event.window.latest),
                event.source.file,
            ],
        )
        return [*stored, *self.local.values()]

    def next_free(self, stem: str) -> int:
        """One more than the highest n of stored ids ``stem-n`` (1 if none)."""
        # A range on the primary key (stream, id), not LIKE: SQLite's LIKE would scan every row.
        rows = self.app.recorder.query(
            f"SELECT id FROM {self.app.recorder.table} WHERE stream = %s AND id >= %s AND id < %s",
            [self.stream, stem + "-", stem + "."],
        )
        tails = [r[0][len(stem) + 1 :] for r in rows]
        numbers = [int(t) for t in tails if t.isdigit() and str(int(t)) == t]
        return max(numbers, default=0) + 1


def context(
    app: LedgerApp,
    now: datetime,
    base: Path | None = None,
    scenario: str | None = None,
    extra: Sequence[Event] = (),
) -> Context:
    """A validation context that knows every record event (and ``extra`` ones)."""
    from control.ingest.record import Context, load_record

    known = KnownReports(app, RECORD, extra)
    if gazetteer.current().builtin:
        record = load_record()
        campaign_start, published = record.campaign_start, record.published
    else:  # a user's ledger: no seed record; "by report" runs from the baseline
        campaign_start, published = gazetteer.baseline_as_of(), {}
    return Context(
        campaign_start,
        published,
        known,
        now=now,
        base=base,
        scenario=scenario,
        baseline=gazetteer.baseline_as_of(),
        zone=gazetteer.current().zone,
    )


def add_reports(
    app: LedgerApp,
    tables: Sequence[Mapping[str, Any]],
    now: datetime,
    path: str = "options",
    source: TomlFile | None = None,
    base: Path | None = None,
    store: str = "",
) -> list[Event]:
    """Validate every report against the ledger as stored now, then append them all in one
    transaction; if another writer appended first, re-read, re-validate and retry (bounded)."""
    from control.ingest.record import build_event, build_events

    def attempt() -> list[Event]:
        ctx = context(app, now, base)
        if path == "options":
            events = [build_event(tables[0], ctx, "options")]
        else:
            events = build_events(tables, ctx, path, source)
        app.append(RECORD, events)
        return events

    label = public(store or "store")
    deadline = write_deadline()  # one deadline for waiting in line and for retries
    with writer_lock(app.env_settings, deadline, label):
        return retrying(app, attempt, store or "store", deadline)

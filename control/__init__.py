"""territorial-control: an event-sourced ledger of who controls Syria's 14 provincial capitals.

Data flows one way: ``seeds/`` text -> :mod:`control.ingest.record` (validated events with provenance)
-> :mod:`control.service` (checked, synced) -> :mod:`control.store.ledger` (eventsourcing store)
-> :mod:`control.fold.projection` (pure fold) -> charts and the CLI (docs/architecture.md).
The names below are the Python API for notebooks::

    import control
    ledger = control.open_ledger()            # control.db here, or a path / postgresql:// URL
    snap = ledger.replay("2024-12-08T00:00Z")  # or control.replay(control.record_events(), ...)
    snap.holding("government").capitals       # ('Damascus', 'Latakia', 'Tartus')
    pandas.DataFrame(snap.to_records())

The gazetteer travels with the call: a ``Ledger`` answers for its store's gazetteer
(``ledger.gazetteer``), and ``control.replay``/``transitions``/``history`` for the one given
(``gazetteer=``; the built-in one if none), whatever store was opened before in the process.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from control.fold.history import History
    from control.fold.projection import Snapshot, Transition
    from control.model.events import Event
    from control.model.gazetteer import Gazetteer

__all__ = [
    "CapitalState",
    "Event",
    "Gazetteer",
    "History",
    "Holdings",
    "Ledger",
    "Snapshot",
    "Source",
    "Transition",
    "UserError",
    "Window",
    "builtin_gazetteer",
    "history",
    "load_gazetteer",
    "open_ledger",
    "parse_instant",
    "record_events",
    "replay",
    "transitions",
]


_LAZY = {
    "UserError": "control.model.errors",
    "Event": "control.model.events",
    "Source": "control.model.events",
    "CapitalState": "control.fold.projection",
    "Holdings": "control.fold.projection",
    "Snapshot": "control.fold.projection",
    "Transition": "control.fold.projection",
    "History": "control.fold.history",
    "Gazetteer": "control.model.gazetteer",
    "Window": "control.model.times",
    "parse_instant": "control.model.times",
}


def __getattr__(name: str) -> Any:
    """Load public names on first use, so ``import control`` stays cheap for the CLI."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'control' has no attribute {name!r}")


def _instant(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    from control.model.times import parse_instant

    return parse_instant(value)


def builtin_gazetteer() -> Gazetteer:
    """The built-in gazetteer (Syria's 14 governorates): the seed record's places."""
    from control.model.gazetteer import builtin

    return builtin()


def load_gazetteer(path: str) -> Gazetteer:
    """A gazetteer from a TOML file (see README "Any places: your own gazetteer")."""
    from control.ingest.gazetteers import load_file

    return load_file(path)


def replay(
    events: Iterable[Event],
    at: datetime | str,
    known_at: datetime | str | None = None,
    seat: str = "damascus",
    recorded_at: datetime | str | None = None,
    gazetteer: Gazetteer | None = None,
    **options: Any,
) -> Snapshot:
    """State of every place of ``gazetteer`` (default: the built-in one) at ``at``, from
    ``events``: the fold, with the gazetteer given, not whichever store was opened last."""
    from control.fold import projection
    from control.model import gazetteer as places

    atlas = gazetteer or places.builtin()
    when = _instant(at)
    assert when is not None
    with places.using(atlas):
        found = projection.replay(events, when, _instant(known_at), seat, _instant(recorded_at), **options)
    return found._replace(gazetteer=atlas)


def transitions(
    events: Iterable[Event],
    known_at: datetime | str | None = None,
    seat: str = "damascus",
    recorded_at: datetime | str | None = None,
    gazetteer: Gazetteer | None = None,
) -> list[Transition]:
    """Every effective change of control among the places of ``gazetteer`` (default: built-in)."""
    from control.fold import projection
    from control.model import gazetteer as places

    with places.using(gazetteer or places.builtin()):
        return projection.transitions(events, _instant(known_at), seat, _instant(recorded_at))


def history(events: Iterable[Event], place: str, gazetteer: Gazetteer | None = None) -> History:
    """Every event touching one place of ``gazetteer`` (default: built-in), with remarks."""
    from control.fold import history as histories
    from control.model import gazetteer as places

    with places.using(gazetteer or places.builtin()):
        return histories.history(events, place)


def record_events() -> list[Event]:
    """The seed record's events (baseline first), straight from ``seeds/record.toml``."""
    from control.ingest.record import load_record

    return list(load_record().events)


class Ledger:
    """A handle on a store: the record's events plus anything added with ``control add``."""

    def __init__(self, store: str | None = None) -> None:
        from control.service.sync import open_app

        self.app = open_app(store)
        #: the store's gazetteer: every answer of this ledger is about its places
        self.gazetteer: Gazetteer = self.app.gazetteer

    def events(self, recorded_at: datetime | str | None = None) -> list[Event]:
        """Every stored report (append order), or those the store had at ``recorded_at``."""
        return self.app.read(recorded_at=_instant(recorded_at))

    def gazetteer_at(self, recorded_at: datetime | str | None = None) -> Gazetteer:
        """This ledger's gazetteer: its latest version, or the version in force at ``recorded_at``
        (what the store answered with then)."""
        stored_by = _instant(recorded_at)
        if stored_by is None or self.gazetteer.builtin:
            return self.gazetteer
        return self.app.stored_gazetteer(stored_by) or self.gazetteer

    def replay(
        self,
        at: datetime | str,
        known_at: datetime | str | None = None,
        seat: str = "damascus",
        recorded_at: datetime | str | None = None,
    ) -> Snapshot:
        """State of every capital at ``at`` as known at ``known_at``, as the store had it at
        ``recorded_at`` (strings: ISO 8601)."""
        stored_by = _instant(recorded_at)
        return replay(self.events(stored_by), at, known_at, seat, stored_by, self.gazetteer_at(stored_by))

    def history(
        self, place: str, known_at: datetime | str | None = None, recorded_at: datetime | str | None = None
    ) -> History:
        from control.fold.projection import known

        atlas = self.gazetteer_at(recorded_at)
        return history(known(self.events(recorded_at), _instant(known_at)), place, atlas)

    def transitions(
        self, known_at: datetime | str | None = None, recorded_at: datetime | str | None = None
    ) -> list[Transition]:
        return transitions(self.events(recorded_at), known_at, gazetteer=self.gazetteer_at(recorded_at))


def open_ledger(store: str | None = None) -> Ledger:
    """Open (creating and loading the record if needed) a SQLite file or PostgreSQL store."""
    return Ledger(store)

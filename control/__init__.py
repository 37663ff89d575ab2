"""territorial-control: an event-sourced ledger of who controls Syria's 14 provincial capitals.

Data flows one way: ``seeds/`` text -> :mod:`control.ingest.record` (validated events with provenance)
-> :mod:`control.store.ledger` (eventsourcing store) -> :mod:`control.fold.projection` (pure fold) ->
charts and the CLI. The names below are the Python API for notebooks::

    import control
    ledger = control.open_ledger()            # control.db here, or a path / postgresql:// URL
    snap = ledger.replay("2024-12-08T00:00Z")  # or control.replay(control.record_events(), ...)
    snap.holding("government").capitals       # ('Damascus', 'Latakia', 'Tartus')
    pandas.DataFrame(snap.to_records())
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from control.fold.history import History
    from control.fold.projection import Snapshot, Transition
    from control.model.events import Event

__all__ = [
    "CapitalState",
    "Event",
    "History",
    "Holdings",
    "Ledger",
    "Snapshot",
    "Source",
    "Transition",
    "UserError",
    "Window",
    "history",
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
    "replay": "control.fold.projection",
    "transitions": "control.fold.projection",
    "History": "control.fold.history",
    "history": "control.fold.history",
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


def record_events() -> list[Event]:
    """The seed record's events (baseline first), straight from ``seeds/record.toml``."""
    from control.ingest.record import load_record

    return list(load_record().events)


class Ledger:
    """A handle on a store: the record's events plus anything added with ``control add``."""

    def __init__(self, store: str | None = None) -> None:
        from control.store.ledger import open_app

        self.app = open_app(store)

    def events(self, recorded_at: datetime | str | None = None) -> list[Event]:
        """Every stored report (append order), or those the store had at ``recorded_at``.

        Also makes this ledger's gazetteer the one in use (places, aliases, controllers)."""
        from control.model import gazetteer

        stored_by = _instant(recorded_at)
        atlas = self.app.gazetteer
        if stored_by is not None and not atlas.builtin:  # the version in force then
            atlas = self.app.stored_gazetteer(stored_by)
        gazetteer.use(atlas)
        return self.app.read(recorded_at=stored_by)

    def replay(
        self,
        at: datetime | str,
        known_at: datetime | str | None = None,
        seat: str = "damascus",
        recorded_at: datetime | str | None = None,
    ) -> Snapshot:
        """State of every capital at ``at`` as known at ``known_at``, as the store had it at
        ``recorded_at`` (strings: ISO 8601)."""
        from control.fold.projection import replay

        when = _instant(at)
        assert when is not None
        stored_by = _instant(recorded_at)
        return replay(self.events(stored_by), when, _instant(known_at), seat, recorded_at=stored_by)

    def history(
        self, place: str, known_at: datetime | str | None = None, recorded_at: datetime | str | None = None
    ) -> History:
        from control.fold.history import history
        from control.fold.projection import known

        return history(known(self.events(recorded_at), _instant(known_at)), place)

    def transitions(
        self, known_at: datetime | str | None = None, recorded_at: datetime | str | None = None
    ) -> list[Transition]:
        from control.fold.projection import transitions

        return transitions(self.events(recorded_at), _instant(known_at))


def open_ledger(store: str | None = None) -> Ledger:
    """Open (creating and loading the record if needed) a SQLite file or PostgreSQL store."""
    return Ledger(store)

"""The history of one capital: every event that touched it, in report order, with remarks.

Remarks say what the projection made of each report: corroborated, in conflict (and how the
conflict was reconciled), context only, retracted by a correction, or a denial later refuted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from control.fold.merging import changes
from control.fold.projection import place_state
from control.fold.records import DEFAULT_HORIZON
from control.fold.rules import bears_on_control, control_ids, retracting
from control.model import gazetteer
from control.model.events import Event
from control.model.times import iso


@dataclass(frozen=True)
class HistoryEntry:
    event: Event
    remark: str

    def to_dict(self) -> dict[str, Any]:
        return self.event.to_dict() | {"remark": self.remark}


@dataclass(frozen=True)
class History:
    """Every event touching one capital, in report order, each with a remark."""

    governorate: str
    entries: tuple[HistoryEntry, ...]

    def to_records(self) -> list[dict[str, Any]]:
        """One flat row per event, for ``pandas.DataFrame(history.to_records())``."""
        return [event_record(h.event) | {"remark": h.remark} for h in self.entries]


def event_record(event: Event) -> dict[str, Any]:
    """A flat row for one event (no nested window), as exports and DataFrames want it."""
    row = event.to_dict()
    window = row.pop("window")
    row["targets"] = ";".join(row["targets"])
    return row | {"earliest": window["earliest"], "latest": window["latest"]}


def history(events: Iterable[Event], place: str) -> History:
    """Every event touching one capital, in report order, each with a remark (retracted, ...)."""
    governorate = gazetteer.resolve_place(place)
    all_events = list(events)
    dropped = retracting(all_events)
    overruled = {t for e in all_events if e.kind == "correction" for t in e.targets if t not in dropped}
    mine = [e for e in all_events if e.place == governorate.name]
    live = [e for e in mine if e.id not in dropped and e.kind != "correction"]
    group_of = {r.id: c for c in changes(live) for r in c.reports}
    control = control_ids(mine)  # once, not once per statement
    end_of_record = max((e.window.latest for e in mine), default=None)
    final = place_state(governorate, live, end_of_record, gazetteer.DEFAULT_SEAT) if end_of_record else None
    lapsed = set(final.lapsed) if final is not None else set()
    out: list[HistoryEntry] = []
    for e in sorted(mine, key=lambda e: (e.reported_at, e.window.earliest, e.window.latest, e.id)):
        remarks: list[str] = []
        if e.id in dropped:
            remarks.append(f"retracted by {dropped[e.id]}")
        elif e.id in overruled:
            remarks.append("in force again: the correction(s) retracting it were retracted")
        change = group_of.get(e.id)
        if change is not None:
            if change.conflict:
                said = ", ".join(f"{r.id} {r.when or 'dated'!r}" for r in change.reports)
                remarks.append(
                    f"CONFLICT: {said} do not all overlap; reconciled as "
                    f"{iso(change.window.earliest)} .. {iso(change.window.latest)}"
                    " (each report narrowed by those it agrees with, capped at the first report)"
                )
            elif len(change.reports) > 1:
                remarks.append(f"corroborated by {len(change.reports) - 1} other report(s)")
        if e.scope == "area":
            remarks.append("context (area around the capital): does not change control")
        if e.scope == "person":
            remarks.append("about a person, not the capital's control: contests nothing")
        elif e.kind in ("denial", "claim") and not bears_on_control(e, control):
            remarks.append("denies no change of the capital's control: contests nothing")
        elif e.kind in ("denial", "claim") and e.id not in dropped and final is not None:
            if e.kind == "denial" and final.controller != e.actor:
                remarks.append("refuted: a later confirmed change went against it")
            elif e in lapsed:
                remarks.append(
                    f"lapsed {iso(e.window.latest + DEFAULT_HORIZON)}: nothing followed within "
                    f"{DEFAULT_HORIZON.days} days"
                )
        out.append(HistoryEntry(e, "; ".join(remarks)))
    return History(governorate.name, tuple(out))

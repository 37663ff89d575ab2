"""Exports for other tools: the state of every capital (CSV, JSON, GeoJSON for QGIS or a web map)
and the whole ledger (CSV, JSON). Pure text; same ledger, same bytes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from control.fold.history import event_record
from control.fold.projection import Snapshot
from control.model import gazetteer
from control.model.events import Event
from control.model.times import iso
from control.views.render import json_lines, to_json

STATE_COLUMNS = [
    "pcode", "governorate", "capital", "counted_as", "controller", "status", "since", "since_latest",
    "lat", "lon", "at", "known_at", "events", "files", "candidates", "possible_controllers",
    "contested_by", "lapsed", "conflicts", "record_ends", "carried_forward",
]  # fmt: skip
#: Each place with its states from one instant on (control.fold.phases.place_timelines).
Timelines = Iterable[tuple[Any, Sequence[tuple[Any, Any]]]]
#: Lists in CSV cells are joined with this (ids and names never contain it).
JOIN = "; "
EVENT_COLUMNS = [
    "id", "kind", "place", "actor", "previous", "targets", "scope", "earliest", "latest", "when",
    "reported_at", "recorded_at", "file", "quote", "note", "scenario",
]  # fmt: skip


def _state_rows(snapshot: Snapshot) -> list[dict[str, Any]]:
    coords = {g.name: g for g in gazetteer.governorates()}
    rows = []
    for c in snapshot.capitals:
        g = coords[c.governorate]
        rows.append(
            {
                "pcode": g.pcode or g.id or None,
                "governorate": c.governorate,
                # the place's own city, at its own point; `counted_as` is the city it counts as
                # (Rif Dimashq, administered from Damascus: Douma, counted as Damascus)
                "capital": g.capital,
                "counted_as": c.capital,
                "controller": c.controller,
                "status": c.status,
                "since": iso(c.since),
                "since_latest": iso(c.since_latest),
                "lat": g.lat,
                "lon": g.lon,
                "at": iso(snapshot.at),
                "known_at": iso(snapshot.known_at),
                "events": ";".join(e.id for e in c.sources),
                "files": ";".join(sorted({e.source.file for e in c.sources})),
                "candidates": JOIN.join(
                    f"{ch.describe()} ({', '.join(e.id for e in ch.reports)})"
                    for ch in (*c.rivals, *c.candidates)
                ),
                "possible_controllers": JOIN.join(p or "(vacated)" for p in c.possible),
                "contested_by": JOIN.join(f"{e.kind} by {e.actor} ({e.id})" for e in c.contested_by),
                "lapsed": JOIN.join(e.id for e in c.lapsed),
                "conflicts": JOIN.join(
                    f"{ch.describe()}: {', '.join(e.id for e in ch.reports)}" for ch in c.conflicts
                ),
                # past the last report the state is carried forward from it: every row says so
                "record_ends": iso(snapshot.record_ends),
                "carried_forward": "yes" if snapshot.carried_forward else "no",
            }
        )
    return rows


def _csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    return "".join(_csv_chunks(rows, columns))


def _csv_chunks(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    """CSV text of ``rows`` (header first), a chunk of rows at a time (bounded memory)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for n, row in enumerate(rows, 1):
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
        if n % 2000 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def state(snapshot: Snapshot, fmt: str, shapes: bool = False) -> str:
    """The state of every capital as csv, json or geojson. ``shapes``: every row also carries
    the place's ``area_km2`` and ``population``, and a GeoJSON feature its polygon (places with
    shapes; the point otherwise, its coordinates kept as ``lon``/``lat``)."""
    from control.views.shapes import SHAPE_COLUMNS, measures

    rows = _state_rows(snapshot)
    if shapes:
        rows = [row | measures(row["governorate"]) for row in rows]
    if fmt == "csv":
        return _csv(rows, STATE_COLUMNS + (SHAPE_COLUMNS if shapes else []))
    data = snapshot.to_dict()
    if shapes:
        for c in data["capitals"]:
            c.update(measures(c["governorate"]))
    if fmt == "json":
        return to_json(data)
    full = {c["governorate"]: c for c in data["capitals"]}
    point_labels = ("pcode", "capital", "counted_as", "at", "known_at", "record_ends")
    features = [
        {
            "type": "Feature",
            # a stable id (the p-code, else the place's id, else its name) for joins and web maps
            "id": row["pcode"] or row["governorate"],
            "geometry": _geometry(row["governorate"], row["lon"], row["lat"], shapes),
            # every field of `replay --json` for this place, plus the point's labels
            "properties": full[row["governorate"]]
            | {k: row[k] for k in point_labels + (("lat", "lon") if shapes else ())},
        }
        for row in rows
    ]
    basis = snapshot.to_dict()["basis"]  # a foreign member: what the map rests on (RFC 7946 6.1)
    collection = {"type": "FeatureCollection", "basis": basis, "features": features}
    credit = gazetteer.current().shapes_credit if shapes else ""
    return to_json(collection | ({"credit": credit} if credit else {}))


def events(items: Sequence[Event], fmt: str) -> str:
    """The whole ledger, one row per event, as csv (flat: earliest, latest) or json (the one event
    shape of every command, ``control/model/event.schema.json``)."""
    return "".join(event_chunks(items, fmt))


def event_chunks(items: Iterable[Event], fmt: str) -> Iterator[str]:
    """:func:`events` written as it reads (bounded memory, byte for byte the same text)."""
    if fmt != "csv":
        yield from json_lines(e.to_dict() for e in items)
        return
    yield from _csv_chunks((event_record(e) for e in items), EVENT_COLUMNS)


INTERVAL_COLUMNS = [
    "id", "pcode", "place", "capital", "counted_as", "controller", "status", "candidates", "start",
    "end", "since", "since_latest", "sources", "files",
]  # fmt: skip


def interval_rows(timelines: Timelines, seat: str) -> Iterator[dict[str, Any]]:
    """One row per period of one (place, controller, status): the periods of each place tile its
    time from the start with no gap or overlap (a change under way is a period of its own, status
    ``uncertain``); the last period is still open (``end`` None). Made as ``timelines`` come."""
    for g, timeline in timelines:
        periods: list[tuple[Any, Any]] = []
        for t, state in timeline:
            key = _period_key(state)
            if periods and _period_key(periods[-1][1]) == key:
                continue
            periods.append((t, state))
        for n, (t, state) in enumerate(periods):
            end = periods[n + 1][0] if n + 1 < len(periods) else None
            yield (
                {
                    "id": f"{g.pcode or g.id or g.name}/{n + 1}",
                    "pcode": g.pcode or g.id or None,
                    "place": g.name,
                    "capital": g.capital,
                    "counted_as": g.seat(seat),
                    "controller": state.controller,
                    "status": state.status,
                    "candidates": JOIN.join(
                        ch.new_controller or f"(withdrawal by {ch.actor})"
                        for ch in (*state.rivals, *state.candidates)
                    ),
                    "start": iso(t),
                    "end": iso(end),
                    "since": iso(state.since),
                    "since_latest": iso(state.since_latest),
                    "sources": JOIN.join(e.id for e in state.sources),
                    "files": JOIN.join(sorted({e.source.file for e in state.sources})),
                    "_point": (g.lon, g.lat),
                }
            )


def _geometry(place: str, lon: float, lat: float, shapes: bool) -> dict[str, Any]:
    """A feature's geometry: the place's polygon (``shapes``, where it has one), else its point."""
    if shapes:
        found = gazetteer.current().by_name().get(place)
        if found is not None and found.shape is not None:
            return found.shape
    return {"type": "Point", "coordinates": [lon, lat]}


def _period_key(state: Any) -> tuple[Any, ...]:
    return (
        state.controller,
        state.status,
        tuple(c.new_controller for c in (*state.rivals, *state.candidates)),
    )


def intervals(timelines: Timelines, fmt: str, seat: str, shapes: bool = False) -> str:
    """Periods of control for GIS (QGIS Temporal Controller, kepler.gl): csv or geojson."""
    return "".join(interval_chunks(timelines, fmt, seat, shapes))


def interval_chunks(timelines: Timelines, fmt: str, seat: str, shapes: bool = False) -> Iterator[str]:
    """:func:`intervals` written as ``timelines`` come (bounded memory, byte for byte the same
    text as ``to_json`` of the whole collection). ``shapes``: each row also carries the place's
    ``area_km2`` and ``population``, and each feature the place's polygon (where it has one)."""
    from control.views.shapes import SHAPE_COLUMNS, measures

    rows = interval_rows(timelines, seat)
    columns = INTERVAL_COLUMNS + (SHAPE_COLUMNS if shapes else [])
    if shapes:
        rows = (row | measures(row["place"]) for row in rows)
    if fmt == "csv":
        yield from _csv_chunks(rows, columns)
        return
    features = (
        {
            "type": "Feature",
            "id": row["id"],
            "geometry": _geometry(row["place"], *row["_point"], shapes),
            "properties": {k: row[k] for k in columns},
        }
        for row in rows
    )
    credit = gazetteer.current().shapes_credit if shapes else ""
    if credit:  # a foreign member (RFC 7946 6.1): the polygons' licence asks for it wherever shipped
        import json

        yield '{\n  "credit": ' + json.dumps(credit, ensure_ascii=False) + ',\n  "features": '
    else:
        yield '{\n  "features": '  # to_json's sorted keys: "features", then "type"
    yield from json_lines(features, depth=1)
    yield ',\n  "type": "FeatureCollection"\n}\n'

"""Territory and people held: each controller's km² (and population) at an instant and over time.

Analysts measure control as territory (DeepStateMap's km² a day, Jusoor's monthly shares): this
module turns the fold's answers (a :class:`~control.fold.projection.Snapshot`, or each place's
step function) into shares of the gazetteer's area, from the ``area_km2`` stored with each place.
No geometry library is imported: areas were measured when the shapes were loaded.

Counting: a place ``held`` or ``contested`` counts for its holder; ``uncertain`` (a change under
way) for its last confirmed holder, its area also reported as ``uncertain_km2`` (the band of the
share chart); ``conflicting``, ``vacated`` and ``unknown`` places are rows of their own. The rows
add up to 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from control.model import gazetteer
from control.model.errors import UserError
from control.model.times import iso

#: The rows that are no controller's, after the controllers' (in this order).
OTHER_ROWS = ("conflicting", "vacated", "unknown")


def counted_for(controller: str | None, status: str) -> str:
    """The row a place's area counts in: its holder (held, contested; uncertain: the last
    confirmed holder), else "conflicting", "vacated" or "unknown"."""
    if status == "conflicting":
        return "conflicting"
    if status == "unknown":
        return "unknown"
    if controller is None:
        return "vacated"
    return controller


def weights(atlas: gazetteer.Gazetteer, by: str = "area") -> dict[str, float]:
    """Place name -> its weight: ``area_km2`` (places with a shape) or ``population`` (places
    with one); a :class:`UserError` when no place has one."""
    if by == "area":
        found = {p.name: float(p.area_km2) for p in atlas.places if p.area_km2 is not None}
        if not found:
            raise UserError(
                "--territory: this gazetteer's places have no shapes (give them polygons: "
                '`control gazetteer load FILE.geojson`, or [gazetteer] shapes = "FILE.geojson")'
            )
        return found
    if by == "population":
        found = {p.name: float(p.population) for p in atlas.places if p.population is not None}
        if not found:
            raise UserError("--by population: this gazetteer's places have no populations")
        return found
    raise UserError(f"--by: unknown measure {by!r}; choose area or population")


def shares(totals: Mapping[str, float], digits: int = 2) -> dict[str, float]:
    """Percentages of ``totals`` rounded to ``digits`` decimals that add up to exactly 100
    (largest remainder), or all 0 when the total is 0."""
    whole = sum(totals.values())
    if whole <= 0:
        return dict.fromkeys(totals, 0.0)
    unit = 10**digits
    exact = {k: v * 100 * unit / whole for k, v in totals.items()}
    floor = {k: int(v) for k, v in exact.items()}
    left = 100 * unit - sum(floor.values())
    for k in sorted(exact, key=lambda k: (floor[k] - exact[k], k))[:left]:
        floor[k] += 1
    return {k: v / unit for k, v in floor.items()}


def row_order(atlas: gazetteer.Gazetteer, rows: Iterable[str]) -> list[str]:
    """The controllers in the gazetteer's order, then :data:`OTHER_ROWS`, then anything else."""
    rows = set(rows)
    order = [c for c in atlas.controllers if c in rows]
    order += [r for r in OTHER_ROWS if r in rows]
    return order + sorted(rows - set(order))


@dataclass(frozen=True)
class Territory:
    """Territory held at one instant: per row, places, km², uncertain km², population."""

    at: datetime
    known_at: datetime | None
    rows: tuple[dict[str, Any], ...]
    places: tuple[dict[str, Any], ...]
    total_km2: float
    total_population: int | None
    unshaped: int
    shading: str
    credit: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "basis": {"at": iso(self.at), "known_at": iso(self.known_at)},
            "counting": "held and contested places count for their holder; uncertain ones for their "
            "last confirmed holder (also in uncertain_km2); conflicting, vacated and unknown are rows "
            "of their own; " + self.shading,
            "credit": self.credit,
            "total_km2": self.total_km2,
            "total_population": self.total_population,
            "places_without_shape": self.unshaped,
            "rows": list(self.rows),
            "places": list(self.places),
        }

    def csv_rows(self) -> list[dict[str, Any]]:
        basis = {"at": iso(self.at), "known_at": iso(self.known_at)}
        return [basis | r | {"places": len(r["places"])} for r in self.rows]


def territory(snapshot: Any, atlas: gazetteer.Gazetteer) -> Territory:
    """Territory held at the snapshot's instant: the places with a shape (or a population),
    counted by :func:`counted_for`."""
    areas = {p.name: p.area_km2 for p in atlas.places}
    people = {p.name: p.population for p in atlas.places}
    pcodes = {p.name: p.pcode or p.id or None for p in atlas.places}
    has_people = atlas.has_populations
    km2: dict[str, float] = {}
    uncertain: dict[str, float] = {}
    pop: dict[str, int] = {}
    names: dict[str, list[str]] = {}
    places = []
    unshaped = 0
    for c in snapshot.capitals:
        area, population = areas.get(c.governorate), people.get(c.governorate)
        row = counted_for(c.controller, c.status)
        if area is None:
            unshaped += 1
        if area is None and population is None:
            continue
        names.setdefault(row, []).append(c.governorate)
        km2[row] = km2.get(row, 0.0) + (area or 0.0)
        if c.status == "uncertain":
            uncertain[row] = uncertain.get(row, 0.0) + (area or 0.0)
        if population is not None:
            pop[row] = pop.get(row, 0) + population
        place = {
            "governorate": c.governorate,
            "pcode": pcodes.get(c.governorate),
            "controller": c.controller,
            "status": c.status,
            "counted_for": row,
            "area_km2": area,
        }
        if has_people:
            place["population"] = population
        places.append(place)
    if not km2:
        weights(atlas)  # the error: no shapes
    order = row_order(atlas, km2)
    pct = shares({r: km2[r] for r in order})
    pop_pct = shares({r: float(pop.get(r, 0)) for r in order}) if has_people else {}
    rows = []
    for r in order:
        row: dict[str, Any] = {
            "row": r,
            "name": atlas.controller_names.get(r, r),
            "places": names[r],
            "area_km2": round(km2[r], 3),
            "share_pct": pct[r],
            "uncertain_km2": round(uncertain.get(r, 0.0), 3),
        }
        if has_people:
            row["population"] = pop.get(r, 0)
            row["population_pct"] = pop_pct[r]
        rows.append(row)
    return Territory(
        at=snapshot.at,
        known_at=snapshot.known_at,
        rows=tuple(rows),
        places=tuple(places),
        total_km2=round(sum(km2.values()), 3),
        total_population=sum(pop.values()) if has_people else None,
        unshaped=unshaped,
        shading=atlas.shading,
        credit=atlas.shapes_credit,
    )


def territory_text(t: Territory) -> str:
    """The territory table for a terminal (names escaped by the caller's echo)."""
    people = t.total_population is not None
    lines = [
        f"Territory held at {iso(t.at)}"
        + (f", as known at {iso(t.known_at)}" if t.known_at else ", as known now")
        + f": {t.total_km2:,.1f} km² in {sum(len(r['places']) for r in t.rows)} places",
        f"Each place counts for its holder ({t.shading}); an uncertain one for its last confirmed holder.",
        "",
    ]
    head = f"{'':<26} {'places':>6} {'km²':>12} {'%':>7} {'uncertain km²':>14}"
    if people:
        head += f" {'people':>12} {'% people':>8}"
    lines.append(head)
    for r in t.rows:
        line = (
            f"{r['name'][:26]:<26} {len(r['places']):>6} {r['area_km2']:>12,.1f} {r['share_pct']:>7.2f} "
            f"{r['uncertain_km2']:>14,.1f}"
        )
        if people:
            line += f" {r['population']:>12,} {r['population_pct']:>8.2f}"
        lines.append(line.rstrip())
    if t.unshaped:
        lines.append(f"({t.unshaped} place(s) without a shape are not counted)")
    if t.credit:
        lines += ["", t.credit]
    return "\n".join(lines) + "\n"


# --- over time: the share chart -----------------------------------------------------------------


@dataclass(frozen=True)
class ShareSeries:
    """Share (%) of the measure each row holds over time: ``values[row][i]`` on ``[times[i],
    times[i+1])``; ``uncertain[row][i]``: the part of it under a change under way."""

    times: tuple[datetime, ...]
    values: dict[str, tuple[float, ...]]
    uncertain: dict[str, tuple[float, ...]]
    total: float
    by: str


def share_series(
    places: Sequence[gazetteer.Governorate],
    updates: Sequence[tuple[datetime, int, Any]],
    start: datetime,
    end: datetime,
    atlas: gazetteer.Gazetteer,
    by: str = "area",
) -> ShareSeries:
    """Each row's share of the total measure (km², or people) at every step of any place in
    ``[start, end]``, from every place's steps in time order ``(instant, place index,
    (controller, status))`` (what :func:`control.store.answers.chart_inputs` gives). One sweep:
    each step moves its place's weight from its previous row to its new one."""
    weight_of = weights(atlas, by)
    w = [weight_of.get(g.name, 0.0) for g in places]
    total = sum(w)
    held: dict[str, float] = {"unknown": total}  # a place before its first step: not known
    under: dict[str, float] = {}
    current: list[tuple[str, bool]] = [("unknown", False)] * len(places)
    times: list[datetime] = []
    snaps: list[tuple[dict[str, float], dict[str, float]]] = []

    def record(t: datetime) -> None:
        snap = (dict(held), dict(under))
        if times and times[-1] == t:
            snaps[-1] = snap
        else:
            times.append(t)
            snaps.append(snap)

    for t, i, phase in sorted(updates, key=lambda u: (u[0], u[1])):
        if t > end:
            break
        row, flag = current[i]
        held[row] -= w[i]
        if flag:
            under[row] -= w[i]
        row = counted_for(*phase) if phase is not None else "unknown"
        flag = phase is not None and phase[1] == "uncertain"
        current[i] = (row, flag)
        held[row] = held.get(row, 0.0) + w[i]
        if flag:
            under[row] = under.get(row, 0.0) + w[i]
        record(max(t, start))
    if not times or times[0] > start:
        times.insert(0, start)
        snaps.insert(0, ({"unknown": total}, {}))
    if times[-1] < end:
        times.append(end)
        snaps.append(snaps[-1])
    rows = row_order(atlas, {r for h, _ in snaps for r, v in h.items() if v > 1e-9})
    scale = 100.0 / total if total else 0.0
    values = {r: tuple(round(h.get(r, 0.0) * scale, 6) for h, _ in snaps) for r in rows}
    uncertain = {r: tuple(round(u.get(r, 0.0) * scale, 6) for _, u in snaps) for r in rows}
    return ShareSeries(tuple(times), values, uncertain, round(total, 3), by)


def show_territory(
    snapshot: Any, atlas: gazetteer.Gazetteer, as_json: bool, as_csv: bool, controller: str | None
) -> None:
    """``control replay --territory``: the table as text, JSON or CSV on stdout."""
    import sys

    import click

    from control.views.render import csv_rows, terminal_safe, to_json

    if controller:
        raise UserError("--territory: counts every controller's territory; drop --controller")
    if as_json and as_csv:
        raise UserError("--csv: give --json or --csv, not both")
    found = territory(snapshot, atlas)
    if as_csv:
        for chunk in csv_rows(found.csv_rows()):
            sys.stdout.write(chunk)
    elif as_json:
        click.echo(to_json(found.to_dict()), nl=False)
    else:
        click.echo(terminal_safe(territory_text(found)), nl=False)

"""Dated control maps (snapshots) as observations, and the ordinary reports they imply.

A snapshot is a map of one source as of one instant: each place it covers is *observed* held by a
controller (and maybe contested). Pure functions, no store:

* :func:`read_map` reads a GeoJSON map (features naming places, or polygons of the area one actor
  holds, overlaid on the gazetteer's shapes) into a :class:`Map` of :class:`Observation` s;
* :func:`derive` turns every stored map into the reports the fold already understands: a place
  held by A in one map and by B in the source's next map is a ``capture`` by B (from A) whose
  window runs between the two maps; a source's first word on a place that differs from the
  baseline is a capture since the baseline; two sources' maps of the same instant that disagree
  each give a report of their controller (rival reports: the fold's order rule makes the place
  ``conflicting``); a contested observation is a ``claim`` by the contesting actor;
* :func:`reconcile` compares what the maps imply with what the ledger holds: new reports are
  added, reports the maps no longer imply (a corrected map, a map inserted between two others)
  are retracted by ``correction`` events, never edited.

Derived reports are a function of the stored maps only (never of other reports), with ids made
from their content, so re-importing a map adds nothing and the derivation can always be redone.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from control.model import gazetteer
from control.model.errors import UserError
from control.model.events import Event, Source
from control.model.times import Window, iso

#: The ``file`` of every derived report starts with this (then ``source@as_of``).
PREFIX = "snapshot:"
#: Statuses a map may give (anything else is refused): held, or held but contested.
STATUSES = ("held", "contested")
#: Property names tried, in order, for the place, when ``--place-field`` is not given.
PLACE_FIELDS = ("place", "name", "pcode", "p_code", "id")
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")


class Observation(NamedTuple):
    """One place as one map shows it."""

    place: str
    controller: str | None  # None: the map says only that it is contested (an area map, no --rest)
    status: str = "held"
    contested_by: str | None = None
    share: float | None = None  # an area map: the share of the place's area inside the polygons
    quote: str = ""  # the feature as the map gives it (provenance)


class Map(NamedTuple):
    """One dated map of one source, as stored (one event per map)."""

    source: str
    as_of: datetime
    reported_at: datetime
    label: str  # the file's name
    observations: tuple[Observation, ...]
    #: what the map was read from: the file's text and every setting of its reading (see
    #: :func:`input_digest`); a later import of the same input need not read it again
    input: str = ""

    def digest(self) -> str:
        """What makes two imports of a map the same map (its reported time and observations)."""
        text = json.dumps([iso(self.reported_at), [list(o) for o in self.observations]], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "as_of": iso(self.as_of),
            "reported_at": iso(self.reported_at),
            "label": self.label,
            "digest": self.digest(),
            "observations": [list(o) for o in self.observations],
            "input": self.input,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Map:
        return cls(
            data["source"],
            datetime.fromisoformat(data["as_of"]),
            datetime.fromisoformat(data["reported_at"]),
            data["label"],
            tuple(Observation(*o) for o in data["observations"]),
            data.get("input", ""),
        )


def input_digest(text: str, settings: Sequence[Any]) -> str:
    """The digest of a map file's text and the settings it is read with (source, instants,
    property names, overlay, the gazetteer's name and version): equal digests, equal maps."""
    g = gazetteer.current()
    head = json.dumps([*settings, g.name, g.version], default=str)
    return hashlib.sha256(head.encode() + b"\0" + text.encode()).hexdigest()[:32]


def check_source(name: str) -> str:
    if not SOURCE_NAME.fullmatch(name):
        raise UserError(
            f"--source: {name!r} is not a source name (lower-case letters, digits, '.', '_', '-'; "
            "at most 40 characters, e.g. deepstate)"
        )
    return name


class Fields(NamedTuple):
    """Which feature properties name the place, the controller, the status and the contester."""

    place: str | None = None  # None: try PLACE_FIELDS
    controller: str = "controller"
    status: str = "status"
    contested_by: str = "contested_by"


class Overlay(NamedTuple):
    """How an area map (polygons, no place names) is read."""

    actor: str | None = None  # who holds the polygons (else each feature's controller property)
    threshold: float = 0.5
    rest: str | None = None  # who holds what lies outside


def _controller_index() -> dict[str, str]:
    g = gazetteer.current()
    index = {code: code for code in g.controllers} | {_fold(code): code for code in g.controllers}
    for code, names in g.controller_aliases.items():
        for name in names:
            index.setdefault(_fold(name), code)
    for code, name in g.controller_names.items():
        index.setdefault(_fold(name), code)
    return index


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def controller_of(text: Any, where: str, index: Mapping[str, str]) -> str:
    found = index.get(text) if isinstance(text, str) else None  # a code as given: the common case
    if found is not None:
        return found
    if not isinstance(text, str) or _fold(text) not in index:
        known = ", ".join(sorted(set(index.values()))[:12])
        raise UserError(f"{where}: unknown controller {text!r}; known: {known}")
    return index[_fold(text)]


def read_features(text: str, where: str) -> list[dict[str, Any]]:
    """The features of a GeoJSON map (a FeatureCollection, or one Feature), each with an
    object of properties; a one-line error naming the file otherwise."""
    from control.model import shapes as geo

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: not GeoJSON: not JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise UserError(f"{where}: nested too deeply to be GeoJSON") from None
    features = geo.features_of(data, where)
    for i, f in enumerate(features):
        props = f.get("properties")
        if props is not None and not isinstance(props, dict):
            raise UserError(f"{where}: {geo.feature_label(f, i)}: properties must be an object")
    return features


def read_map(
    features: Sequence[dict[str, Any]],
    where: str,
    fields: Fields | None = None,
    overlay: Overlay | None = None,
    skip_unknown: bool = False,
) -> tuple[list[Observation], list[str]]:
    """The observations of one map's features, and the features skipped (unknown places, with
    ``skip_unknown``). A map whose features name places is read place by place; a map of
    polygons naming no place is overlaid on the gazetteer's shapes."""
    fields = fields or Fields()
    overlay = overlay or Overlay()
    named = [_place_value(f, fields) is not None for f in features]
    if any(named) and not all(named):
        i = named.index(False)
        raise UserError(
            f"{where}: feature {i} names no place ({_place_help(fields)}) while others do; "
            "a map either names its places or gives areas"
        )
    if all(named):
        return _named(features, where, fields, skip_unknown)
    return _areas(features, where, fields, overlay), []


def _place_value(feature: dict[str, Any], fields: Fields) -> Any:
    props = feature.get("properties") or {}
    if fields.place is not None:
        return props.get(fields.place)
    for name in PLACE_FIELDS:
        if props.get(name) not in (None, ""):
            return props[name]
    return None


def _place_help(fields: Fields) -> str:
    return f"property {fields.place!r}" if fields.place else "properties " + ", ".join(PLACE_FIELDS)


#: The feature's properties as provenance: one encoder for every feature (json.dumps with options
#: makes a new encoder per call, a third of a large series' import)
_QUOTE = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode


def _quote(feature: dict[str, Any]) -> str:
    return _QUOTE(feature.get("properties") or {})


def _named(
    features: Sequence[dict[str, Any]], where: str, fields: Fields, skip_unknown: bool
) -> tuple[list[Observation], list[str]]:
    g = gazetteer.current()
    by_name, index = g.by_name(), g.index()
    controllers = _controller_index()
    seen: dict[str, int] = {}
    out: list[Observation] = []
    unknown: list[str] = []
    for i, f in enumerate(features):
        props = f.get("properties") or {}
        value = _place_value(f, fields)
        text = str(value)
        place = by_name.get(text) or index.get(gazetteer._key(text))
        if place is None:
            unknown.append(f"feature {i}: {text!r}")
            continue
        if place.name in seen:
            raise UserError(
                f"{where}: feature {i}: {place.name} is also feature {seen[place.name]}; "
                "a map gives each place once"
            )
        seen[place.name] = i
        at = f"{where}: feature {i} ({place.name})"
        given = props.get(fields.controller)
        controller = controllers.get(given) if isinstance(given, str) else None
        if controller is None:
            controller = controller_of(given, f"{at}: {fields.controller}", controllers)
        status = props.get(fields.status) or "held"
        if status not in STATUSES:
            raise UserError(f"{at}: {fields.status} {status!r} is not one of {', '.join(STATUSES)}")
        contester = props.get(fields.contested_by) or None
        if contester is not None:
            contester = controller_of(contester, f"{at}: {fields.contested_by}", controllers)
            if status == "held":
                status = "contested"
        out.append(Observation(place.name, controller, status, contester, None, _quote(f)))
    if unknown and not skip_unknown:
        shown = "; ".join(unknown[:5]) + (f"; and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise UserError(
            f"{where}: {len(unknown)} unknown place(s): {shown} (fix the names or the gazetteer, or "
            "give --skip-unknown to import the rest and list them)"
        )
    return out, unknown


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise UserError(f"{where}: a polygon ring needs at least 4 positions")
    for pos in ring:
        if (
            not isinstance(pos, list)
            or len(pos) < 2
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in pos[:2])
            or not (-180 <= pos[0] <= 180 and -90 <= pos[1] <= 90)
        ):
            raise UserError(f"{where}: position {pos!r} is not a longitude, latitude pair in range")


def check_area_geometry(geometry: Any, where: str) -> None:
    """A Polygon or MultiPolygon with positions in range, or a one-line error."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise UserError(
            f"{where}: geometry {kind or 'missing'}: an area map needs Polygon or MultiPolygon features "
            "(or features naming places)"
        )
    coords = geometry.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        raise UserError(f"{where}: {kind} has no coordinates")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise UserError(f"{where}: {kind} has an empty polygon")
        for ring in polygon:
            _check_ring(ring, where)


def _areas(
    features: Sequence[dict[str, Any]],
    where: str,
    fields: Fields,
    overlay: Overlay,
) -> list[Observation]:
    controllers = _controller_index()
    actors: set[str] = set()
    for i, f in enumerate(features):
        check_area_geometry(f.get("geometry"), f"{where}: feature {i}")
        given = (f.get("properties") or {}).get(fields.controller)
        if given is not None:
            actors.add(controller_of(given, f"{where}: feature {i}: {fields.controller}", controllers))
    if overlay.actor is not None:
        actors = {overlay.actor}
    if len(actors) != 1:
        raise UserError(
            f"{where}: an area map gives the area of one actor: "
            + ("name it with --actor" if not actors else f"its features name {', '.join(sorted(actors))}")
        )
    (actor,) = actors
    if overlay.rest == actor:
        raise UserError(f"--rest: {actor!r} is the actor whose area the map gives")
    if not gazetteer.current().has_shapes:
        raise UserError(
            f"{where}: an area map (polygons naming no place) needs places with shapes; "
            "this store's gazetteer has none"
        )
    shares = overlay_shares([f["geometry"] for f in features], where)
    out = []
    for place in sorted(shares):
        share = shares[place]
        quote = f"{share:.4f} of its area inside the area held by {actor} ({len(features)} feature(s))"
        if share >= overlay.threshold:
            out.append(Observation(place, actor, "held", None, round(share, 6), quote))
        elif share > 0:
            out.append(Observation(place, overlay.rest, "contested", actor, round(share, 6), quote))
        elif overlay.rest is not None:
            out.append(Observation(place, overlay.rest, "held", None, 0.0, quote))
    return out


def overlay_shares(geometries: Sequence[Any], where: str) -> dict[str, float]:
    """Each shaped place's share of its geodesic area (km², as stored) lying inside the union of
    ``geometries`` (the map's polygons, checked valid): shapely and pyproj, imported here only."""
    from shapely import union_all

    from control.model import shapes as geo

    held = union_all([geo.check_valid(g, f"{where}: feature {i}") for i, g in enumerate(geometries)])
    places = gazetteer.governorates()
    shares = {p.name: 0.0 for p in places if p.shape is not None and p.area_km2}
    shares.update(geo.coverage(places, held))
    return shares


# --- from maps to reports -------------------------------------------------------------------


def _stamp(t: datetime) -> str:
    return t.strftime("%Y%m%dT%H%MZ")


def _file(source: str, as_of: datetime) -> str:
    return f"{PREFIX}{source}@{iso(as_of)}"


def _id(kind: str, source: str, as_of: datetime, place: str, content: Sequence[Any]) -> str:
    p = gazetteer.current().by_name().get(place)
    key = (p.pcode or p.id) if p is not None and (p.pcode or p.id) else gazetteer._key(place)[:24]
    digest = hashlib.sha256(json.dumps([kind, source, place, *content], default=str).encode()).hexdigest()
    return f"snap-{source}-{_stamp(as_of)}-{key}-{kind}-{digest[:8]}"


def derive(maps: Iterable[Map], baseline: Mapping[str, str], baseline_as_of: datetime) -> dict[str, Event]:
    """Every report the maps imply (id -> event): see the module's rules. ``baseline``: place ->
    its baseline controller ("" if unknown). Maps are taken per source in order of as-of; of two
    maps of one source and instant, the later one given (a corrected map) is the one in force."""
    effective: dict[tuple[str, datetime], Map] = {}
    for m in maps:
        effective[(m.source, m.as_of)] = m
    # what each source says of each place at each instant, for rival reports
    said: dict[tuple[datetime, str], list[tuple[str, str, datetime]]] = {}
    by_source: dict[str, list[Map]] = {}
    for (source, _), m in sorted(effective.items()):
        by_source.setdefault(source, []).append(m)
    instants: dict[datetime, int] = {}
    for m in effective.values():
        instants[m.as_of] = instants.get(m.as_of, 0) + 1
    for m in effective.values():
        if instants[m.as_of] > 1:
            for o in m.observations:
                if o.controller is not None:
                    said.setdefault((m.as_of, o.place), []).append((m.source, o.controller, m.reported_at))
    out: dict[str, Event] = {}
    for source, series in by_source.items():
        last: dict[str, tuple[str, datetime]] = {}  # place -> (controller or "", when last observed)
        for m in series:
            file = _file(source, m.as_of)
            for o in m.observations:
                before, since = last.get(o.place, (baseline.get(o.place, ""), baseline_as_of))
                if o.controller is not None:
                    rivals = [
                        (s, r)
                        for s, c, r in said.get((m.as_of, o.place), ())
                        if s != source and c != o.controller
                    ]
                    if since < m.as_of and (o.controller != before or rivals):
                        reported = max([m.reported_at, *(r for _, r in rivals)])
                        why = (
                            f"{before or 'nobody known'} at {iso(since)}, {o.controller} at {iso(m.as_of)}"
                            if o.controller != before
                            else f"{o.controller} at {iso(m.as_of)} as before; rival maps of that instant: "
                            + ", ".join(sorted(s for s, _ in rivals))
                        )
                        window = Window(since, m.as_of)
                        content = [o.controller, before, window, reported]
                        eid = _id("capture", source, m.as_of, o.place, content)
                        out[eid] = Event(
                            eid,
                            "capture",
                            o.place,
                            window,
                            reported,
                            Source(file, o.quote),
                            actor=o.controller,
                            previous=before or None,
                            when="between maps",
                            note=f"derived from the maps of {source}: {why}"
                            + (f" (share {o.share:.4f})" if o.share is not None else ""),
                        )
                    last[o.place] = (o.controller, m.as_of)
                if o.status == "contested" and o.contested_by and since < m.as_of:
                    window = Window(since, m.as_of)
                    eid = _id("claim", source, m.as_of, o.place, [o.contested_by, window, m.reported_at])
                    out[eid] = Event(
                        eid,
                        "claim",
                        o.place,
                        window,
                        m.reported_at,
                        Source(file, o.quote),
                        actor=o.contested_by,
                        when="between maps",
                        note=f"derived from the map of {source} as of {iso(m.as_of)}: contested by "
                        + o.contested_by
                        + (f" (share {o.share:.4f})" if o.share is not None else ""),
                    )
    return out


class Plan(NamedTuple):
    """What an import appends: new reports, corrections of reports the maps no longer imply."""

    events: list[Event]
    added: int
    retracted: int
    restored: int


def reconcile(desired: Mapping[str, Event], existing: Iterable[Event], reported_at: datetime) -> Plan:
    """Reports to append so that the derived reports in force are exactly ``desired``.

    ``existing``: every derived report and correction already in the ledger (``file`` starting
    with :data:`PREFIX`). A report no longer implied is retracted (a correction at
    ``reported_at`` or its own report time, whichever is later); one implied again after a
    retraction is restored by a correction of that correction (the fold's rule)."""
    known = {e.id: e for e in existing}
    corrections = {e.id: e for e in known.values() if e.kind == "correction"}
    by_target: dict[str, list[str]] = {}
    for c in corrections.values():
        for t in c.targets:
            by_target.setdefault(t, []).append(c.id)
    memo: dict[str, bool] = {}

    def in_force(cid: str) -> bool:  # a correction in force: none in force retracts it
        if cid not in memo:
            memo[cid] = not any(in_force(r) for r in by_target.get(cid, ()))
        return memo[cid]

    def live_retractors(eid: str) -> list[str]:
        return sorted(r for r in by_target.get(eid, ()) if in_force(r))

    events: list[Event] = []
    added = retracted = restored = 0
    for eid in sorted(desired):
        if eid not in known:
            events.append(desired[eid])
            added += 1
            continue
        for r in live_retractors(eid):
            fix = corrections[r]
            again = len(by_target.get(r, ()))
            at = max(reported_at, fix.reported_at)
            events.append(_correction(fix, at, "restored: a map implies it again", again))
            restored += 1
    for eid in sorted(known):
        e = known[eid]
        if e.kind == "correction" or eid in desired or live_retractors(eid):
            continue
        again = len(by_target.get(eid, ()))
        events.append(_correction(e, max(reported_at, e.reported_at), "no longer implied by the maps", again))
        retracted += 1
    return Plan(events, added, retracted, restored)


def _correction(target: Event, at: datetime, why: str, again: int) -> Event:
    """A correction of ``target``; ``again``: how many corrections of it there are already (so a
    report retracted, restored and retracted again gets a fresh id each time)."""
    return Event(
        f"{target.id}-fix{again + 1}",
        "correction",
        target.place,
        Window(at, at),
        at,
        Source(target.source.file, target.source.quote),
        targets=(target.id,),
        scope=target.scope,
        note=f"snapshot import: {why}",
    )

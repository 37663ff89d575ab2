"""The interactive page: one self-contained, offline HTML file (``control page``).

Every state the page shows is computed here by the project's fold (:func:`projection.replay`) and
embedded as data; the page's script only looks a time up (binary search) and draws. Nothing of
the rules is implemented twice.

Data layout (``build_data``), times in whole seconds since the epoch (UTC):

* ``places``: the governorates in gazetteer order (name, capital, coordinates, the city counted);
* ``worlds``: ``full`` (the record, or ``--known-at`` of it) and ``known`` (at each instant, only
  what had been reported by then), each with one interval list per place (``[[start, state], ...]``,
  a state holding from its start to the next start), the headline's intervals, and the instants
  where anything changes; with a scenario, ``record_full``/``record_known`` beside them;
* ``states``: the distinct capital states the intervals point to;
* ``events``: every report of the world drawn, as text; ``history``: each place's events with the
  remarks of :func:`history.history`.

The page is rendered from ``control/views/templates/page.html`` (+ ``page.css``, ``page.js``). Ledger
text reaches it only inside ``<script type="application/json">`` with ``<``, ``>``, ``&`` and
U+2028/2029 escaped, and the script shows it with ``textContent`` only. A Content-Security-Policy
allows the one inline script (by its hash) and no network at all.

Long: the page's data (every state the slider can reach, for the record and a scenario) is
built in one pass over the fold's answers; the HTML, script and style are templates beside it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from control.fold.phases import place_groups
from control.fold.projection import DEFAULT_HORIZON, Snapshot, known, replay
from control.model import gazetteer
from control.model.events import Event
from control.model.gazetteer import Gazetteer
from control.model.times import iso, parse_instant
from control.views import display

#: The slider runs from the record's beginning to the first local midnight (the gazetteer's time
#: zone) at least this long after its last report (26 Nov - 9 Dec 2024 for the seeds).
TAIL = timedelta(hours=12)


@dataclass(frozen=True)
class Scenario:
    """What the page needs to know of a scenario: its name, its words, and the record beside it."""

    name: str
    description: str
    record: Sequence[Event]


def _next_midnight(instant: datetime, atlas: Gazetteer) -> datetime:
    """The first midnight, in the gazetteer's time zone, at or after ``instant`` (in UTC)."""
    local = instant.astimezone(atlas.zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if midnight < local:
        midnight += timedelta(days=1)
    return midnight.astimezone(UTC)


def _seconds(instant: datetime) -> int:
    return int(instant.timestamp())


def _edges(events: Sequence[Event], start: datetime, end: datetime) -> list[datetime]:
    """Every instant at which the fold's answer can change, within ``[start, end]``.

    The fold's answer at ``at`` (known at ``at`` too, for the "known" world) depends on ``at`` only
    through comparisons with event times: windows (and the changes merged from them, whose bounds
    are bounds of windows or report times), report times, and a statement's window end plus the
    contest horizon. Between two consecutive such instants it is constant.
    """
    found = {start, end}
    for e in events:
        for t in (e.window.earliest, e.window.latest, e.window.latest + DEFAULT_HORIZON, e.reported_at):
            if start < t < end:
                found.add(t)
    return sorted(found)


def _headline(snapshot: Snapshot, main: str) -> list[Any]:
    """[count, low, high, disputed]: the government's holdings, and the range while changes are
    under way (low: as if every change away from it had happened; high: every change to it)."""
    count = snapshot.holding(main).count
    certain, possible = set(), set()
    for c in snapshot.capitals:
        if c.controller == main and c.status != "conflicting":
            possible.add(c.capital)
            if c.status != "uncertain":
                certain.add(c.capital)
        elif c.status == "uncertain" and any(ch.new_controller == main for ch in c.candidates):
            possible.add(c.capital)
    disputed = [[d.capital, [p for p in d.possible]] for d in snapshot.disputed]
    return [count, min(count, len(certain)), max(count, len(possible)), disputed]


class _Table:
    """Distinct JSON values, numbered in order of first use."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.index: dict[str, int] = {}

    def add(self, value: Any) -> int:
        key = json.dumps(value, sort_keys=True)
        if key not in self.index:
            self.index[key] = len(self.items)
            self.items.append(value)
        return self.index[key]


class _Cities:
    """How many cities have at least one place counted (kept as places come and go)."""

    def __init__(self) -> None:
        self.places: dict[str, int] = {}
        self.count = 0

    def move(self, city: str, sign: int) -> None:
        before = self.places.get(city, 0)
        self.places[city] = before + sign
        self.count += (before + sign > 0) - (before > 0)


def world_intervals(
    events: Sequence[Event],
    times: Sequence[datetime],
    known_at: datetime | None,
    as_known: bool,
    seat: str,
    table: _Table,
    main: str,
) -> dict[str, Any]:
    """Per-place interval lists (and the headline's), from each place's own fold
    (:func:`control.fold.phases.place_timelines`: the cost grows with each place's reports, never
    with the whole ledger per instant), combined into the headline by one sweep in time order.

    ``as_known``: at each instant, only what had been reported by then (and by ``known_at``).
    """
    from control.fold.phases import place_timelines

    start, end = times[0], times[-1]
    steps: list[tuple[datetime, int, Any]] = []  # (when, place index, CapitalState)
    timelines = place_timelines(events, start, end, known_at, as_known, seat)
    intervals: list[list[list[int]]] = [[] for _ in timelines]
    for index, (_, timeline) in enumerate(timelines):
        last = None
        for t, state in timeline:
            code = table.add(_state(state))
            if code != last:
                intervals[index].append([_seconds(t), code])
                steps.append((t, index, state))
                last = code
    # The headline: per city, how many of its places count for `main`, by one sweep.
    held, certain, possible = _Cities(), _Cities(), _Cities()
    disputed: dict[str, dict[int, tuple[Any, ...]]] = {}
    current: dict[int, Any] = {}
    headline: list[list[Any]] = []
    changes: list[int] = []

    def count(state: Any, sign: int) -> None:
        city = state.capital
        if state.controller == main and state.status != "conflicting":
            held.move(city, sign)
            possible.move(city, sign)
            if state.status != "uncertain":
                certain.move(city, sign)
        elif state.status == "uncertain" and any(ch.new_controller == main for ch in state.candidates):
            possible.move(city, sign)

    steps.sort(key=lambda step: (step[0], step[1]))
    for n, (t, index, state) in enumerate(steps):
        if index in current:
            count(current[index], -1)
            found = disputed.get(current[index].capital, {})
            found.pop(index, None)
            if not found:
                disputed.pop(current[index].capital, None)
        current[index] = state
        count(state, +1)
        if state.status == "conflicting":
            disputed.setdefault(state.capital, {})[index] = state.possible
        if n + 1 < len(steps) and steps[n + 1][0] == t:
            continue  # finish every place that changes at this instant first
        total = held.count
        line = [
            total,
            min(total, certain.count),
            max(total, possible.count),
            [
                [
                    city,
                    sorted({p for poss in found.values() for p in poss}, key=lambda p: (p is None, p or "")),
                ]
                for city, found in sorted(disputed.items())
                if found
            ],
        ]
        if not headline or headline[-1][1:] != line:
            headline.append([_seconds(t), *line])
        if t != start:
            changes.append(_seconds(t))
    return {"places": intervals, "headline": headline, "changes": sorted(set(changes))}


def _state(c: Any) -> dict[str, Any]:
    return {
        "controller": c.controller,
        "status": c.status,
        "since": iso(c.since),
        "since_latest": iso(c.since_latest),
        "sources": [e.id for e in c.sources],
        "candidates": [
            {"controller": ch.new_controller, "change": ch.describe(), "events": [e.id for e in ch.reports]}
            for ch in c.candidates
        ],
        "possible": list(c.possible),
        "contested_by": [e.id for e in c.contested_by],
        "lapsed": [e.id for e in c.lapsed],
    }


#: The packed rows' fields, in order (the page's script turns rows back into objects).
EVENT_FIELDS = (
    "id", "kind", "place", "actor", "scope", "earliest", "latest", "reported", "file", "quote",
    "previous", "targets", "when", "note", "scenario",
)  # fmt: skip
#: Values a packed event row leaves out at its end (the script restores them).
EVENT_DEFAULTS = {"previous": None, "targets": [], "when": "", "note": "", "scenario": None}
STATE_FIELDS = (
    "controller", "status", "since", "since_latest", "sources", "candidates", "possible",
    "contested_by", "lapsed",
)  # fmt: skip


def _packed(data: dict[str, Any]) -> dict[str, Any]:
    """The page's data made small for thousands of places: events and states as rows of values
    (field names once, in ``packed``), events cited by their index, places by theirs, times in
    seconds. :func:`unpacked_state` (and the script) undo it."""
    events: list[Event] = data["events"]
    number = {e.id: i for i, e in enumerate(events)}
    place_number = {p["name"]: i for i, p in enumerate(data["places"])}

    remarks = _Table()  # a history entry: its event's index, or [index, remark's number]

    def cite(ids: list[str]) -> list[int | str]:  # an event not drawn (the record's, beside a
        return [number.get(i, i) for i in ids]  # scenario) keeps its id

    def seconds(text: str | None) -> int | None:
        return None if text is None else _seconds(parse_instant(text))

    def state_row(st: dict[str, Any]) -> list[Any]:
        return [
            st["controller"],
            st["status"],
            seconds(st["since"]),
            seconds(st["since_latest"]),
            cite(st["sources"]),
            [[c["controller"], c["change"], cite(c["events"])] for c in st["candidates"]],
            st["possible"],
            cite(st["contested_by"]),
            cite(st["lapsed"]),
        ]

    def event_row(e: Event) -> list[Any]:
        fields = _event(e)
        fields["place"] = place_number.get(fields["place"], fields["place"])
        row = [fields[k] for k in EVENT_FIELDS]
        while len(row) > 1 and EVENT_FIELDS[len(row) - 1] in EVENT_DEFAULTS:
            if row[-1] != EVENT_DEFAULTS[EVENT_FIELDS[len(row) - 1]]:
                break
            row.pop()
        return row

    def lanes(world: dict[str, Any]) -> dict[str, Any]:
        """Each place's intervals as one flat row: start, state, then (seconds since the last
        start, state) for the rest."""
        flat = []
        for intervals in world["places"]:
            row: list[int] = []
            last = 0
            for start, code in intervals:
                row += [start - last, code]
                last = start
            flat.append(row)
        return world | {"places": flat}

    return data | {
        "packed": {
            "event": list(EVENT_FIELDS),
            "event_defaults": EVENT_DEFAULTS,
            "state": list(STATE_FIELDS),
        },
        "worlds": {name: lanes(world) for name, world in data["worlds"].items()},
        "states": [state_row(st) for st in data["states"]],
        "events": [event_row(e) for e in events],
        "remarks": remarks.items,
        "history": [
            [
                number[i] if not remark else [number[i], remarks.add(remark)]
                for i, remark in data["history"][p["name"]]
            ]
            for p in data["places"]
        ],
    }


def unpacked_lane(data: dict[str, Any], world: str, place: int) -> list[list[int]]:
    """One place's interval list (``[[start, state], ...]``) in packed page data."""
    flat, out, start = data["worlds"][world]["places"][place], [], 0
    for i in range(0, len(flat), 2):
        start += flat[i]
        out.append([start, flat[i + 1]])
    return out


def unpacked_state(data: dict[str, Any], code: int) -> dict[str, Any]:
    """State ``code`` of packed page data, as :func:`_state` gives it (what the script rebuilds)."""
    row = dict(zip(STATE_FIELDS, data["states"][code], strict=True))
    numbered = [e[0] for e in data["events"]]

    def ids(cited: list[int | str]) -> list[str]:
        return [numbered[i] if isinstance(i, int) else i for i in cited]

    def when(value: int | None) -> str | None:
        return None if value is None else iso(datetime.fromtimestamp(value, UTC))

    return row | {
        "since": when(row["since"]),
        "since_latest": when(row["since_latest"]),
        "sources": ids(row["sources"]),
        "candidates": [{"controller": c, "change": d, "events": ids(n)} for c, d, n in row["candidates"]],
        "contested_by": ids(row["contested_by"]),
        "lapsed": ids(row["lapsed"]),
    }


def _event(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind,
        "place": e.place,
        "actor": e.actor,
        "previous": e.previous,
        "targets": list(e.targets),
        "scope": e.scope,
        "earliest": _seconds(e.window.earliest),
        "latest": _seconds(e.window.latest),
        "when": e.when,
        "reported": _seconds(e.reported_at),
        "file": e.source.file,
        "quote": e.source.quote,
        "note": e.note,
        "scenario": e.scenario,
    }


def _row_order(
    atlas: Gazetteer,
    events: Sequence[Event],
    known_at: datetime | None,
    seat: str,
    first: Sequence[str | None],
) -> list[int]:
    """Swimlane order exactly as the timeline chart has it (``chartdata.timeline_rows``): the
    focus controller's losses first, by when, then the places it held at the start, then the rest
    (``first``: each place's controller at the start); without a focus, the gazetteer's order."""
    from control.fold.projection import transitions

    names = [g.name for g in atlas.places]
    focus = atlas.focus
    if focus is None:
        return list(range(len(names)))
    lost: dict[str, datetime] = {}
    for t in transitions(events, known_at, seat):
        if t.before == focus:
            lost[t.governorate] = min(lost.get(t.governorate, t.window.latest), t.window.latest)

    def order(i: int) -> tuple[int, str, str]:
        if names[i] in lost:
            return (0, iso(lost[names[i]]) or "", names[i])
        return (1 if first[i] == focus else 2, "", names[i])

    return sorted(range(len(names)), key=order)


def build_data(
    atlas: Gazetteer,
    events: Sequence[Event],
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
    scenario: Scenario | None = None,
    recorded_at: datetime | None = None,
    of: int | None = None,
) -> dict[str, Any]:
    """Everything the page draws of the places of ``atlas``, computed by the fold (see the
    module's docstring). ``of``: the places are a selection of that many (said in the title).
    The headline counts the gazetteer's focus controller; without one, the controller leading at
    the end of the record."""
    from control.fold.history import history
    from control.views.plotting import palette

    world = known(events, known_at)  # what the page may show at all
    others = known(scenario.record, known_at) if scenario else []
    begins = atlas.baseline_as_of
    last = max((e.reported_at for e in [*world, *others]), default=begins)
    end = _next_midnight(max(last, begins) + TAIL, atlas)
    times = _edges([*world, *others], begins, end)
    colours, names = palette(atlas)
    main = atlas.focus or _leader(atlas, world, end, known_at, seat)
    table = _Table()
    worlds = {
        "full": world_intervals(world, times, known_at, False, seat, table, main),
        "known": world_intervals(world, times, known_at, True, seat, table, main),
    }
    if scenario is not None:
        worlds["record_full"] = world_intervals(others, times, known_at, False, seat, table, main)
        worlds["record_known"] = world_intervals(others, times, known_at, True, seat, table, main)
    places = []
    for g in atlas.places:
        counted = g.seat(seat)
        places.append(
            {
                "name": g.name,
                "capital": g.capital,
                "counted_as": counted,
                # a governorate counted as another's city is drawn apart, never as a city of its own
                "apart": counted != g.capital,
                "lat": g.lat,
                "lon": g.lon,
            }
        )
    by_place = {
        g.name: [[h.event.id, h.remark] for h in history(mine, g.name).entries]
        for g, mine in zip(atlas.places, place_groups(world, "douma"), strict=True)
    }
    total = getattr(replay(world, begins, known_at, seat), "total", 0) or len(places)
    ordered = sorted(world, key=lambda e: (e.reported_at, e.window, e.id))
    data = {
        "meta": {
            "title": _title(atlas) + ("" if of is None else f" ({len(places):,} of {of:,} places)"),
            "start": _seconds(begins),
            "end": _seconds(end),
            "record_ends": _seconds(last),
            "known_at": iso(known_at),
            "recorded_at": iso(recorded_at),
            "seat": seat,
            "seat_setting": any(p["apart"] for p in places) or any(g.administered_from for g in atlas.places),
            "total": total,
            "main": main,
            "main_name": names.get(main, main),
            "outline": atlas.outline is not None,
            "horizon_days": DEFAULT_HORIZON / timedelta(days=1),
            "scenario": {"name": scenario.name, "description": scenario.description} if scenario else None,
            "colours": colours,
            "names": names,
            "controllers": list(names),
            "rows": _row_order(
                atlas,
                world,
                known_at,
                seat,
                [table.items[lane[0][1]]["controller"] for lane in worlds["full"]["places"]],
            ),
        },
        "places": places,
        "outline": _outline(atlas),
        "states": table.items,
        "worlds": worlds,
        "events": ordered,
        "history": by_place,
    }
    from control.views.shapes import page_shapes

    return _packed(data) | page_shapes(atlas)  # places with shapes: their polygons (issue 28)


def _leader(
    atlas: Gazetteer, world: Sequence[Event], end: datetime, known_at: datetime | None, seat: str
) -> str:
    """The controller holding the most places at ``end`` (the first in the gazetteer's order on a
    tie), else the gazetteer's first controller."""
    top = display.leading(replay(world, end, known_at, seat)) if world else []
    if top:
        return min((h.controller for h in top), key=lambda c: display.order(atlas, c))
    return next(iter(atlas.controllers), "")


def _title(atlas: Gazetteer) -> str:
    if "page_title" in atlas.labels:
        return atlas.labels["page_title"]
    return f"Who controlled {atlas.title}"


def _outline(atlas: Gazetteer) -> list[list[float]]:
    """The outline's largest ring (the page draws one polygon), rounded; none without one."""
    from control.views.plotting import outline

    rings = outline(atlas)
    if not rings:
        return []
    ring = max(rings, key=len)
    return [[round(x, 3), round(y, 3)] for x, y in ring]


# --- rendering --------------------------------------------------------------------------------

_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` or line
    separators remain, so no text can end the element or start another."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return re.sub("[<>&\u2028\u2029]", lambda m: _UNSAFE[m.group()], text)


def _template(name: str) -> str:
    return resources.files("control.views.templates").joinpath(name).read_text("utf-8")


def _js(value: Any) -> str:
    """A JavaScript literal of ``value`` (JSON, nothing that could end the script element)."""
    return embed_json(value)


def words(atlas: Gazetteer, data: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """What the templates say of the gazetteer: the script's (JavaScript, safe in a script
    element) and the page's (HTML-escaped). The built-in gazetteer's read as they always have."""
    places = data["places"]
    end = datetime.fromtimestamp(data["meta"]["end"], UTC)
    offset = int((end.astimezone(atlas.zone).utcoffset() or timedelta()).total_seconds())
    hours, rest = divmod(offset, 3600)
    seat = '" Seat setting: " + META.seat + "."'
    apart = next((g for g in atlas.places if g.administered_from), None)
    if apart is not None and "seat_option" in atlas.labels:  # names a place counted as another's city
        own = _js(apart.capital + ", a city of its own")
        seat = (
            f'META.outline ? {_js(" " + apart.name + " is counted as ")} + (META.seat === "damascus" ? '
            f'{_js(apart.administered_from)} : {own}) + "." : {seat}'
        )
    lons = [p["lon"] for p in places] or [0.0]
    split = atlas.labels.get("label_split_lon") or repr(round((min(lons) + max(lons)) / 2, 3))
    left = " || ".join(
        [
            f"p.lon > {split}",
            *(f"p.name === {_js(n)}" for n in atlas.labels.get("label_left", "").split(";") if n),
        ]
    )
    up = atlas.labels.get("label_up")
    script = {
        "zone_var": atlas.labels.get("page_zone_var", "ZONE"),
        "zone_offset": f"{hours} * HOUR" if not rest else str(offset),
        "zone_name": _js(display.zone_name(atlas))[1:-1],
        "seat_sentence": seat,
        "label_left": left,
        "label_up": f"p.name === {_js(up)}" if up else "false",
    }
    credit = display.outline_credit(atlas)
    zone = (
        display.zone_label(atlas, end, end).replace(", ", " (", 1) + ")" if atlas.timezone != "UTC" else "UTC"
    )
    page = {
        "places": display.places_word(atlas),
        "place": display.place_word(atlas),
        "places_short": atlas.labels.get("places_short", "places"),
        "zone_text": zone,
        "credit": f"{credit}. " if credit and not credit.endswith(".") else f"{credit} " if credit else "",
    }
    return script, {k: html.escape(v) for k, v in page.items()}


def render(data: dict[str, Any], atlas: Gazetteer) -> str:
    """The page's HTML: the template with styles, script and data put in, in one pass."""
    said, shown = words(atlas, data)
    css = _template("page.css")
    script = re.sub(r"\{\{(\w+)\}\}", lambda m: said[m.group(1)], _template("page.js"))
    if re.search("</style", css, re.I) or re.search("</script|<!--", script, re.I):
        raise ValueError("templates: style or script would end its element early")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; img-src data:; "
        "connect-src 'none'; form-action 'none'; base-uri 'none'"
    )
    meta = data["meta"]
    title = meta["title"] + (f" - SCENARIO {meta['scenario']['name']}" if meta["scenario"] else "")
    values = {
        "title": html.escape(title),
        "csp": html.escape(csp, quote=False).replace('"', "&quot;"),
        "css": css,
        "script": script,
        "data": embed_json(data),
        **shown,
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], _template("page.html"))


def page(
    atlas: Gazetteer,
    events: Sequence[Event],
    known_at: datetime | None = None,
    seat: str = gazetteer.DEFAULT_SEAT,
    scenario: Scenario | None = None,
    recorded_at: datetime | None = None,
    of: int | None = None,
) -> str:
    """The whole page for ``events`` (the record, or a scenario's world beside ``scenario.record``)
    over the places of ``atlas``; ``of``: its places are a selection of that many."""
    return render(build_data(atlas, events, known_at, seat, scenario, recorded_at, of), atlas)


def lookup(intervals: Sequence[Sequence[Any]], instant: datetime) -> Any:
    """The entry of an interval list holding at ``instant`` (as the page's script looks it up)."""
    t = _seconds(instant.astimezone(UTC))
    lo, hi = 0, len(intervals) - 1
    if t < intervals[0][0]:
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if intervals[mid][0] <= t:
            lo = mid
        else:
            hi = mid - 1
    return intervals[lo]

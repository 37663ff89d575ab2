"""How a ledger is shown, from its gazetteer: the words, colours, time zone and extents of views.

Every view (text, charts, page, exports) takes the gazetteer it shows as an explicit value and asks
this module how to say things: the controllers' display names and colours (the gazetteer's own,
else a colour-blind-safe palette by order), the time zone times are shown in, the controller the
headline counts (the gazetteer's ``focus``; without one, the leading controller(s)), the words for
its places, and a map's extent (the outline's bounds, else the places' with a margin). Nothing
about any one conflict is written here: the built-in gazetteer's settings are data
(``control/data/syria_settings.json``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from control.model.gazetteer import NOBODY_COLOUR, NOBODY_NAME, Gazetteer, outline_rings
from control.model.times import parse_instant


def colours(atlas: Gazetteer) -> dict[str, str]:
    """Controller -> colour, and ``"none"``: nobody's."""
    return atlas.controller_colours | {"none": NOBODY_COLOUR}


def colour(atlas: Gazetteer, controller: str | None) -> str:
    return colours(atlas).get(controller or "none", "#777777")


def name(atlas: Gazetteer, controller: str | None) -> str:
    """A controller's display name (nobody's for None)."""
    if controller is None:
        return NOBODY_NAME
    return atlas.controller_names.get(controller, controller)


def short_name(atlas: Gazetteer, controller: str) -> str:
    """How a sentence names a controller ("taken by HTS"): the gazetteer's ``short.<code>`` label,
    else its display name."""
    return atlas.labels.get(f"short.{controller}") or name(atlas, controller)


def order(atlas: Gazetteer, controller: str | None) -> tuple[int, str]:
    """Sort key: the gazetteer's order of controllers, unknown ones and nobody after."""
    known = list(atlas.controllers)
    return (known.index(controller) if controller in known else len(known), str(controller))


def places_word(atlas: Gazetteer, capital: bool = False) -> str:
    """What the places are, in a heading: "provincial capitals" for the built-in gazetteer (its
    ``places`` label), "places" otherwise."""
    word = atlas.labels.get("places", "places")
    return word[0].upper() + word[1:] if capital else word


def place_word(atlas: Gazetteer) -> str:
    """One of them ("capital", "place")."""
    return atlas.labels.get("place", "place")


# --- time ------------------------------------------------------------------------------------


def zone_name(atlas: Gazetteer) -> str:
    """ "Damascus time" for Asia/Damascus, "UTC" for UTC: how titles name the zone."""
    if atlas.timezone == "UTC":
        return "UTC"
    return atlas.timezone.rsplit("/", 1)[-1].replace("_", " ") + " time"


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(atlas: Gazetteer, start: datetime, end: datetime) -> str:
    """ "Damascus time, UTC+3" (the offsets over ``[start, end]``: "UTC+2/+3" across a change), "UTC"."""
    if atlas.timezone == "UTC":
        return "UTC"
    zone = atlas.zone
    first, last = _offset(start.astimezone(zone).utcoffset()), _offset(end.astimezone(zone).utcoffset())
    return f"{zone_name(atlas)}, UTC{first}" + (f"/{last}" if last != first else "")


def stamp(atlas: Gazetteer, instant: datetime, short: bool = False, year: bool = False) -> str:
    """An instant as a reader in the places would say it: "8 Dec 2024 03:00 Damascus time";
    ``short``: "8 Dec 03:00" (with ``year``: "8 Dec 2024 03:00")."""
    local = instant.astimezone(atlas.zone)
    if short:
        return f"{local.day} {local:%b %Y %H:%M}" if year else f"{local.day} {local:%b %H:%M}"
    return f"{local.day} {local:%b %Y %H:%M} {zone_name(atlas)}"


def period(atlas: Gazetteer, start: datetime, end: datetime) -> str:
    """ "26 Nov - 8 Dec 2024" in the gazetteer's time zone (the year on both ends when they differ)."""
    lo, hi = start.astimezone(atlas.zone), end.astimezone(atlas.zone)
    if lo.year != hi.year:
        return f"{lo.day} {lo:%b %Y} - {hi.day} {hi:%b %Y}"
    return f"{lo.day} {lo:%b} - {hi.day} {hi:%b %Y}"


def day(atlas: Gazetteer, instant: datetime, end: bool = False, year: bool = False) -> str:
    """A day in the gazetteer's time zone ("26 Nov", with ``year`` "26 Nov 2024"); an exclusive
    end at midnight reads as the day before."""
    local = instant.astimezone(atlas.zone)
    shown = f"{local:%b %Y}" if year else f"{local:%b}"
    if (local.hour, local.minute) == (0, 0):
        if end:
            local = local - timedelta(days=1)
            shown = f"{local:%b %Y}" if year else f"{local:%b}"
        return f"{local.day} {shown}"
    return f"{local.day} {shown} {local:%H:%M}"


def default_range(atlas: Gazetteer, last: datetime | None) -> tuple[datetime, datetime]:
    """A chart's period when none is given: the ledger's span, from its baseline to its last
    report (``last``; a day when nothing was reported after the baseline), and a little after
    (3% of the span, at least 6 hours), so a change reported last is drawn, not on the edge.
    The gazetteer may name its own (``chart_from``/``chart_to`` labels: the built-in one's
    record weeks)."""
    if "chart_from" in atlas.labels and "chart_to" in atlas.labels:
        return parse_instant(atlas.labels["chart_from"]), parse_instant(atlas.labels["chart_to"])
    first = atlas.baseline_as_of
    if last is None or last <= first:
        return first, first + timedelta(days=1)
    return first, last + max(timedelta(hours=6), (last - first) * 0.03)


# --- the headline ------------------------------------------------------------------------------


def leading(snapshot: Any) -> list[Any]:
    """The holdings of the controller(s) holding the most places (ties: all of them, in order)."""
    best = max((h.count for h in snapshot.holdings), default=0)
    return [h for h in snapshot.holdings if h.count == best and best > 0]


def headline(atlas: Gazetteer, snapshot: Any, total: int | None = None) -> str:
    """ "government holds 3 of 14" for the gazetteer's focus controller; without one, the leading
    controller(s): "rsf holds 5 of 8", "rsf and saf hold 4 each of 8", "nobody holds any of 8"."""
    of = total if total is not None else (snapshot.total or len(snapshot.capitals))
    if atlas.focus:
        return f"{atlas.focus} holds {snapshot.holding(atlas.focus).count} of {of}"
    top = leading(snapshot)
    if not top:
        return f"nobody holds any of {of}"
    if len(top) == 1:
        return f"{top[0].controller} holds {top[0].count} of {of}"
    names = ", ".join(h.controller for h in top[:-1]) + f" and {top[-1].controller}"
    return f"{names} hold {top[0].count} each of {of}"


# --- maps --------------------------------------------------------------------------------------


def map_extent(
    atlas: Gazetteer, points: Sequence[tuple[float, float]]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The map's (lon, lat) limits: the outline's bounds (and any place outside it) with a 0.3
    degree margin; without an outline, the places' bounds with a margin of a tenth of their
    span (at least 0.3 degrees), wide enough for the places' labels beside them."""
    rings = outline_rings(atlas.outline)
    xs = [x for ring in rings for x, _ in ring] + [x for x, _ in points]
    ys = [y for ring in rings for _, y in ring] + [y for _, y in points]
    if not xs:
        return (-1.0, 1.0), (-1.0, 1.0)
    if rings:
        return (min(xs) - 0.3, max(xs) + 0.3), (min(ys) - 0.3, max(ys) + 0.3)
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    pad_x, pad_y = max(0.3, 0.25 * span), max(0.3, 0.1 * span)  # labels run sideways
    return (min(xs) - pad_x, max(xs) + pad_x), (min(ys) - pad_y, max(ys) + pad_y)


def map_aspect(atlas: Gazetteer, ylim: tuple[float, float]) -> float:
    """Degrees of latitude per degree of longitude on the page, so the map is not squashed:
    1 / cos(mid-latitude), to one decimal (1.2 at 35 degrees N)."""
    mid = (ylim[0] + ylim[1]) / 2
    return round(1 / max(math.cos(math.radians(mid)), 0.2), 1)


def label_left(atlas: Gazetteer, place: str, lon: float, xlim: tuple[float, float]) -> bool:
    """Whether a place's label goes to the left of its marker: east of the middle of the map (the
    label runs inward), or as the gazetteer's ``label_left``/``label_split_lon`` labels say."""
    if place in atlas.labels.get("label_left", "").split(";"):
        return True
    split = atlas.labels.get("label_split_lon")
    return lon >= (float(split) if split else (xlim[0] + xlim[1]) / 2)


def outline_credit(atlas: Gazetteer) -> str:
    """The outline's credit line ("" without an outline)."""
    if atlas.outline is None:
        return ""
    return atlas.labels.get("outline_credit", "")

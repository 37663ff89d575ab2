"""Drawing places with shapes: polygons filled by controller on the maps, and the share chart.

Small hooks call in here from the map drawing (control.views.plotting), the page and ``control
chart share``; everything about polygons stays in this module. A polygon is filled with its
holder's colour, hatched while its control is uncertain or conflicting, and every view that shades
says what the shading means (for the built-in gazetteer: "shaded by the holder of its capital") and
credits the shapes' source. Coordinates are drawn as stored (WGS84 degrees; no projection library).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from control.model import gazetteer
from control.model.shapes import rings
from control.views.territory import ShareSeries

#: Hatches of a polygon by status (held and contested: plain fill; contested places keep their
#: marker's thick ring).
POLYGON_HATCHES = {"uncertain": "////", "conflicting": "xxx"}
#: The gid of the polygon collections a map draws (its markers are the other collections).
SHAPES_GID = "place-shapes"
#: Fills of the rows that are no controller's.
OTHER_FILLS = {"conflicting": "#777777", "vacated": "#FFFFFF", "unknown": "#DDDDDD"}
OTHER_LABELS = {"conflicting": "Conflicting", "vacated": "Vacated", "unknown": "Unknown"}


def shaped(atlas: gazetteer.Gazetteer) -> dict[str, dict[str, Any]]:
    """Place name -> its shape, for the places of ``atlas`` that have one."""
    return {p.name: p.shape for p in atlas.places if p.shape is not None}


def plot_polygons(ax: Any, points: Sequence[Any], colour: Any, atlas: gazetteer.Gazetteer) -> bool:
    """Fill each point's place polygon (``points``: MapPoint-like: governorate, controller,
    status) with ``colour(controller)``, hatched while uncertain or conflicting, under the
    markers. Returns whether any polygon was drawn (the caller then notes the shading)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Polygon

    shapes = shaped(atlas)
    by_style: dict[tuple[str, str | None], list[Any]] = {}
    for p in points:
        shape = shapes.get(p.governorate)
        if shape is None:
            continue
        fill = "#FFFFFF" if p.status == "vacated" else colour(p.controller)
        if p.status == "unknown":
            fill = OTHER_FILLS["unknown"]
        key = (fill, POLYGON_HATCHES.get(p.status))
        for polygon in rings(shape):
            by_style.setdefault(key, []).append(Polygon(polygon[0], closed=True))
    for (fill, hatch), patches in sorted(by_style.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        ax.add_collection(
            PatchCollection(
                patches, facecolor=fill, edgecolor="#ffffff" if not hatch else "#333333",
                linewidth=0.6, alpha=0.55, hatch=hatch, zorder=1.5, gid=SHAPES_GID,
            )
        )  # fmt: skip
    return bool(by_style)


def extent(
    atlas: gazetteer.Gazetteer, limits: tuple[tuple[float, float], tuple[float, float]]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """A map's (lon, lat) limits widened to take in every place's polygon (a user gazetteer's lie
    anywhere; the built-in ones lie inside the outline's limits, which stay as they were)."""
    shapes = shaped(atlas)
    if not shapes:
        return limits
    xs = [x for shape in shapes.values() for polygon in rings(shape) for x, _ in polygon[0]]
    ys = [y for shape in shapes.values() for polygon in rings(shape) for _, y in polygon[0]]
    (x0, x1), (y0, y1) = limits
    if x0 <= min(xs) and max(xs) <= x1 and y0 <= min(ys) and max(ys) <= y1:
        return limits
    pad = max(0.1, 0.05 * max(max(xs) - min(xs), max(ys) - min(ys)))  # a margin round the polygons
    return (min(x0, min(xs) - pad), max(x1, max(xs) + pad)), (min(y0, min(ys) - pad), max(y1, max(ys) + pad))


def map_credit(outline: str, atlas: gazetteer.Gazetteer) -> str:
    """A map's credit line: the outline's, and with polygons the shading note and their credit."""
    if not atlas.has_shapes:
        return outline
    return f"{shapes_note(atlas)}. {outline}" if outline else shapes_note(atlas)


def shapes_note(atlas: gazetteer.Gazetteer) -> str:
    """The line under a view that shades polygons: what the shading means, and the credit."""
    credit = atlas.shapes_credit
    return f"Polygons {atlas.shading}" + (f". {credit}" if credit else "")


def plot_share(ax: Any, series: ShareSeries, colour: Any, name: Any) -> Any:
    """Stacked step chart of each row's share (%) over time; the part of a controller's share
    under a change under way (uncertain: counted for its last confirmed holder) hatched."""
    import numpy as np
    from matplotlib.patches import Patch

    x = np.array([t.timestamp() for t in series.times]) / 86400.0
    bottom = np.zeros(len(x))
    handles = []
    for row, values in series.values.items():
        top = bottom + np.array(values)
        fill = OTHER_FILLS.get(row) or colour(row)
        ax.fill_between(x, bottom, top, step="post", color=fill, lw=0, alpha=0.9, zorder=2)
        under = np.array(series.uncertain[row])
        if under.any():
            ax.fill_between(
                x, top - under, top, step="post", facecolor="none", edgecolor="#222222", hatch="////",
                lw=0, zorder=3,
            )  # fmt: skip
        label = OTHER_LABELS.get(row) or name(row)
        handles.append(Patch(facecolor=fill, edgecolor="#555555", label=label))
        bottom = top
    handles.append(
        Patch(facecolor="white", edgecolor="#222222", hatch="////",
              label="change under way (counted for the last confirmed holder)")
    )  # fmt: skip
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(0, 100)
    ax.set_yticks(range(0, 101, 20))
    what = "territory (km²)" if series.by == "area" else "population"
    ax.set_ylabel(f"share of {what}, %")
    ax.grid(axis="y", color="#e4e4e4", lw=0.6, zorder=0)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncols=4, frameon=False,
              fontsize=8.5)  # fmt: skip
    return ax


def page_shapes(atlas: gazetteer.Gazetteer) -> dict[str, Any]:
    """The page's polygons: ``shapes`` (per place in order, its polygons as rings of [lon, lat]
    to 3 decimals, about 100 m, or null) and ``shapes_note``; nothing without shapes (a page of
    points keeps its data as it was)."""
    if not atlas.has_shapes:
        return {}
    return {
        "shapes": [
            [
                [[[round(x, 3), round(y, 3)] for x, y in ring] for ring in polygon]
                for polygon in rings(p.shape)
            ]
            if p.shape is not None
            else None
            for p in atlas.places
        ],
        "shapes_note": shapes_note(atlas),
    }


#: What an export adds for each place with ``--shapes``.
SHAPE_COLUMNS = ["area_km2", "population"]


def measures(atlas: gazetteer.Gazetteer | None, place: str) -> dict[str, Any]:
    """A place's ``area_km2`` and ``population`` (None where not given), for the exports."""
    found = atlas.by_name().get(place) if atlas is not None else None
    return {
        "area_km2": found.area_km2 if found is not None else None,
        "population": found.population if found is not None else None,
    }

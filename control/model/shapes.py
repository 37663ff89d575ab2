"""Places with shapes: GeoJSON geometry checked, made compact, measured in km² and overlaid.

A gazetteer place may carry a (Multi)Polygon in WGS84 (``Governorate.shape``, a GeoJSON geometry
with coordinates rounded to :data:`DIGITS` decimals) and its geodesic area (``area_km2``, on the
WGS84 ellipsoid), measured once when the shapes are loaded and stored with the place. The
geometry libraries (shapely, pyproj) are imported here only, inside the functions that need them,
so the commands that only read a ledger (``replay`` ...) never load them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from control.model.errors import UserError

#: Decimals kept of a stored coordinate (6: about 0.1 m; the stored gazetteer stays compact).
DIGITS = 6
#: The largest GeoJSON file read: boundaries of real countries are often tens of MB.
MAX_GEOJSON_BYTES = 512 * 1024 * 1024
#: Overlaps smaller than this (km²) are borders drawn twice by a simplification, not overlaps.
OVERLAP_KM2 = 0.01
SHAPE_TYPES = ("Polygon", "MultiPolygon")


def read_geojson(path: Path | str, where: str) -> Any:
    """The decoded JSON of a GeoJSON file (up to :data:`MAX_GEOJSON_BYTES`); a one-line
    :class:`UserError` starting with ``where`` if it cannot be read or is not JSON."""
    from control.ingest.textio import read_text

    text = read_text(path, where, limit=MAX_GEOJSON_BYTES)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: {path} is not JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise UserError(f"{where}: {path} is nested too deeply to be GeoJSON") from None


def features_of(data: Any, where: str) -> list[dict[str, Any]]:
    """The features of a FeatureCollection (or of a lone Feature), each a dict."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "Feature":
        return [data]
    if kind != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise UserError(f"{where}: give a GeoJSON FeatureCollection (found {kind or type(data).__name__})")
    found = data["features"]
    for i, f in enumerate(found):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise UserError(f"{where}: feature {i}: not a GeoJSON Feature")
    if not found:
        raise UserError(f"{where}: the FeatureCollection has no features")
    return found


def feature_label(feature: Mapping[str, Any], index: int) -> str:
    """``feature 3`` or ``feature 3 (id 'x')``: how errors name a feature."""
    fid = feature.get("id")
    return f"feature {index}" + (f" (id {fid!r})" if isinstance(fid, str | int) and fid != "" else "")


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _position(pt: Any, at: str) -> list[float]:
    if not isinstance(pt, list) or len(pt) < 2 or not _number(pt[0]) or not _number(pt[1]):
        raise UserError(f"{at}: a position must be [lon, lat] numbers, not {json.dumps(pt)[:40]}")
    lon, lat = float(pt[0]), float(pt[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise UserError(f"{at}: position [{lon}, {lat}] is out of range (lon -180..180, lat -90..90; WGS84)")
    return [round(lon, DIGITS), round(lat, DIGITS)]


_NUMBER_TYPES = (int, float)


def _ring(ring: list[Any], at: str) -> list[list[float]]:
    """A ring's positions checked and rounded: at once (numpy) when every position is a list of
    numbers in range, else position by position, for the message naming the first bad one."""
    import numpy as np

    if all(type(pt) is list and len(pt) >= 2 and type(pt[0]) in _NUMBER_TYPES
           and type(pt[1]) in _NUMBER_TYPES for pt in ring):  # fmt: skip
        xy = np.array([pt[:2] for pt in ring], dtype=np.float64).reshape(-1, 2)
        if np.isfinite(xy).all() and (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all():
            return np.round(xy, DIGITS).tolist()
    return [_position(pt, at) for pt in ring]


def compact(geometry: Any, at: str) -> dict[str, Any]:
    """A GeoJSON Polygon/MultiPolygon checked for form and range, its coordinates rounded to
    :data:`DIGITS` decimals (z dropped) and its rings closed; a :class:`UserError` naming ``at``."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in SHAPE_TYPES:
        raise UserError(f"{at}: geometry must be a Polygon or MultiPolygon, not {kind or 'none'}")
    coords = geometry.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        raise UserError(f"{at}: a {kind} without coordinates")
    out = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise UserError(f"{at}: a polygon without rings")
        rings = []
        for ring in polygon:
            if not isinstance(ring, list):
                raise UserError(f"{at}: a ring must be a list of [lon, lat] positions")
            points = _ring(ring, at)
            if points and points[0] != points[-1]:
                raise UserError(f"{at}: a ring is not closed (its last position must repeat its first)")
            if len(points) < 4:
                raise UserError(f"{at}: a ring needs 4 or more positions (a closed triangle at least)")
            rings.append(points)
        out.append(rings)
    return {"type": kind, "coordinates": out[0] if kind == "Polygon" else out}


def to_shapely(shape: Mapping[str, Any]) -> Any:
    """The shapely geometry of a stored shape (imports shapely)."""
    from shapely.geometry import shape as make

    return make(shape)


def check_valid(shape: Mapping[str, Any], at: str) -> Any:
    """The shapely geometry of ``shape`` if it is valid (no self-intersection, holes inside ...),
    else a :class:`UserError` naming ``at`` and shapely's reason."""
    from shapely.validation import explain_validity

    geom = to_shapely(shape)
    if geom.is_empty or not geom.is_valid:
        reason = explain_validity(geom) if not geom.is_empty else "empty"
        raise UserError(f"{at}: invalid geometry ({reason}); fix it (e.g. ogr2ogr -makevalid) and load again")
    return geom


def area_km2(geom: Any) -> float:
    """The geodesic area of a shapely (Multi)Polygon on the WGS84 ellipsoid, in km² (3 decimals)."""
    area, _ = _geod().geometry_area_perimeter(geom)
    return round(abs(area) / 1e6, 3)


@cache
def _geod() -> Any:
    from pyproj import Geod

    return Geod(ellps="WGS84")


def representative(geom: Any) -> tuple[float, float]:
    """(lat, lon) of a point inside ``geom`` (a place's point when only its shape is given)."""
    pt = geom.representative_point()
    return round(pt.y, 4), round(pt.x, 4)


def overlaps(named: Sequence[tuple[str, Any]]) -> list[tuple[str, str, float]]:
    """Pairs of places whose shapes overlap by more than :data:`OVERLAP_KM2` (shared borders are
    not overlaps): (name, name, km²), in input order. A spatial index: no comparison of all pairs."""
    from shapely import STRtree

    geoms = [g for _, g in named]
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    found = []
    for i, j in sorted({(int(a), int(b)) for a, b in zip(left, right, strict=True) if a < b}):
        common = geoms[i].intersection(geoms[j])
        if common.is_empty or common.area == 0:
            continue
        km2 = area_km2(common) if common.geom_type in SHAPE_TYPES else 0.0
        if common.geom_type == "GeometryCollection":
            km2 = sum(area_km2(p) for p in common.geoms if p.geom_type in SHAPE_TYPES)
        if km2 > OVERLAP_KM2:
            found.append((named[i][0], named[j][0], km2))
    return found


def overlap_warning(pairs: Iterable[tuple[str, str, float]], limit: int = 10) -> str | None:
    """One line for stderr naming the overlapping pairs (the first ``limit``), or None."""
    pairs = list(pairs)
    if not pairs:
        return None
    listed = "; ".join(f"{a} / {b} ({km2:,.2f} km²)" for a, b, km2 in pairs[:limit])
    more = f"; and {len(pairs) - limit} more" if len(pairs) > limit else ""
    return (
        f"warning: {len(pairs)} pair(s) of places overlap (allowed; territory counts the shared "
        f"area for each): {listed}{more}"
    )


def rings(shape: Mapping[str, Any] | None) -> Iterator[list[list[tuple[float, float]]]]:
    """Each polygon of a stored shape as its rings of (lon, lat) (exterior first); none if None."""
    if not shape:
        return
    polygons = [shape["coordinates"]] if shape["type"] == "Polygon" else shape["coordinates"]
    for polygon in polygons:
        yield [[(float(x), float(y)) for x, y, *_ in ring] for ring in polygon]


def coverage(places: Iterable[Any], area: Mapping[str, Any] | Any) -> dict[str, float]:
    """The share (0..1] of each place's area that lies inside ``area`` (a GeoJSON Polygon/
    MultiPolygon dict, or a shapely geometry): the overlay of a map of the area one actor holds
    on the gazetteer's shapes. ``places``: Governorate-like (name, shape, area_km2); those without
    a shape, or outside, are left out. Geodesic: the intersection's km² over the place's stored
    ``area_km2``. A spatial index picks the candidates (no comparison with every place)."""
    from shapely import STRtree

    mine = [p for p in places if p.shape is not None and p.area_km2]
    if not mine:
        return {}
    geom = to_shapely(area) if isinstance(area, Mapping) else area
    shapes = [to_shapely(p.shape) for p in mine]
    found: dict[str, float] = {}
    for i in sorted(int(i) for i in STRtree(shapes).query(geom, predicate="intersects")):
        common = shapes[i].intersection(geom)
        parts = getattr(common, "geoms", [common])
        km2 = sum(area_km2(g) for g in parts if g.geom_type in SHAPE_TYPES)
        if km2 > 0:
            found[mine[i].name] = min(1.0, km2 / mine[i].area_km2)
    return found

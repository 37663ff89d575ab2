"""One map of a snapshot feed: every place's state at an instant as a GeoJSON FeatureCollection.

Pure text from a :class:`~control.fold.projection.Snapshot` (same answer, same bytes): each place
a feature with its controller, status, sources and area (km², when the gazetteer has shapes),
drawn as its shape when it has one, else as its point; and a summary for the feed's index
(places and km² per row, counted as ``replay --territory`` counts them).
"""

from __future__ import annotations

from typing import Any

from control.fold.projection import Snapshot
from control.model import gazetteer
from control.views.render import to_json
from control.views.territory import counted_for


def feed_map(snapshot: Snapshot) -> tuple[str, dict[str, Any]]:
    """The map's GeoJSON text, and its summary (``places``, ``area_km2`` per row)."""
    atlas = gazetteer.current()
    by_name = atlas.by_name()
    features = []
    places: dict[str, int] = {}
    areas: dict[str, float] = {}
    for c in snapshot.capitals:
        p = by_name[c.governorate]
        row = counted_for(c.controller, c.status)
        places[row] = places.get(row, 0) + 1
        if p.area_km2 is not None:
            areas[row] = areas.get(row, 0.0) + p.area_km2
        geometry = p.shape if p.shape is not None else {"type": "Point", "coordinates": [p.lon, p.lat]}
        props: dict[str, Any] = {
            "place": c.governorate,
            "pcode": p.pcode or p.id or None,
            "controller": c.controller,
            "status": c.status,
            "counted_for": row,
            "since": c.since.isoformat().replace("+00:00", "Z") if c.since else None,
            "possible_controllers": ", ".join(x or "(vacated)" for x in c.possible),
            "contested_by": ", ".join(sorted({e.actor or "" for e in c.contested_by})),
            # GDAL reads a list of objects as a string: the sources as one text, ids then files
            "sources": "; ".join(f"{e.id} [{e.source.file}]" for e in c.sources),
            "area_km2": p.area_km2,
        }
        if p.population is not None:
            props["population"] = p.population
        features.append(
            {"type": "Feature", "id": p.pcode or p.id or p.name, "geometry": geometry, "properties": props}
        )
    basis = snapshot.to_dict()["basis"]
    text = to_json({"type": "FeatureCollection", "basis": basis, "features": features})
    summary = {
        "places": dict(sorted(places.items())),
        "area_km2": {k: round(v, 3) for k, v in sorted(areas.items())},
    }
    return text, summary

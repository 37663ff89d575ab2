"""Places with shapes and the territory they measure (issue 28, sections 1-2): geodesic areas of
the OCHA polygons, GeoJSON and TOML gazetteers with shapes, ``replay --territory`` and the share
chart, and no geometry library on the replay path."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.browser import assert_quiet, open_page, page_data

from control.ingest import gazetteers
from control.model import gazetteer, shapes

DATA = Path(gazetteer.__file__).parent.parent / "data"
AT = "2024-12-05T12:00Z"


def square(lon: float, lat: float, size: float = 1.0) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(geometry: dict, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), "utf-8")
    return path


# --- areas -----------------------------------------------------------------------------------


def test_the_ocha_polygons_measure_what_ocha_says_and_the_stored_areas_are_theirs():
    collection = json.loads((DATA / "syria_adm1.geojson").read_text("utf-8"))
    stored = json.loads((DATA / "syria_shapes.json").read_text("utf-8"))["areas_km2"]
    measured = {
        f["properties"]["ADM1_PCODE"]: shapes.area_km2(shapes.check_valid(f["geometry"], "test"))
        for f in collection["features"]
    }
    assert measured == stored  # the precomputed data file is these polygons' geodesic areas
    total = sum(measured.values())
    assert abs(total - 188_111) / 188_111 < 0.005
    assert round(measured["SY04"]) == 43_228  # Homs
    assert round(measured["SY01"]) == 116  # Damascus
    builtin = gazetteer.builtin()
    assert {p.pcode for p in builtin.places} == set(measured)
    assert all(p.area_km2 == measured[p.pcode] and p.shape is not None for p in builtin.places)
    assert builtin.area_km2("Homs") == measured["SY04"]
    assert shapes.overlaps([(p.name, shapes.to_shapely(p.shape)) for p in builtin.places]) == []


def test_a_degree_square_at_the_equator_has_its_geodesic_area_not_degrees_squared():
    # 1° x 1° at the equator on WGS84: about 12,308 km² (111.32 km x 110.57 km)
    assert abs(shapes.area_km2(shapes.to_shapely(square(0, 0))) - 12_308) < 15
    # the same square at 60°N is about half as wide
    assert abs(shapes.area_km2(shapes.to_shapely(square(0, 60))) / 12_308 - 0.5) < 0.03


# --- GeoJSON and TOML gazetteers with shapes -------------------------------------------------


def test_a_geojson_gazetteer_of_polygons_and_points(run, tmp_path, store):
    path = write_json(
        tmp_path / "places.geojson",
        {
            "type": "FeatureCollection",
            "features": [
                feature(square(10, 0), NAME="North", CODE="P1", OWNER="reds", POP=1000, ALSO="Nord;N"),
                feature(square(10.5, 0.5), NAME="Overlap", CODE="P2", OWNER="blues", POP="3000"),
                feature({"type": "Point", "coordinates": [12.5, 0.5]}, NAME="Town", CODE="P3", OWNER="blues"),
            ],
        },
    )
    options = ["--name-property", "NAME", "--pcode-property", "CODE", "--baseline-property", "OWNER",
               "--population-property", "POP", "--aliases-property", "ALSO"]  # fmt: skip
    result = run("gazetteer", "load", str(path), "--baseline-as-of", "2024-01-01T00:00Z", *options)
    assert result.exit_code == 0, result.output
    assert "3 place(s) added" in result.stdout
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "North / Overlap" in warning[0] and "1 pair(s)" in warning[0]
    shown = json.loads(run("gazetteer", "show", "--json").output)
    assert shown["name"] == "places" and sorted(shown["controllers"]) == ["blues", "reds"]
    north, overlap, town = shown["places"]
    assert north["aliases"] == ["Nord", "N"] and north["population"] == 1000 and north["pcode"] == "P1"
    assert abs(north["area_km2"] - 12_308) < 15 and north["shape"]["type"] == "Polygon"
    assert 0 < north["lon"] - 10 < 1 and 0 < north["lat"] < 1  # its point lies inside
    assert overlap["population"] == 3000
    assert "shape" not in town and "area_km2" not in town and (town["lon"], town["lat"]) == (12.5, 0.5)
    again = run("gazetteer", "load", str(path), "--baseline-as-of", "2024-01-01T00:00Z", *options)
    assert again.exit_code == 0 and "unchanged" in again.stdout

    table = json.loads(run("replay", "--territory", "--json", "--at", "2024-06-01T00:00Z").output)
    rows = {r["row"]: r for r in table["rows"]}
    assert set(rows) == {"reds", "blues"}
    assert rows["reds"]["population"] == 1000 and rows["blues"]["population"] == 3000
    assert rows["blues"]["population_pct"] == 75.0 and rows["reds"]["population_pct"] == 25.0
    assert sum(r["share_pct"] for r in table["rows"]) == pytest.approx(100)
    # a point without a population measures nothing: left out, and said so
    assert rows["reds"]["places"] == ["North"] and rows["blues"]["places"] == ["Overlap"]
    assert table["total_population"] == 4000 and table["places_without_shape"] == 1
    assert [p["governorate"] for p in table["places"]] == ["North", "Overlap"]


def test_coordinates_are_stored_rounded_and_z_dropped(tmp_path):
    ring = [[10.123456789, 0.1, 5.0], [11.0, 0.1, 5.0], [11.0, 1.0, 5.0], [10.123456789, 0.1, 5.0]]
    path = write_json(
        tmp_path / "g.geojson",
        {"type": "FeatureCollection", "features": [feature({"type": "Polygon", "coordinates": [ring]},
                                                            name="A", baseline="x")]},
    )  # fmt: skip
    atlas = gazetteers.load_geojson(path, "2024-01-01T00:00Z")
    assert atlas.places[0].shape["coordinates"][0][0] == [10.123457, 0.1]
    assert gazetteer.Gazetteer.from_dict(atlas.to_dict()).places[0] == atlas.places[0]


TOML = """[gazetteer]
name = "shaped"
baseline_as_of = "2024-01-01T00:00:00Z"
{extra}
[controllers]
reds = "Reds"
blues = "Blues"

[[place]]
name = "West"
pcode = "W1"
lat = 0.5
lon = 0.5
baseline = "reds"
{west}
[[place]]
name = "East"
pcode = "E1"
lat = 0.5
lon = 1.5
baseline = "blues"
"""


def test_a_later_version_adds_shapes_and_populations_to_existing_places(run, tmp_path, store):
    first = tmp_path / "v1.toml"
    first.write_text(TOML.format(extra="", west=""), "utf-8")
    assert run("gazetteer", "load", str(first)).exit_code == 0
    refused = run("replay", "--territory")
    assert refused.exit_code == 2 and "have no shapes" in refused.stderr
    write_json(
        tmp_path / "areas.geojson",
        {
            "type": "FeatureCollection",
            "features": [
                feature(square(0, 0), CODE="W1", PEOPLE=300),
                feature(square(1, 0, 2), CODE="E1", PEOPLE=100),
            ],
        },
    )
    second = tmp_path / "v2.toml"
    extra = ('version = 2\nshapes = "areas.geojson"\nshapes_pcode_property = "CODE"\n'
             'shapes_population_property = "PEOPLE"\nshapes_credit = "Made up for a test"')  # fmt: skip
    second.write_text(TOML.format(extra=extra, west=""), "utf-8")
    result = run("gazetteer", "load", str(second))
    assert result.exit_code == 0, result.output
    assert "version 2" in result.stdout and "warning" not in result.stderr  # they share a border only
    text = run("replay", "--territory", "--at", "2024-06-01T00:00Z")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    reds = next(line for line in lines if line.startswith("Reds"))
    blues = next(line for line in lines if line.startswith("Blues"))
    west, east = (p["area_km2"] for p in json.loads(run("gazetteer", "show", "--json").output)["places"])
    assert 3.9 < east / west < 4.0  # 2° x 2° against 1° x 1°, narrowing away from the equator
    share = round(100 * west / (west + east), 2)
    # West has a fifth of the land and three quarters of the people
    assert reds.split()[1:] == ["1", f"{west:,.1f}", f"{share:.2f}", "0.0", "300", "75.00"]
    assert blues.split()[1:] == ["1", f"{east:,.1f}", f"{100 - share:.2f}", "0.0", "100", "25.00"]
    assert "Made up for a test" in text.stdout and "shaded by its holder" in text.stdout
    csv_text = run("replay", "--territory", "--csv", "--at", "2024-06-01T00:00Z").stdout
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [r["row"] for r in rows] == ["reds", "blues"]
    assert rows[0]["population"] == "300" and rows[0]["places"] == "1"
    assert rows[0]["at"] == "2024-06-01T00:00:00Z"


# --- territory on the seed record --------------------------------------------------------------


def test_territory_of_the_seed_record_counts_by_the_rules(run):
    replayed = json.loads(run("replay", "--json", "--at", AT).output)
    table = json.loads(run("replay", "--territory", "--json", "--at", AT).output)
    area = {p.name: p.area_km2 for p in gazetteer.builtin().places}
    expected: dict[str, float] = {}
    uncertain: dict[str, float] = {}
    for c in replayed["capitals"]:
        row = c["status"] if c["status"] in ("conflicting", "unknown") else c["controller"] or "vacated"
        expected[row] = expected.get(row, 0) + area[c["governorate"]]
        if c["status"] == "uncertain":
            uncertain[row] = uncertain.get(row, 0) + area[c["governorate"]]
    assert uncertain, "the instant chosen has a change under way"
    assert {r["row"]: r["area_km2"] for r in table["rows"]} == pytest.approx(expected)
    under_way = {r["row"]: r["uncertain_km2"] for r in table["rows"] if r["uncertain_km2"]}
    assert under_way == pytest.approx(uncertain)
    assert sum(r["share_pct"] for r in table["rows"]) == pytest.approx(100, abs=1e-9)
    assert table["total_km2"] == pytest.approx(sum(area.values()))
    assert {p["governorate"]: p["area_km2"] for p in table["places"]} == area
    assert "shaded by the holder of its capital" in table["counting"]
    assert "OCHA, HDX" in table["credit"]
    text = run("replay", "--territory", "--at", AT).stdout
    assert "188,110.7 km² in 14 places" in text and "OCHA, HDX" in text
    assert "shaded by the holder of its capital" in text
    gov = next(r for r in table["rows"] if r["row"] == "government")
    assert f"{gov['area_km2']:,.1f}" in text and f"{gov['share_pct']:.2f}" in text
    again = run("replay", "--territory", "--json", "--at", AT).output
    assert again == json.dumps(table, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_shares_add_up_to_exactly_100():
    from control.views.territory import shares

    found = shares({"a": 1.0, "b": 1.0, "c": 1.0})
    assert sum(found.values()) == pytest.approx(100) and sorted(found.values()) == [33.33, 33.33, 33.34]
    assert shares({"a": 0.0}) == {"a": 0.0}


def test_replay_never_imports_a_geometry_library(store):
    code = (
        "import sys\n"
        "from control.cli import main\n"
        f"sys.argv = ['control', 'replay', '--store', {store!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"sys.argv = ['control', 'replay', '--territory', '--json', '--store', {store!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('shapely', 'pyproj')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
    assert "government holds" in done.stdout and '"area_km2"' in done.stdout


# --- the share chart ------------------------------------------------------------------------------


def test_the_share_series_is_what_replay_territory_says_at_every_step(store):
    from control.model.times import parse_instant
    from control.service.sync import open_app
    from control.views.territory import share_series, territory

    app = open_app(store)
    lo, hi = parse_instant("2024-11-26T00:00Z"), parse_instant("2024-12-08T06:00Z")
    places, updates, _, _ = app.chart_inputs(lo, hi)
    series = share_series(places, updates, lo, hi, gazetteer.builtin())
    assert len(series.times) > 5 and series.total == pytest.approx(188_110.663)
    steps = list(enumerate(series.times[:-1]))
    midway = [(i, t + (series.times[i + 1] - t) / 2) for i, t in steps]  # a step holds until the next
    for i, t in steps + midway:
        rows = territory(app.replay(t), gazetteer.builtin()).rows
        total = sum(r["area_km2"] for r in rows)
        for r in rows:
            assert series.values[r["row"]][i] == pytest.approx(100 * r["area_km2"] / total, abs=1e-5), (t, r)
            assert series.uncertain[r["row"]][i] == pytest.approx(100 * r["uncertain_km2"] / total, abs=1e-5)
        assert sum(v[i] for v in series.values.values()) == pytest.approx(100)
    assert any(any(u) for u in series.uncertain.values())  # the band of changes under way


def test_the_share_chart_is_deterministic_and_credits_the_shapes(run, tmp_path):
    first = run("chart", "share", "--out", "a.svg")
    assert first.exit_code == 0, first.output
    second = run("chart", "share", "--out", "b.svg")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    svg = (tmp_path / "a.svg").read_text("utf-8")
    assert "<svg" in svg and second.exit_code == 0
    png = run("chart", "share", "--out", "a.png"), run("chart", "share", "--out", "b.png")
    assert all(r.exit_code == 0 for r in png)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    from control.views.shapes import shapes_note

    assert (
        shapes_note(gazetteer.builtin())
        == "Polygons shaded by the holder of its capital. Boundaries: OCHA, HDX (CC BY-IGO 3.0)"
    )
    refused = run("chart", "share", "--by", "population", "--out", "p.png")
    assert refused.exit_code == 2 and "no populations" in refused.stderr
    assert not (tmp_path / "p.png").exists()


# --- polygons on the page, in a real browser -------------------------------------------------------


def test_the_page_draws_the_governorates_filled_by_the_holder_of_their_capital(
    browser, events, tmp_path, artifacts
):
    from control.views import page as pages

    data = pages.build_data(gazetteer.builtin(), events)
    assert len(data["shapes"]) == 14 and all(data["shapes"])
    assert "shaded by the holder of its capital" in data["shapes_note"] and "OCHA, HDX" in data["shapes_note"]
    path = tmp_path / "control.html"
    path.write_text(pages.render(data, gazetteer.builtin()), encoding="utf-8")

    def shapes() -> dict[str, tuple[str, str, str]]:
        return browser.execute_script(
            """
            var out = {};
            document.querySelectorAll("#map g.shape").forEach(function (g) {
              var paths = g.querySelectorAll("path");
              out[g.dataset.place] = [
                getComputedStyle(paths[0]).fill, paths[1].getAttribute("fill"), g.dataset.status
              ];
            });
            return out;
            """
        )

    def colour(hex_: str) -> str:
        return "rgb({}, {}, {})".format(*(int(hex_[i : i + 2], 16) for i in (1, 3, 5)))

    open_page(browser, path, "#at=2024-12-08T00:00Z")
    drawn = shapes()
    assert len(drawn) == 14
    government = {name for name, (fill, _, _) in drawn.items() if fill == colour("#D55E00")}
    # Rif Dimashq is shaded by the holder of its capital (counted as Damascus)
    assert government == {"Damascus", "Rif Dimashq", "Latakia", "Tartus"}
    assert drawn["Homs"][0] == colour("#009E73")  # HTS
    assert "shaded by the holder of its capital" in browser.find_element("id", "shapes-note").text
    assert "OCHA, HDX" in browser.find_element("id", "shapes-note").text
    browser.save_screenshot(str(artifacts / "page-shapes.png"))
    assert_quiet(browser)

    open_page(browser, path, "#at=2024-12-05T12:00Z")  # changes under way: hatched
    drawn = shapes()
    uncertain = {name for name, (_, hatch, status) in drawn.items() if status == "uncertain"}
    assert uncertain and all(drawn[name][1] == "url(#m-hatch)" for name in uncertain)
    assert all(hatch == "none" for _, hatch, status in drawn.values() if status in ("held", "contested"))
    # a click on a polygon selects its place
    browser.execute_script(
        "document.querySelector('#map g.shape[data-place=\"Homs\"] path')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )
    assert "Homs" in browser.find_element("id", "place-title").text
    assert_quiet(browser)


# --- exports ------------------------------------------------------------------------------------


def test_exports_with_shapes_carry_areas_and_polygons_and_gdal_reads_them(run, tmp_path):
    import shutil

    builtin = {p.name: p for p in gazetteer.builtin().places}
    state = json.loads(run("export", "--format", "json", "--shapes", "--at", AT).output)
    assert {c["governorate"]: c["area_km2"] for c in state["capitals"]} == {
        n: p.area_km2 for n, p in builtin.items()
    }
    assert all(c["population"] is None for c in state["capitals"])
    rows = list(csv.DictReader(io.StringIO(run("export", "--format", "csv", "--shapes", "--at", AT).output)))
    assert {r["governorate"]: float(r["area_km2"]) for r in rows} == {
        n: p.area_km2 for n, p in builtin.items()
    }
    points = json.loads(run("export", "--format", "geojson", "--at", AT).output)
    shaped = json.loads(run("export", "--format", "geojson", "--shapes", "--at", AT).output)
    assert {f["geometry"]["type"] for f in points["features"]} == {"Point"}  # as ever, without --shapes
    for point, polygon in zip(points["features"], shaped["features"], strict=True):
        place = builtin[polygon["properties"]["governorate"]]
        assert polygon["geometry"] == place.shape and polygon["id"] == point["id"]
        assert polygon["properties"]["area_km2"] == place.area_km2
        assert [polygon["properties"]["lon"], polygon["properties"]["lat"]] == point["geometry"][
            "coordinates"
        ]
    assert "OCHA, HDX" in shaped["credit"] and "credit" not in points

    path = tmp_path / "intervals.geojson"
    assert run("export", "--intervals", "--format", "geojson", "--shapes", "--out", str(path)).exit_code == 0
    data = json.loads(path.read_text("utf-8"))
    plain = json.loads(run("export", "--intervals", "--format", "geojson").output)
    assert len(data["features"]) == len(plain["features"]) and "OCHA, HDX" in data["credit"]
    for f in data["features"]:
        assert f["geometry"] == builtin[f["properties"]["place"]].shape
        assert f["properties"]["area_km2"] == builtin[f["properties"]["place"]].area_km2
    table = list(
        csv.DictReader(io.StringIO(run("export", "--intervals", "--format", "csv", "--shapes").output))
    )
    assert len(table) == len(plain["features"]) and all(float(r["area_km2"]) > 0 for r in table)
    if shutil.which("ogrinfo"):
        summary = subprocess.run(
            ["ogrinfo", "-al", "-so", str(path)], capture_output=True, text=True, timeout=60
        )
        assert "Geometry: Polygon" in summary.stdout and "area_km2: Real" in summary.stdout
        assert f"Feature Count: {len(data['features'])}" in summary.stdout


def test_charts_and_pages_of_some_shaped_places_draw_them_credited(run, tmp_path, events):
    from control.fold.projection import replay
    from control.model.times import parse_instant
    from control.views import plotting
    from control.views.chartdata import map_points

    builtin = gazetteer.builtin()
    points = map_points(replay(events, parse_instant(AT)), builtin)
    figure = plotting.map_figure(points, "t", builtin)
    credits = [t.get_text() for t in figure.texts]
    assert any("shaded by the holder of its capital" in t and "OCHA, HDX" in t for t in credits)
    polygons = [c for c in figure.axes[0].collections if c.get_gid() == "place-shapes"]
    assert sum(len(c.get_paths()) for c in polygons) == 14
    assert len({*gazetteer.builtin().places}) == 14  # places with shapes stay hashable
    result = run("chart", "map", "--place", "Homs", "--at", AT, "--out", "homs.svg")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "homs.svg").read_bytes().startswith(b"<?xml")
    assert run("page", "--place", "Homs", "--out", "homs.html").exit_code == 0
    data = page_data(tmp_path / "homs.html")
    assert [p["name"] for p in data["places"]] == ["Homs"] and len(data["shapes"]) == 1
    assert "OCHA, HDX" in data["shapes_note"]
    assert run("chart", "share", "--place", "Homs", "--out", "share.png").exit_code == 0


def test_the_territory_docs_show_what_the_cli_prints(run):
    import re

    from control.cli import cli

    docs = (Path(__file__).parent.parent / "docs" / "territory.md").read_text("utf-8")
    block = docs.split("$ control replay --territory --at 2024-12-08T00:00Z\n", 1)[1].split("```", 1)[0]
    assert block == run("replay", "--territory", "--at", "2024-12-08T00:00Z").stdout
    assert "OCHA, HDX" in docs and "shaded by the holder of its capital" in docs
    assert (Path(__file__).parent.parent / "plots" / "share.png").is_file()
    for line in re.findall(r"^control [^\n]*", docs, re.M):  # every option shown exists
        words = line.split("#")[0].replace("\\", "").split()
        command = cli
        for word in words[1:]:
            sub = command.get_command(None, word) if hasattr(command, "get_command") else None
            if sub is None:
                break
            command = sub
        options = {o for p in command.params for o in getattr(p, "opts", [])}
        assert set(re.findall(r"(--[a-z][a-z-]*)", line)) <= options, line


def test_the_committed_share_chart_is_what_chart_share_draws(run, tmp_path):
    assert run("chart", "share", "--out", "share.png").exit_code == 0
    committed = Path(__file__).parent.parent / "plots" / "share.png"
    assert (tmp_path / "share.png").read_bytes() == committed.read_bytes()


def test_a_later_version_may_not_change_or_drop_a_stored_shape(run, tmp_path, store, fingerprint):
    write_json(
        tmp_path / "a.geojson",
        {
            "type": "FeatureCollection",
            "features": [feature(square(0, 0), pcode="W1"), feature(square(1, 0), pcode="E1")],
        },
    )
    write_json(
        tmp_path / "b.geojson",
        {"type": "FeatureCollection", "features": [feature(square(0, 0, 0.5), pcode="W1")]},
    )
    first = tmp_path / "v1.toml"
    first.write_text(TOML.format(extra='shapes = "a.geojson"', west=""), "utf-8")
    assert run("gazetteer", "load", str(first)).exit_code == 0
    before = fingerprint(store)
    for extra in ('version = 2\nshapes = "b.geojson"', "version = 2"):
        later = tmp_path / "v2.toml"
        later.write_text(TOML.format(extra=extra, west=""), "utf-8")
        refused = run("gazetteer", "load", str(later))
        assert refused.exit_code == 2 and "its shape differs from the stored one" in refused.stderr
        assert fingerprint(store) == before


def test_people_held_move_with_a_capture_and_the_share_chart_counts_them(run, tmp_path, store):
    from control.model.times import parse_instant
    from control.service.sync import open_app
    from control.views.territory import share_series

    path = write_json(
        tmp_path / "two.geojson",
        {"type": "FeatureCollection", "features": [
            feature(square(0, 0), name="West", baseline="reds", population=100),
            feature(square(1, 0), name="East", baseline="blues", population=300),
        ]},
    )  # fmt: skip
    assert run("gazetteer", "load", str(path), "--baseline-as-of", "2024-01-01T00:00Z").exit_code == 0
    (tmp_path / "note.txt").write_text("Reds took East between 1 and 3 February.\n")
    added = run(
        "add", "--kind", "capture", "--place", "East", "--actor", "reds", "--from", "blues",
        "--earliest", "2024-02-01T00:00Z", "--latest", "2024-02-03T00:00Z",
        "--reported-at", "2024-02-04T00:00Z", "--file", "note.txt", "--quote", "Reds took East",
    )  # fmt: skip
    assert added.exit_code == 0, added.output

    def rows(at: str) -> dict[str, dict]:
        table = json.loads(run("replay", "--territory", "--json", "--at", at).output)
        return {r["row"]: r for r in table["rows"]}

    before, during, after = rows("2024-01-15"), rows("2024-02-02"), rows("2024-03-01")
    assert before["blues"]["population_pct"] == 75.0 and before["reds"]["population_pct"] == 25.0
    # under way: East still counts for its last confirmed holder, its area in uncertain_km2
    assert (
        during["blues"]["population"] == 300
        and during["blues"]["uncertain_km2"] == during["blues"]["area_km2"]
    )
    assert set(after) == {"reds"} and after["reds"]["population_pct"] == 100.0
    assert after["reds"]["share_pct"] == 100.0

    app = open_app(store)
    atlas = app.gazetteer
    lo, hi = parse_instant("2024-01-01T00:00Z"), parse_instant("2024-03-01T00:00Z")
    steps, _ = app.phases(lo, hi)
    updates = sorted(
        ((t, i, ph) for i, (_, pairs) in enumerate(steps) for t, ph in pairs), key=lambda u: u[:2]
    )
    series = share_series([g for g, _ in steps], updates, lo, hi, atlas, "population")
    at = {t: i for i, t in enumerate(series.times)}
    feb1, feb3 = parse_instant("2024-02-01T00:00Z"), parse_instant("2024-02-03T00:00Z")
    assert series.values["reds"][at[lo]] == 25.0 and series.values["blues"][at[feb1]] == 75.0
    assert series.uncertain["blues"][at[feb1]] == 75.0 and series.values["reds"][at[feb3]] == 100.0
    assert run("chart", "share", "--by", "population", "--from", "2024-01-01", "--to", "2024-03-01",
               "--out", "people.png").exit_code == 0  # fmt: skip


def test_coverage_overlays_an_area_on_the_places_shapes():
    west = gazetteer.Governorate("West", "West", (), 0.5, 0.5, "", shape=square(0, 0), area_km2=None)
    east = gazetteer.Governorate("East", "East", (), 0.5, 1.5, "", shape=square(1, 0))
    west = west._replace(area_km2=shapes.area_km2(shapes.to_shapely(west.shape)))
    east = east._replace(area_km2=shapes.area_km2(shapes.to_shapely(east.shape)))
    far = gazetteer.Governorate("Far", "Far", (), 50, 50, "", shape=square(50, 50), area_km2=1.0)
    found = shapes.coverage([west, east, far], square(0.5, 0))  # half of West, half of East
    assert set(found) == {"West", "East"}
    assert found["West"] == pytest.approx(0.5, abs=0.01) and found["East"] == pytest.approx(0.5, abs=0.01)
    assert shapes.coverage([west], square(0, 0)) == {"West": pytest.approx(1.0)}
    assert shapes.coverage([west], square(5, 5)) == {}

"""Dated control maps in (``control snapshot import``) and out (``control snapshot export``).

A grid gazetteer of ten square places, loaded through the CLI; maps written as GeoJSON files:
an area map growing over ten days gives captures whose windows run between the maps and the
territory series of the areas inside; two sources disagreeing about one instant give
``conflicting``; re-importing adds nothing; a corrected map supersedes by corrections; the feed
is read back by GDAL's ogrinfo and made again byte for byte from its index.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from pyproj import Geod

BASE = "2024-01-01T00:00Z"
WIDTH = 0.1  # degrees: each place a square of 0.1 x 0.1 degrees, in a row along the equator-ish


def square(x0: float, x1: float, y0: float = 35.0, y1: float = 35.0 + WIDTH) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def day(k: int) -> str:
    return f"2024-03-{k:02d}"


@pytest.fixture
def grid(run, tmp_path: Path) -> list[float]:
    """Ten places P0..P9 (p-codes G0..G9), held by gov at the baseline; their geodesic km²."""
    features = [
        {
            "type": "Feature",
            "geometry": square(36 + i * WIDTH, 36 + (i + 1) * WIDTH),
            "properties": {"name": f"P{i}", "pcode": f"G{i}", "baseline": "gov"},
        }
        for i in range(10)
    ]
    (tmp_path / "grid.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    result = run(
        "gazetteer", "load", "grid.geojson", "--baseline-as-of", BASE, "--controller", "occ",
        "--controller", "other",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    geod = Geod(ellps="WGS84")
    return [abs(geod.polygon_area_perimeter(*_lonlat(i))[0]) / 1e6 for i in range(10)]


def _lonlat(i: int) -> tuple[list[float], list[float]]:
    x0, x1 = 36 + i * WIDTH, 36 + (i + 1) * WIDTH
    return [x0, x1, x1, x0], [35.0, 35.0, 35.0 + WIDTH, 35.0 + WIDTH]


def area_map(path: Path, k: int) -> None:
    """Day ``k``'s map: occ holds P0..P(k-1) whole and a fifth of P(k) (for k < 10)."""
    x1 = 36 + k * WIDTH + (WIDTH * 0.2 if k < 10 else 0)
    feature = {
        "type": "Feature",
        "geometry": square(35.9, x1, 34.9, 35.2),
        "properties": {"controller": "occ"},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))


def named_map(path: Path, held: dict[str, str], **extra: dict) -> None:
    features = [
        {
            "type": "Feature",
            "geometry": None,
            "properties": {"name": name, "controller": c} | extra.get(name, {}),
        }
        for name, c in held.items()
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def snapshot_events(run) -> list[dict]:
    result = run("events", "--json")
    assert result.exit_code == 0, result.output
    return [e for e in json.loads(result.stdout) if e["file"].startswith("snapshot:")]


def territory(run, at: str) -> dict[str, float]:
    result = run("replay", "--territory", "--at", at, "--json")
    assert result.exit_code == 0, result.output
    return {r["row"]: r["area_km2"] for r in json.loads(result.stdout)["rows"]}


def test_a_series_of_area_maps_gives_changes_between_maps_and_the_km2_series(run, grid, tmp_path):
    series = tmp_path / "deepstate"
    series.mkdir()
    for k in range(1, 11):
        area_map(series / f"{day(k)}.geojson", k)
    result = run("snapshot", "import", str(series), "--source", "deepstate", "--rest", "gov")
    assert result.exit_code == 0, result.output
    assert "10 map(s) (10 new, 0 corrected, 0 unchanged)" in result.output
    assert result.stderr == ""  # the progress bar only on a terminal

    captures = {e["place"]: e for e in snapshot_events(run) if e["kind"] == "capture"}
    assert sorted(captures) == [f"P{i}" for i in range(10)]
    # P0 is the source's first word: held since some time after the baseline
    assert captures["P0"]["window"] == {"earliest": "2024-01-01T00:00:00Z", "latest": "2024-03-01T00:00:00Z"}
    for i in range(1, 10):  # P(i) a fifth inside on day i (contested), held from day i+1
        assert captures[f"P{i}"]["window"] == {
            "earliest": f"{day(i)}T00:00:00Z",
            "latest": f"{day(i + 1)}T00:00:00Z",
        }
        assert captures[f"P{i}"]["actor"] == "occ" and captures[f"P{i}"]["previous"] == "gov"
    claims = {e["place"] for e in snapshot_events(run) if e["kind"] == "claim"}
    assert claims == {f"P{i}" for i in range(1, 10)}  # the fifth inside: contested by occ

    replay = json.loads(run("replay", "--at", f"{day(5)}T12:00Z", "--json").stdout)
    states = {c["governorate"]: c for c in replay["capitals"]}
    assert states["P4"]["controller"] == "occ" and states["P4"]["status"] == "held"
    assert states["P5"]["status"] == "uncertain"  # between the maps of day 5 and day 6
    assert states["P6"]["controller"] == "gov" and states["P6"]["status"] == "held"

    for k in range(1, 11):  # the km² series: the places wholly inside on day k
        held = territory(run, f"{day(k)}T00:00Z")
        assert held["occ"] == pytest.approx(sum(grid[:k]), rel=1e-4)
        assert held.get("gov", 0.0) == pytest.approx(sum(grid[k:]), rel=1e-4)


def test_a_place_less_than_the_threshold_inside_is_contested_and_the_threshold_is_an_option(
    run, grid, tmp_path
):
    area_map(tmp_path / "m.geojson", 3)  # P0-P2 whole, a fifth of P3
    result = run(
        "snapshot", "import", "m.geojson", "--as-of", day(3), "--source", "ds", "--threshold", "0.15",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    captures = {e["place"] for e in snapshot_events(run) if e["kind"] == "capture"}
    assert captures == {"P0", "P1", "P2", "P3"}  # 20 % >= 15 %
    # without --rest, places outside are not observed: nothing about P4..P9
    assert all(e["place"] in captures for e in snapshot_events(run))


def test_two_sources_disagreeing_about_one_instant_give_conflicting(run, grid, tmp_path):
    named_map(tmp_path / "a.geojson", {"P1": "occ", "P2": "gov", "P3": "occ"})
    named_map(tmp_path / "b.geojson", {"P1": "other", "P2": "occ", "P3": "occ"})
    for name, source in (("a.geojson", "alpha"), ("b.geojson", "beta")):
        result = run("snapshot", "import", name, "--as-of", day(2), "--source", source)
        assert result.exit_code == 0, result.output
    replay = json.loads(run("replay", "--at", day(3), "--json").stdout)
    states = {c["governorate"]: c for c in replay["capitals"]}
    assert states["P1"]["status"] == "conflicting"
    assert sorted(states["P1"]["possible_controllers"]) == ["occ", "other"]
    # P2: alpha says the baseline holder still holds it, beta that occ does: rival reports too
    assert states["P2"]["status"] == "conflicting"
    assert sorted(states["P2"]["possible_controllers"]) == ["gov", "occ"]
    assert states["P3"]["controller"] == "occ" and states["P3"]["status"] == "held"  # they agree
    # the same reports whichever source came first (a second store, the other order)
    load = ("gazetteer", "load", "grid.geojson", "--baseline-as-of", BASE, "--controller", "occ")
    assert run(*load, "--controller", "other", "--store", "b.db").exit_code == 0
    for name, source in (("b.geojson", "beta"), ("a.geojson", "alpha")):
        assert (
            run(
                "snapshot", "import", name, "--as-of", day(2), "--source", source, "--store", "b.db"
            ).exit_code
            == 0
        )
    other = json.loads(run("events", "--json", "--store", "b.db").stdout)
    assert sorted(e["id"] for e in snapshot_events(run)) == sorted(
        e["id"] for e in other if e["file"].startswith("snapshot:")
    )


def test_reimport_adds_nothing_and_a_corrected_map_supersedes_by_correction(run, grid, tmp_path):
    for k in (1, 2):
        named_map(tmp_path / f"{day(k)}.geojson", {"P1": "gov" if k == 1 else "occ", "P2": "gov"})
    assert run("snapshot", "import", f"{day(1)}.geojson", f"{day(2)}.geojson", "--source", "s").exit_code == 0
    before = snapshot_events(run)
    assert [(e["kind"], e["place"], e["actor"]) for e in before] == [("capture", "P1", "occ")]
    again = run("snapshot", "import", f"{day(1)}.geojson", f"{day(2)}.geojson", "--source", "s")
    assert "0 new, 0 corrected, 2 unchanged" in again.output and "0 report(s) added" in again.output
    assert snapshot_events(run) == before

    # the map of day 2 corrected: P1 was still gov's, P2 was occ's
    named_map(tmp_path / f"{day(2)}.geojson", {"P1": "gov", "P2": "occ"})
    fixed = run("snapshot", "import", f"{day(2)}.geojson", "--source", "s", "--reported-at", day(4))
    assert fixed.exit_code == 0, fixed.output
    assert "1 corrected" in fixed.output and "1 report(s) added, 1 retracted" in fixed.output
    after = snapshot_events(run)
    assert after[: len(before)] == before  # nothing edited
    correction = next(e for e in after if e["kind"] == "correction")
    assert correction["targets"] == [before[0]["id"]] and correction["reported_at"] == "2024-03-04T00:00:00Z"
    now = {
        c["governorate"]: c["controller"]
        for c in json.loads(run("replay", "--at", day(3), "--json").stdout)["capitals"]
    }
    assert now["P1"] == "gov" and now["P2"] == "occ"
    then = json.loads(run("replay", "--at", day(3), "--known-at", day(3), "--json").stdout)["capitals"]
    assert {c["governorate"]: c["controller"] for c in then}["P1"] == "occ"  # as known before the fix


def test_a_map_between_two_others_splits_their_change(run, grid, tmp_path):
    named_map(tmp_path / f"{day(1)}.geojson", {"P1": "gov"})
    named_map(tmp_path / f"{day(5)}.geojson", {"P1": "occ"})
    named_map(tmp_path / f"{day(3)}.geojson", {"P1": "occ"})
    run("snapshot", "import", f"{day(1)}.geojson", f"{day(5)}.geojson", "--source", "s")
    result = run("snapshot", "import", f"{day(3)}.geojson", "--source", "s")
    assert "1 report(s) added, 1 retracted" in result.output
    changes = json.loads(run("changes", "--since", day(1), "--json").stdout)
    assert [(c["governorate"], c["window"]["earliest"], c["window"]["latest"]) for c in changes] == [
        ("P1", "2024-03-01T00:00:00Z", "2024-03-03T00:00:00Z")
    ]


def test_places_by_alias_or_pcode_and_unknown_places_refused_or_skipped(run, grid, tmp_path):
    named_map(tmp_path / "m.geojson", {"G1": "occ", "p2": "occ", "Atlantis": "occ"})
    refused = run("snapshot", "import", "m.geojson", "--as-of", day(2), "--source", "s")
    assert refused.exit_code == 2 and "unknown place(s): feature 2: 'Atlantis'" in refused.stderr
    assert snapshot_events(run) == []
    skipped = run("snapshot", "import", "m.geojson", "--as-of", day(2), "--source", "s", "--skip-unknown")
    assert skipped.exit_code == 0 and "1 unknown place(s) skipped" in skipped.output
    assert sorted(e["place"] for e in snapshot_events(run)) == ["P1", "P2"]


def test_the_feed_is_read_by_ogrinfo_and_made_again_byte_for_byte(run, grid, tmp_path):
    for k in (1, 3):
        area_map(tmp_path / f"{day(k)}.geojson", k)
    run("snapshot", "import", f"{day(1)}.geojson", f"{day(3)}.geojson", "--source", "ds", "--rest", "gov")
    result = run("snapshot", "export", "--every", "1d", "--from", day(1), "--to", day(4), "--out", "feed")
    assert result.exit_code == 0, result.output
    index = json.loads((tmp_path / "feed" / "index.json").read_text())
    assert [m["file"] for m in index["maps"]] == [f"{day(k)}T0000Z.geojson" for k in range(1, 5)]
    assert index["maps"][-1]["area_km2"]["occ"] == pytest.approx(sum(grid[:3]), rel=1e-4)
    assert index["maps"][-1]["places"] == {"gov": 7, "occ": 3}
    feature = json.loads((tmp_path / "feed" / index["maps"][-1]["file"]).read_text())["features"][0]
    assert feature["properties"]["controller"] == "occ" and feature["properties"]["sources"]
    assert feature["geometry"]["type"] == "Polygon" and feature["properties"]["area_km2"] > 0
    if shutil.which("ogrinfo"):
        for m in index["maps"]:
            path = str(tmp_path / "feed" / m["file"])
            query = ["ogrinfo", "-ro", "-al", "-q", "-where", "controller = 'occ'", path]
            out = subprocess.run(query, capture_output=True, text=True, check=True).stdout
            assert out.count("OGRFeature") == m["places"].get("occ", 0)
    first = {p.name: p.read_bytes() for p in (tmp_path / "feed").iterdir()}
    # the same feed by the export command's spelling (issue 28's: export --snapshots)
    same = run(
        "export", "--snapshots", "--every", "1d", "--from", day(1), "--to", day(4), "--format", "geojson",
        "--out", "feed2/",
    )  # fmt: skip
    assert same.exit_code == 0, same.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "feed2").iterdir()} == first
    # the store moves on; the feed made at the index's recorded-at basis is the same, byte for byte
    # (the store's clock counts whole seconds: the next import is recorded in a later second)
    import time

    time.sleep(1.05)
    area_map(tmp_path / f"{day(2)}.geojson", 2)
    run("snapshot", "import", f"{day(2)}.geojson", "--source", "ds", "--rest", "gov")
    moved = run("snapshot", "export", "--from", day(1), "--to", day(4), "--out", "now")
    assert moved.exit_code == 0
    assert (tmp_path / "now" / f"{day(2)}T0000Z.geojson").read_bytes() != first[f"{day(2)}T0000Z.geojson"]
    again = run(
        "snapshot", "export", "--from", day(1), "--to", day(4), "--out", "again",
        "--recorded-at", index["recorded_at"],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "again").iterdir()} == first


def test_the_seed_store_takes_a_named_map_and_its_feed_names_areas(run, tmp_path):
    named_map(tmp_path / "m.geojson", {"Homs": "hts", "SY12": "government", "Sweida": "druze"})
    result = run(
        "snapshot", "import", "m.geojson", "--as-of", "2024-12-06T00:00Z", "--source", "wiki",
        "--reported-at", "2024-12-06T06:00Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    kinds = sorted((e["kind"], e["place"], e["actor"]) for e in snapshot_events(run))
    assert kinds == [("capture", "As-Suwayda", "druze"), ("capture", "Homs", "hts")]
    homs = next(e for e in snapshot_events(run) if e["place"] == "Homs")
    assert homs["reported_at"] == "2024-12-06T06:00:00Z" and json.loads(homs["quote"])["name"] == "Homs"


def in_force(events: list[dict]) -> set[str]:
    """The derived reports in force: not retracted by a correction that is itself in force."""
    by_target: dict[str, list[str]] = {}
    for e in events:
        for t in e["targets"]:
            by_target.setdefault(t, []).append(e["id"])
    memo: dict[str, bool] = {}

    def live(eid: str) -> bool:
        if eid not in memo:
            memo[eid] = not any(live(r) for r in by_target.get(eid, ()))
        return memo[eid]

    return {e["id"] for e in events if e["kind"] != "correction" and live(e["id"])}


@pytest.mark.parametrize("order", [(3, 1, 5, 2, 4), (5, 4, 3, 2, 1), (2, 4, 1, 5, 3)])
def test_maps_imported_one_at_a_time_in_any_order_leave_what_the_series_gives(run, grid, tmp_path, order):
    held = {1: "gov", 2: "occ", 3: "occ", 4: "other", 5: "occ"}
    for k in range(1, 6):
        contested = {"P2": {"status": "contested", "contested_by": "other"}} if k == 3 else {}
        named_map(tmp_path / f"{day(k)}.geojson", {"P1": held[k], "P2": "gov"}, **contested)
    for k in order:
        assert run("snapshot", "import", f"{day(k)}.geojson", "--source", "s").exit_code == 0
    load = ("gazetteer", "load", "grid.geojson", "--baseline-as-of", BASE, "--controller", "occ")
    assert run(*load, "--controller", "other", "--store", "b.db").exit_code == 0
    files = [f"{day(k)}.geojson" for k in range(1, 6)]
    assert run("snapshot", "import", *files, "--source", "s", "--store", "b.db").exit_code == 0
    series = [
        e
        for e in json.loads(run("events", "--json", "--store", "b.db").stdout)
        if e["file"].startswith("snapshot:")
    ]
    assert in_force(snapshot_events(run)) == in_force(series) == {e["id"] for e in series}
    captures = [e for e in series if e["kind"] == "capture"]
    assert [(e["place"], e["actor"], e["window"]["earliest"][:10]) for e in captures] == [
        ("P1", "occ", "2024-03-01"), ("P1", "other", "2024-03-03"), ("P1", "occ", "2024-03-04"),
    ]  # fmt: skip


def test_postgres_store_takes_maps_and_gives_the_same_feed(run, grid, tmp_path, pg_store):
    """The same series on PostgreSQL: the same reports and, byte for byte, the same maps."""
    pg = pg_store
    load = ("gazetteer", "load", "grid.geojson", "--baseline-as-of", BASE, "--controller", "occ")
    assert run(*load, "--controller", "other", "--store", pg).exit_code == 0
    for k in (1, 2, 4):
        area_map(tmp_path / f"{day(k)}.geojson", k)
    files = [f"{day(k)}.geojson" for k in (1, 2, 4)]
    for where in (None, pg):
        extra = ("--store", where) if where else ()
        assert run("snapshot", "import", *files, "--source", "ds", "--rest", "gov", *extra).exit_code == 0
        again = run("snapshot", "import", *files, "--source", "ds", "--rest", "gov", *extra)
        assert "0 report(s) added" in again.output
        out = "pg" if where else "sqlite"
        assert (
            run("snapshot", "export", "--from", day(1), "--to", day(5), "--out", out, *extra).exit_code == 0
        )
    on_pg = json.loads(run("events", "--json", "--store", pg).stdout)
    assert sorted(e["id"] for e in on_pg if e["file"].startswith("snapshot:")) == sorted(
        e["id"] for e in snapshot_events(run)
    )
    for name in (f"{day(k)}T0000Z.geojson" for k in range(1, 6)):
        assert (tmp_path / "pg" / name).read_bytes() == (tmp_path / "sqlite" / name).read_bytes()


def test_the_example_of_docs_snapshots_md_prints_what_it_shows(run, tmp_path):
    import re

    doc = (Path(__file__).parent.parent / "docs" / "snapshots.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", doc, re.S)
    (tmp_path / "wiki-2024-12-06.geojson").write_text(blocks[0])
    (tmp_path / "hts-2024-12-05.geojson").write_text(blocks[1])
    shown = [line[2:] for line in doc.splitlines() if line.startswith("$ control snapshot ")]
    assert len(shown) == 4
    for command in shown:
        result = run(*command.split()[1:])
        assert result.exit_code == 0, result.output
        assert result.output in doc, result.output
    hama = run("history", "Hama").output
    for line in re.findall(r"^(snap-\S+: .*|    occurred .*|    note: derived .*)$", doc, re.M):
        assert line in hama
    tail = run("snapshot", "export", "--from", "2024-12-04", "--to", "2024-12-08", "--out", "feed2").exit_code
    assert tail == 0
    if not shutil.which("ogrinfo"):
        return
    path = str(tmp_path / "feed2" / "2024-12-08T0000Z.geojson")
    query = ["ogrinfo", "-ro", "-q", "-al", "-where", "controller = 'hts'", path]
    ogr = subprocess.run(query, capture_output=True, text=True, check=True).stdout
    assert [line for line in ogr.splitlines() if "place (String)" in line] == [
        line for line in doc.splitlines() if line.startswith("  place (String) = ")
    ]

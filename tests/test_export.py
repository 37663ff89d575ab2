"""Exports: state of every capital (csv, json, geojson) and the whole ledger (csv, json)."""

from __future__ import annotations

import csv
import io
import itertools
import json

import pytest

from control import open_ledger


def test_state_csv_has_a_header_and_fourteen_rows(run):
    result = run("export", "--at", "2024-12-08T00:00Z", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 14
    assert {"governorate", "capital", "controller", "status", "lat", "lon"} <= set(rows[0])
    assert sorted(r["counted_as"] for r in rows if r["controller"] == "government") == [
        "Damascus",
        "Damascus",
        "Latakia",
        "Tartus",
    ]  # fmt: skip  (Rif Dimashq's seat counts as Damascus)
    rif = next(r for r in rows if r["governorate"] == "Rif Dimashq")
    assert (rif["capital"], rif["counted_as"], rif["pcode"]) == (
        "Douma",
        "Damascus",
        "SY03",
    )  # at Douma's point
    damascus = next(r for r in rows if r["governorate"] == "Damascus")
    assert "claim by hts" in damascus["contested_by"]  # nothing of replay --json is dropped


def test_geojson_features_have_stable_ids_and_every_replay_field(run):
    import json

    data = json.loads(run("export", "--at", "2024-12-08T00:00Z", "--format", "geojson").output)
    replayed = json.loads(run("replay", "--at", "2024-12-08T00:00Z", "--json").output)
    assert [f["id"] for f in data["features"]] == [
        f"SY{n:02d}" for n in (1, 3, 2, 7, 5, 4, 6, 10, 12, 13, 14, 9, 11, 8)
    ]
    for feature, capital in zip(data["features"], replayed["capitals"], strict=True):
        assert capital.items() <= (feature["properties"] | {"capital": capital["capital"]}).items()


def test_ocha_and_acled_spellings_resolve(run):
    for spelling in ("Al-Hasakeh", "Ar Raqqa", "As-Sweida", "Deir-ez-Zor", "Rural Damascus", "Idleb", "SY08"):
        assert run("history", spelling).exit_code == 0, spelling


def test_state_geojson_is_fourteen_points_with_controller_and_status(run, tmp_path):
    out = tmp_path / "state.geojson"
    result = run("export", "--at", "2024-12-08T00:00Z", "--format", "geojson", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 14
    for feature in data["features"]:
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert 35 < lon < 43 and 32 < lat < 38
        assert {"controller", "status", "governorate"} <= set(feature["properties"])
    homs = next(f for f in data["features"] if f["properties"]["governorate"] == "Homs")
    assert homs["properties"]["controller"] == "hts"


def test_state_json_is_the_replay_json(run):
    exported = run("export", "--at", "2024-12-08T00:00Z", "--format", "json").output
    assert exported == run("replay", "--at", "2024-12-08T00:00Z", "--json").output


def test_events_export_has_one_row_per_event_with_file_and_quote(run, store):
    result = run("export", "--events", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    from control.fold.projection import canonical_order

    events = sorted(open_ledger(store).events(), key=canonical_order)
    assert [r["id"] for r in rows] == [e.id for e in events]  # the canonical order of listings
    homs = next(r for r in rows if r["id"] == "homs-capture-004")
    assert homs["file"] == "004_b965a63577a4c49e.txt" and "on Sunday" in homs["quote"]
    assert homs["earliest"] == "2024-12-07T21:00:00Z" and homs["reported_at"] == "2024-12-08T02:30:00Z"
    as_json = json.loads(run("export", "--events", "--format", "json").output)
    assert len(as_json) == len(rows)


def test_exports_are_byte_stable(run):
    for args in (["--at", "2024-12-08T00:00Z", "--format", "geojson"], ["--events", "--format", "csv"]):
        assert run("export", *args).output == run("export", *args).output


def _intervals(run, fmt: str = "csv"):
    import geojson

    result = run("export", "--intervals", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(result.output)))
    collection = geojson.loads(result.output)  # read by the geojson library, and valid
    assert collection.is_valid, collection.errors()
    return [f["properties"] for f in collection["features"]]


def test_intervals_tile_each_place_s_time_without_gaps_or_overlaps(run):
    for fmt in ("csv", "geojson"):
        rows = _intervals(run, fmt)
        by_place: dict[str, list[dict]] = {}
        for row in rows:
            by_place.setdefault(row["place"], []).append(row)
        assert len(by_place) == 14
        for periods in by_place.values():
            assert periods[0]["start"] == "2024-11-25T21:00:00Z"
            for earlier, later in itertools.pairwise(periods):
                assert earlier["end"] == later["start"]  # no gap, no overlap
            assert periods[-1]["end"] in ("", None)  # still active: empty in CSV, null in GeoJSON
            assert all(p["end"] for p in periods[:-1])


def test_intervals_answer_a_time_query_as_replay_does(run):
    import json

    rows = _intervals(run)
    for at in (
        "2024-11-29T00:00:00Z",
        "2024-12-05T12:00:00Z",
        "2024-12-07T20:00:00Z",
        "2024-12-08T00:00:00Z",
    ):
        held = {
            r["place"]: (r["controller"] or None, r["status"])
            for r in rows
            if r["start"] <= at and (not r["end"] or at < r["end"])
        }
        replayed = json.loads(run("replay", "--at", at, "--json").output)
        assert held == {c["governorate"]: (c["controller"], c["status"]) for c in replayed["capitals"]}, at


@pytest.mark.parametrize(
    "args",
    [
        ("replay", "--at", "2024-12-08T00:00Z"),
        ("events",),
        ("history", "Homs"),
        ("changes", "--since", "2024-11-27"),
    ],
)
def test_read_commands_give_csv_with_the_fields_of_json(run, args):
    import json

    as_json = json.loads(run(*args, "--json").output)
    items = as_json["capitals"] if args[0] == "replay" else as_json
    result = run(*args, "--csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == len(items) > 0
    header = set(rows[0])
    for key, value in items[0].items():
        if isinstance(value, dict):
            assert {f"{key}.{k}" for k in value} <= header
        else:
            assert key in header
    assert run(*args, "--csv", "--json").exit_code == 2


def test_one_event_shape_everywhere_checked_against_the_json_schema(run, tmp_path):
    import json
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("control.model").joinpath("event.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    listed = json.loads(run("events", "--json").output)
    exported = json.loads(run("export", "--events", "--format", "json").output)
    assert listed == exported  # one shape, the same events
    history = json.loads(run("history", "Homs", "--json").output)
    for item in (*listed, *history):
        errors = list(validator.iter_errors(item))
        assert not errors, (item["id"], errors[0].message)


def test_the_whole_ledger_export_streams_byte_for_byte_what_the_list_gives(run, store, tmp_path):
    """``export --events`` is written as it is read from the read model: the same bytes as the
    whole list sorted in canonical order, with --known-at too, to stdout and to a file."""
    from control.fold.projection import canonical_order, known
    from control.model.times import parse_instant
    from control.service.sync import open_app
    from control.views import exports

    run("replay")
    everything = open_app(store).read()
    for fmt in ("csv", "json"):
        for known_at in (None, "2024-12-05T00:00Z"):
            extra = ("--known-at", known_at) if known_at else ()
            expected = exports.events(
                sorted(known(everything, parse_instant(known_at) if known_at else None), key=canonical_order),
                fmt,
            )
            assert run("export", "--events", "--format", fmt, *extra).output == expected
            out = tmp_path / f"e.{fmt}"
            assert run("export", "--events", "--format", fmt, *extra, "--out", str(out)).exit_code == 0
            assert out.read_text("utf-8") == expected


def test_exports_of_some_places_are_those_rows_of_the_whole_export_read_by_index(run, monkeypatch):
    """``--place`` (repeatable, any alias) keeps those places' rows of every export: the state
    (csv, json, geojson), the periods (--intervals) and the reports (--events), exactly as the
    whole export gives them; ``--controller`` narrows the state to what it holds; neither reads
    the ledger whole."""
    from control.store.ledger import LedgerApp

    at = ("--at", "2024-12-08T00:00Z")
    wanted = {"Homs", "Hama"}

    def rows(*args: str) -> list[dict[str, str]]:
        result = run("export", "--format", "csv", *args)
        assert result.exit_code == 0, result.stderr
        return list(csv.DictReader(io.StringIO(result.output)))

    whole = {args: rows(*args) for args in (at, ("--intervals",), ("--events",))}
    with monkeypatch.context() as m:
        m.setattr(LedgerApp, "read", lambda *a, **k: pytest.fail("the whole ledger was read"))
        for args, every in whole.items():
            key = "governorate" if args == at else "place"
            mine = rows(*args, "--place", "homs", "--place", "Hamah")
            assert mine == [r for r in every if r[key] in wanted] and {r[key] for r in mine} == wanted
        held = rows(*at, "--controller", "hts")
        assert held == [r for r in whole[at] if r["controller"] == "hts"] and held
        state = json.loads(run("export", *at, "--format", "json", "--place", "Homs").output)
        full = json.loads(run("export", *at, "--format", "json").output)
        assert state["capitals"] == [c for c in full["capitals"] if c["governorate"] == "Homs"]
        assert state["holdings"] == full["holdings"]  # the holdings stay those of every place
        shapes = json.loads(run("export", *at, "--format", "geojson", "--place", "Homs").output)
        assert [f["properties"]["governorate"] for f in shapes["features"]] == ["Homs"]
    refused = run("export", "--events", "--format", "csv", "--controller", "hts")
    assert refused.exit_code == 2 and "--controller" in refused.stderr and refused.stdout == ""
    unknown = run("export", *at, "--format", "csv", "--place", "Atlantis")
    assert unknown.exit_code == 2 and "--place" in unknown.stderr

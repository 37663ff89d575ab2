"""``control import``: ACLED-style CSV exports written by the tests (no real ACLED data: its licence
forbids redistribution), on a store seeded with the record (built-in gazetteer)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from control.ingest.acled import ActorMap, default_mapping_text, direction, load_mapping, window_of

COLUMNS = (
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "iso", "region", "country", "admin1", "admin2", "admin3", "location", "latitude",
    "longitude", "geo_precision", "source", "source_scale", "notes", "fatalities", "tags", "timestamp",
)  # fmt: skip
GOV = "Military Forces of Syria (2000-2024)"
TS = int(datetime(2024, 12, 9, tzinfo=UTC).timestamp())  # 2024-12-09T00:00Z


def row(eid: str, **fields: object) -> dict[str, object]:
    base = {
        "event_id_cnty": eid, "event_date": "2024-12-01", "year": 2024, "time_precision": 1,
        "disorder_type": "Political violence", "event_type": "Strategic developments",
        "sub_event_type": "Non-state actor overtakes territory", "actor1": "Hayat Tahrir al-Sham",
        "inter1": "Rebel group", "actor2": GOV, "inter2": "State forces", "iso": 760,
        "region": "Middle East", "country": "Syria", "admin1": "Aleppo", "admin2": "Jebel Saman",
        "location": "Aleppo", "latitude": 36.2021, "longitude": 37.1343, "geo_precision": 1,
        "source": "Test Wire", "source_scale": "National", "notes": f"Test note for {eid}.",
        "fatalities": 0, "timestamp": TS,
    }  # fmt: skip
    return base | fields


def write_csv(path: Path, rows: list[dict[str, object]], columns: tuple[str, ...] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), "utf-8")
    return str(path)


EXPORT = [
    # line 2: each event type
    row("SYR1", event_date="2024-11-29", notes="On 29 November, HTS took Aleppo city."),
    row(  # line 3: government regains, a town in Hama governorate (area), time precision 2 (week)
        "SYR2",
        sub_event_type="Government regains territory",
        event_date="2024-12-04",
        time_precision=2,
        actor1=GOV,
        inter1="1",
        actor2="Hayat Tahrir al-Sham",
        inter2="2",
        admin1="Hama",
        location="Souran",
        latitude=35.29,
        longitude=36.74,
        notes="",
    ),
    row(  # line 4: non-violent transfer with one actor: a handover; time precision 3 (month)
        "SYR3",
        sub_event_type="Non-violent transfer of territory",
        event_date="2024-12-06",
        time_precision=3,
        actor1="SDF: Syrian Democratic Forces",
        inter1="Rebel group",
        actor2="",
        inter2="",
        admin1="Deir ez-Zor",
        location="Deir ez-Zor",
        latitude=35.33,
        longitude=40.14,
    ),
    row(  # line 5: no direction (two actors): a claim for review
        "SYR4",
        sub_event_type="Non-violent transfer of territory",
        event_date="2024-12-07",
        actor1="Syrian National Army",
        inter1="Rebel group",
        actor2="SDF: Syrian Democratic Forces",
        inter2="Rebel group",
        admin1="Aleppo",
        location="Manbij",
        latitude=36.53,
        longitude=37.95,
    ),
    row("SYR5", admin1="Atlantis", location="Nowhere", latitude=10.0, longitude=10.0),  # unknown place
    row("SYR6", actor1="Unheard-of Brigade"),  # line 7: unknown actor
    row("SYR7", event_type="Battles", sub_event_type="Armed clash"),  # line 8: not territory
    row(  # line 9: a town 4 km from Homs city, no admin1 the gazetteer knows: context near the capital
        "SYR8",
        admin1="Homs-ish",
        location="Al-Waer",
        latitude=34.74,
        longitude=36.67,
        event_date="2024-12-07",
    ),
    row("SYR9", event_date="2024-10-01"),  # line 10: wholly before the baseline
]


def imported(run, path: str, *extra: str):
    result = run("import", path, *extra)
    assert result.exit_code == 0, result.output
    return result.output


def acled_events(run) -> dict[str, dict]:
    out = run("events", "--json")
    assert out.exit_code == 0, out.output
    return {e["id"]: e for e in json.loads(out.output) if e["file"].startswith("acled:")}


def by_row(events: dict[str, dict], eid: str) -> list[dict]:
    return [e for e in events.values() if e["file"] == f"acled:{eid}"]


def test_windows_from_each_time_precision():
    from control.model import gazetteer

    syria = gazetteer.builtin().zone  # the built-in gazetteer's days (Asia/Damascus, UTC+3)
    day = window_of("2024-12-04", "1", syria)
    assert (day.earliest.isoformat(), day.latest.isoformat()) == (
        "2024-12-03T21:00:00+00:00",
        "2024-12-04T21:00:00+00:00",
    )
    week = window_of("04 December 2024", "2", syria)  # a Wednesday: Monday 2 to Monday 9, Syrian time
    assert (week.earliest.day, week.latest.day) == (1, 8)
    month = window_of("2024-12-15", "3", syria)
    assert (month.earliest.isoformat(), month.latest.isoformat()) == (
        "2024-11-30T21:00:00+00:00",
        "2024-12-31T21:00:00+00:00",
    )


def test_default_mapping_and_direction():
    mapping = load_mapping(default_mapping_text(), "default")
    assert mapping.controller(GOV) == "government"
    assert mapping.controller("Military Forces of Syria (2024-)") == "hts"
    assert mapping.controller("Syrian National Army - Sultan Murad Division") == "sna"
    assert mapping.controller("Islamic State (Syria)") is None
    plain = ActorMap((("X", "hts"),))
    gained = {"sub_event_type": "Non-state actor overtakes territory", "actor1": "X", "inter1": "2",
              "actor2": GOV, "inter2": "1"}  # fmt: skip
    assert direction(gained, plain)[:2] == ("capture", "hts")


def test_import_maps_each_row_and_lists_what_it_skips(run, tmp_path):
    out = imported(run, write_csv(tmp_path / "export.csv", EXPORT))
    assert out.startswith(f"import {tmp_path / 'export.csv'}: 5 added, 0 corrected, 0 unchanged, 4 skipped")
    assert "skipped (not about territory): 1" in out
    assert "line 6: SYR5: unknown place" in out
    assert "line 7: SYR6: unknown actor: 'Unheard-of Brigade'" in out
    assert "line 10: SYR9: before the baseline" in out
    assert "not retracted" in out
    events = acled_events(run)
    (aleppo,) = by_row(events, "SYR1")
    assert (aleppo["kind"], aleppo["actor"], aleppo["previous"], aleppo["place"], aleppo["scope"]) == (
        "capture", "hts", "government", "Aleppo", "city",
    )  # fmt: skip
    assert aleppo["window"] == {"earliest": "2024-11-28T21:00:00Z", "latest": "2024-11-29T21:00:00Z"}
    assert aleppo["reported_at"] == "2024-12-09T00:00:00Z"
    assert aleppo["quote"] == "On 29 November, HTS took Aleppo city."
    assert aleppo["id"].startswith("acled-SYR1-")
    (hama,) = by_row(events, "SYR2")
    assert (hama["kind"], hama["actor"], hama["place"], hama["scope"]) == (
        "capture",
        "government",
        "Hama",
        "area",
    )
    assert hama["window"] == {"earliest": "2024-12-01T21:00:00Z", "latest": "2024-12-08T21:00:00Z"}
    assert hama["quote"] == "(no notes)"
    (deir,) = by_row(events, "SYR3")
    assert (deir["kind"], deir["actor"], deir["scope"]) == ("handover", "sdf", "city")
    assert deir["window"] == {"earliest": "2024-11-30T21:00:00Z", "latest": "2024-12-09T00:00:00Z"}  # capped
    (manbij,) = by_row(events, "SYR4")
    assert manbij["kind"] == "claim" and manbij["note"].startswith("ACLED SYR4")
    assert "REVIEW" in manbij["note"] and manbij["scope"] == "area"
    (homs,) = by_row(events, "SYR8")
    assert (homs["place"], homs["scope"]) == ("Homs", "area")
    assert "km from Homs" in homs["note"]
    # the town near Homs and the Hama village change nothing: Homs and Hama follow the record
    state = json.loads(run("replay", "--at", "2024-12-10T00:00Z", "--json").output)
    capitals = {c["governorate"]: c for c in state["capitals"]}
    assert capitals["Homs"]["controller"] == "hts"
    assert capitals["Hama"]["controller"] == "hts"


def test_reimport_adds_nothing(run, tmp_path, store, fingerprint):
    path = write_csv(tmp_path / "export.csv", EXPORT)
    imported(run, path)
    before = fingerprint(store)
    out = imported(run, path)
    assert "0 added, 0 corrected, 5 unchanged, 4 skipped" in out
    assert fingerprint(store) == before


def test_revised_export_adds_only_the_differences(run, tmp_path):
    imported(run, write_csv(tmp_path / "v1.csv", EXPORT))
    first = acled_events(run)
    revised = [
        row(
            "SYR1",
            event_date="2024-11-30",
            notes="Revised: HTS took Aleppo on 30 November.",
            timestamp=TS + 86400,
        ),
        *EXPORT[2:],  # SYR2 left out of the revised export
    ]
    out = imported(run, write_csv(tmp_path / "v2.csv", revised))
    assert "1 added, 1 corrected, 3 unchanged" in out
    assert "1 ACLED id(s) in the ledger are not in this file (SYR2): not retracted" in out
    events = acled_events(run)
    assert set(events) - set(first) == {e["id"] for e in by_row(events, "SYR1")} - set(first)
    rows = by_row(events, "SYR1")
    fix = next(e for e in rows if e["kind"] == "correction")
    new = next(e for e in rows if e["kind"] == "capture" and e["id"] not in first)
    old = next(e for e in rows if e["id"] in first)
    assert fix["targets"] == [old["id"]] and fix["reported_at"] == "2024-12-10T00:00:00Z"
    assert new["window"]["earliest"] == "2024-11-29T21:00:00Z"
    assert by_row(events, "SYR2")  # kept
    # as known before the revision, the first version stands
    history = run("history", "Aleppo", "--known-at", "2024-12-09T12:00Z").output
    assert old["id"] in history and new["id"] not in history
    again = imported(run, write_csv(tmp_path / "v2.csv", revised))
    assert "0 added, 0 corrected" in again


def test_deletions_list_becomes_corrections(run, tmp_path):
    imported(run, write_csv(tmp_path / "export.csv", EXPORT))
    deletions = write_csv(
        tmp_path / "deleted.csv",
        [
            {"event_id_cnty": "SYR3", "deleted_timestamp": TS + 3600},
            {"event_id_cnty": "SYR404", "deleted_timestamp": TS},
        ],
        ("event_id_cnty", "deleted_timestamp"),
    )
    out = imported(run, write_csv(tmp_path / "export2.csv", EXPORT[:2]), "--deletions", deletions)
    assert "0 added, 1 corrected" in out
    assert "SYR404: deletion of a row not in the ledger" in out
    rows = by_row(acled_events(run), "SYR3")
    fix = next(e for e in rows if e["kind"] == "correction")
    assert fix["targets"] == [next(e["id"] for e in rows if e["kind"] == "handover")]
    assert fix["reported_at"] == "2024-12-09T01:00:00Z"
    again = imported(run, write_csv(tmp_path / "export2.csv", EXPORT[:2]), "--deletions", deletions)
    assert "0 added, 0 corrected" in again


def test_a_user_mapping_names_more_actors(run, tmp_path):
    mapping = tmp_path / "map.toml"
    mapping.write_text('[actors]\n"Unheard-of Brigade" = "southern"\n"Hayat Tahrir" = "hts"\n', "utf-8")
    out = imported(run, write_csv(tmp_path / "export.csv", EXPORT), "--mapping", str(mapping))
    assert "SYR6: unknown actor" not in out
    assert "line 3: SYR2: unknown actor: 'Military Forces of Syria (2000-2024)'" in out  # replaced
    (row6,) = by_row(acled_events(run), "SYR6")
    assert row6["actor"] == "southern"


def test_malformed_files_write_nothing(run, tmp_path, store, fingerprint):
    run("events")  # create and seed the store
    before = fingerprint(store)
    bad_columns = write_csv(tmp_path / "bad.csv", EXPORT, tuple(c for c in COLUMNS if c != "timestamp"))
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"event_id_cnty\0\x01\x02")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(COLUMNS).encode() + b"\nSYR1,caf\xe9\n")
    bad_map = tmp_path / "map.toml"
    bad_map.write_text("[actors\n", "utf-8")
    good = write_csv(tmp_path / "good.csv", EXPORT)
    for args in ((bad_columns,), (str(binary),), (str(latin),), (good, "--mapping", str(bad_map))):
        result = run("import", *args)
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert fingerprint(store) == before
    assert "missing column(s) timestamp" in run("import", bad_columns).output


def test_dry_run_writes_nothing_and_retract_missing_retracts_what_a_whole_export_dropped(
    run, tmp_path, store, fingerprint
):
    path = write_csv(tmp_path / "v1.csv", EXPORT)
    run("replay")
    before = fingerprint(store)
    out = imported(run, path, "--dry-run")
    assert out.startswith("dry run, nothing written: would import") and "would add acled-SYR1-" in out
    assert fingerprint(store) == before
    imported(run, path)
    dropped = write_csv(tmp_path / "v2.csv", [EXPORT[0], *EXPORT[2:]])  # SYR2 no longer exported
    kept = imported(run, dropped)
    assert "not retracted" in kept and by_row(acled_events(run), "SYR2")
    out = imported(run, dropped, "--retract-missing")
    assert "1 ACLED id(s) no longer in the export retracted" in out
    events = acled_events(run)
    fixes = [e for e in by_row(events, "SYR2") if e["kind"] == "correction"]
    assert len(fixes) == 1 and fixes[0]["note"].endswith("(--retract-missing)")
    assert "0 added, 0 corrected" in imported(run, dropped, "--retract-missing")  # idempotent

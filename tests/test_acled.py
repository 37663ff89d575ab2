"""``control import``: ACLED-style CSV exports written by the tests (no real ACLED data: its licence
forbids redistribution), on a store seeded with the record (built-in gazetteer)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

from control.ingest.acled import EXPORT_COLUMNS as COLUMNS
from control.ingest.acled import ActorMap, default_mapping_text, direction, load_mapping, window_of

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
    assert mapping.controller("Islamic State (Syria)", "External/Other forces") is None
    # the default's [inter] fallback: state forces are the government's until 8 December 2024
    assert mapping.controller("Unnamed Unit", "State forces", date(2024, 12, 7)) == "government"
    assert mapping.controller("Unnamed Unit", "1", date(2024, 12, 8)) == "hts"
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


# --- issue 24: report times, coordinates and dates from a file are bounded --------------------------

Y2099 = int(datetime(2099, 1, 1, tzinfo=UTC).timestamp())


def no_event_in_2099(run) -> None:
    out = run("events", "--json")
    assert out.exit_code == 0, out.output
    assert not [e["id"] for e in json.loads(out.output) if e["reported_at"].startswith("2099")]


def test_report_times_outside_adds_bounds_are_skipped_and_never_date_a_correction(run, tmp_path):
    imported(run, write_csv(tmp_path / "export.csv", EXPORT))
    deletions = write_csv(
        tmp_path / "deleted.csv",
        [{"event_id_cnty": "SYR3", "deleted_timestamp": Y2099}],
        ("event_id_cnty", "deleted_timestamp"),
    )
    revised = [row("SYR1", event_type="Battles", sub_event_type="Armed clash", timestamp=Y2099), *EXPORT[1:]]
    out = imported(run, write_csv(tmp_path / "v2.csv", revised), "--deletions", deletions)
    assert "0 added, 0 corrected" in out
    assert "line 2: SYR1: in the future: timestamp 2099-01-01T00:00:00Z is more than a day in" in out
    assert f"{tmp_path / 'deleted.csv'} line 2: SYR3: in the future: deleted_timestamp 2099" in out
    no_event_in_2099(run)
    # a row before the baseline is skipped the same way as add refuses it
    early = row(
        "SYR20", event_date="2024-10-01", timestamp=int(datetime(2024, 10, 2, tzinfo=UTC).timestamp())
    )
    out = imported(run, write_csv(tmp_path / "early.csv", [*EXPORT, early]))
    assert "line 11: SYR20: before the baseline: timestamp 2024-10-02T00:00:00Z is before the" in out
    # --retract-missing: a skipped row stamped 2099 never dates the retractions
    dropped = [EXPORT[0], row("SYR21", timestamp=Y2099), *EXPORT[2:]]  # SYR2 dropped
    out = imported(run, write_csv(tmp_path / "v3.csv", dropped), "--retract-missing")
    assert "1 ACLED id(s) no longer in the export retracted" in out and "SYR21: in the future" in out
    no_event_in_2099(run)
    (fix,) = [e for e in by_row(acled_events(run), "SYR2") if e["kind"] == "correction"]
    assert fix["reported_at"] == "2024-12-09T00:00:00Z"  # the latest accepted row's timestamp


def test_retract_missing_refuses_an_export_without_an_accepted_territorial_row(
    run, tmp_path, store, fingerprint
):
    imported(run, write_csv(tmp_path / "export.csv", EXPORT))
    before = fingerprint(store)
    header_only = write_csv(tmp_path / "header.csv", [])
    battles = write_csv(
        tmp_path / "battles.csv", [row("SYR7", event_type="Battles", sub_event_type="Armed clash")]
    )
    future = write_csv(tmp_path / "future.csv", [row("SYR30", timestamp=Y2099)])
    none = "holds no row about territory"
    for path, says in (
        (header_only, none),
        (battles, none),
        (future, "none of the 1 row(s) about territory"),
    ):
        result = run("import", path, "--retract-missing")
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr, result.stderr
        assert result.stderr.startswith("control: error: --retract-missing: ")
        assert fingerprint(store) == before
    assert "0 added" in imported(run, header_only)  # without the flag: nothing to do, said


def test_coordinates_off_the_globe_and_dates_outside_the_era_skip_the_row(run, tmp_path):
    away = {"location": "Nowhere", "admin1": "Atlantis"}
    rows = [
        row("SYR40", latitude=396.2, **away),  # would wrap round to Aleppo
        row("SYR41", latitude="inf", **away),
        row("SYR42", longitude=-181, **away),
        row("SYR43", latitude="nan", **away),
        row("SYR44", longitude="east", **away),
        row("SYR45", event_date="0001-01-01"),
        row("SYR46", event_date="9999-12-31"),
        row("SYR47", latitude=90, longitude=-180, **away),  # on the globe: too far from any place
        row("SYR48", latitude=400),  # named place, impossible coordinates: skipped all the same
    ]
    out = imported(run, write_csv(tmp_path / "export.csv", rows))
    assert "0 added" in out and "Traceback" not in out
    assert "line 2: SYR40: bad coordinates: latitude '396.2' is not between -90 and 90" in out
    assert "line 3: SYR41: bad coordinates: latitude 'inf'" in out
    assert "line 4: SYR42: bad coordinates: longitude '-181'" in out
    assert "line 5: SYR43: bad coordinates: latitude 'nan'" in out
    assert "line 6: SYR44: bad coordinates:" in out
    assert "line 7: SYR45: bad date: event_date '0001-01-01' is outside the years 1900-2099" in out
    assert "line 8: SYR46: bad date: event_date '9999-12-31' is outside the years 1900-2099" in out
    assert "line 9: SYR47: unknown place" in out
    assert "line 10: SYR48: bad coordinates" in out


def test_near_km_must_be_a_finite_distance_above_0(run, tmp_path, store, fingerprint):
    path = write_csv(tmp_path / "export.csv", EXPORT)
    run("events")
    before = fingerprint(store)
    for value in ("nan", "0", "-1", "inf", "-inf", "501", "ten"):
        result = run("import", path, "--near-km", value)
        assert result.exit_code == 2, (value, result.output)
        assert len(result.stderr.strip().splitlines()) == 1 and "--near-km" in result.stderr, result.stderr
        assert fingerprint(store) == before
    out = imported(run, path, "--near-km", "0.5")  # the town 4 km from Homs is out of reach
    assert "4 added" in out and "line 9: SYR8: unknown place" in out


# --- issue 26: real files -------------------------------------------------------------------------


def test_actor_spellings_differing_in_case_spaces_hyphens_apostrophes_and_diacritics_match():
    mapping = load_mapping(default_mapping_text(), "default")
    for spelling in ("Hayat Tahrir al Sham", "HAYAT  TAHRIR AL-SHAM", "Hay\u2019at Tahrir al-Sham",
                     "\u1e24ay\u02beat Ta\u1e25r\u012br al-Sh\u0101m", "Hayat-Tahrir-al-Sham"):  # fmt: skip
        assert mapping.controller(spelling) == "hts", spelling
    assert mapping.controller("YPG: People\u2019s Protection Units") == "sdf"
    assert mapping.controller("Rijal al-Karama") == "druze"
    assert mapping.controller("Military Forces of Syria (2024-)") == "hts"  # not the 2000-2024 line
    assert mapping.controller("Liwaa al Quds Brigade") is None  # whole words only: "Liwa" != "Liwaa"


def test_a_file_spelling_an_actor_without_its_hyphen_imports(run, tmp_path):
    out = imported(run, write_csv(tmp_path / "export.csv", [row("SYR1", actor1="Hayat Tahrir al Sham")]))
    assert "1 added" in out
    (event,) = by_row(acled_events(run), "SYR1")
    assert event["actor"] == "hts"


def test_unknown_actors_are_listed_and_suggest_mapping_writes_a_mapping_to_fill_in(run, tmp_path):
    rows = [
        *EXPORT[:4],
        row("SYR50", actor1="Unheard-of Brigade"),
        row("SYR51", actor1="Unheard-of Brigade"),
        row("SYR52", actor1='Quote " and \\ back\x1b[31m'),
        row("SYR53", actor1="X" * 5000),
    ]
    path = write_csv(tmp_path / "export.csv", rows)
    result = run("import", path, "--suggest-mapping", "suggested.toml")
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stderr.splitlines() if "not in the actor mapping" in x]
    assert "3 actor(s)" in line and "'Unheard-of Brigade' (2)" in line
    assert "written to 'suggested.toml'" in line
    assert "\x1b" not in line and "\\x1b[31m" in line  # escaped
    assert len(line) < 1000  # the 5,000-character name is cut
    text = (tmp_path / "suggested.toml").read_text("utf-8")
    assert '"Unheard-of Brigade" = ""  # 2 row(s), inter Rebel group' in text
    refused = run("import", path, "--mapping", "suggested.toml")
    assert refused.exit_code == 2 and "fill in" in refused.stderr
    filled = text.replace('"Unheard-of Brigade" = ""', '"Unheard-of Brigade" = "southern"')
    filled = filled.replace('= ""', '= "sna"')
    (tmp_path / "filled.toml").write_text(filled, "utf-8")
    mapping = load_mapping(filled, "filled.toml")
    assert mapping.controller('Quote " and \\ back\x1b[31m') == "sna"  # the escapes round-trip
    out = imported(run, path, "--mapping", "filled.toml")
    assert "4 added" in out and "unknown actor" not in out
    assert {e["actor"] for e in by_row(acled_events(run), "SYR50")} == {"southern"}


def test_an_import_whose_every_actor_is_unknown_exits_2_with_the_list(run, tmp_path, store, fingerprint):
    run("events")
    before = fingerprint(store)
    rows = [
        row(f"SYR6{i}", actor1=name) for i, name in enumerate(["Alpha Front", "Alpha Front", "Beta Group"])
    ]
    path = write_csv(tmp_path / "export.csv", rows)
    result = run("import", path)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert "nothing imported" in line and "'Alpha Front' (2), 'Beta Group' (1)" in line
    assert fingerprint(store) == before
    result = run("import", path, "--suggest-mapping", "mine.toml")  # the suggestion is still written
    assert result.exit_code == 2 and "written to 'mine.toml'" in result.stderr
    assert '"Alpha Front" = ""  # 2 row(s)' in (tmp_path / "mine.toml").read_text("utf-8")
    assert fingerprint(store) == before


def test_suggest_mapping_never_writes_over_an_input_or_the_store(run, tmp_path, store, fingerprint):
    path = write_csv(tmp_path / "export.csv", EXPORT)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[actors]\n"Hayat Tahrir" = "hts"\n', "utf-8")
    deletions = write_csv(tmp_path / "del.csv", [], ("event_id_cnty", "deleted_timestamp"))
    run("events")
    (tmp_path / "link.csv").symlink_to(path)
    before = fingerprint(store)
    contents = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    targets = (
        (path, "is FILE, which this command reads"), ("link.csv", "is FILE, which this command reads"),
        (str(mapping), "is --mapping, which"), (deletions, "is --deletions, which"),
        (store, "event store"), (store + "-wal", "event store"),
    )  # fmt: skip
    for target, says in targets:
        result = run("import", path, "--mapping", str(mapping), "--deletions", deletions,
                     "--suggest-mapping", str(target))  # fmt: skip
        assert result.exit_code == 2, result.output
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert "--suggest-mapping" in result.stderr and says in result.stderr
        assert fingerprint(store) == before
        assert {p: p.read_bytes() for p in contents} == contents


def test_inter_codes_are_a_fallback_switching_at_a_date(run, tmp_path):
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[actors]\n"Hayat Tahrir al-Sham" = "hts"\n\n[inter]\n'
        '"State forces" = { before = "government", switch = 2024-12-08, after = "hts" }\n'
        '"2" = "sna"\n',
        "utf-8",
    )
    regained = {"sub_event_type": "Government regains territory", "actor1": "Unlisted Army", "inter1": "1",
                "actor2": "Hayat Tahrir al-Sham", "inter2": "Rebel group"}  # fmt: skip
    rows = [
        row("SYR70", **regained, event_date="2024-12-05"),  # before the switch: government
        row("SYR71", **regained, event_date="2024-12-08", location="Hama", admin1="Hama"),  # from it: hts
        row("SYR72", actor1="Some Rebel Group", inter1="Rebel group", location="Homs", admin1="Homs"),
    ]
    out = imported(run, write_csv(tmp_path / "export.csv", rows), "--mapping", str(mapping))
    assert "3 added" in out
    events = acled_events(run)
    assert [e["actor"] for e in by_row(events, "SYR70")] == ["government"]
    assert "by inter '1'" in by_row(events, "SYR70")[0]["note"]
    assert [e["actor"] for e in by_row(events, "SYR71")] == ["hts"]
    assert [e["actor"] for e in by_row(events, "SYR72")] == ["sna"]
    parsed = load_mapping(mapping.read_text("utf-8"), "map.toml")
    assert parsed.controller("Unlisted Army", "State forces") == "government"  # no date: before
    assert parsed.controller("Unlisted Army", "7") is None  # civilians: no rule
    bad = tmp_path / "bad.toml"
    for inter, says in (('"8x" = "sna"', "not an ACLED interaction code"),
                        ('"1" = { before = "a", switch = "soon", after = "b" }', "switch must be a date"),
                        ('"1" = { before = "a", after = "b", when = 1 }', "give a controller")):  # fmt: skip
        bad.write_text(f'[actors]\n"X" = "hts"\n[inter]\n{inter}\n', "utf-8")
        result = run("import", write_csv(tmp_path / "export.csv", rows), "--mapping", str(bad))
        assert result.exit_code == 2 and says in result.stderr, result.stderr


def test_a_file_over_10_mb_streams_and_a_bad_line_deep_in_it_is_named(run, tmp_path, store, fingerprint):
    run("events")
    before = fingerprint(store)
    big = tmp_path / "big.csv"
    filler = [
        row(f"SYR{i}", event_type="Battles", sub_event_type="Armed clash", notes="n" * 400)
        for i in range(1000)
    ]
    write_csv(big, filler)
    chunk = big.read_text("utf-8").split("\n", 1)[1]
    with open(big, "a", encoding="utf-8") as handle:
        for _ in range(25):
            handle.write(chunk.replace("SYR", f"S{_}Y"))
    assert big.stat().st_size > 10 * 1024 * 1024
    lines = big.read_bytes().count(b"\n")
    last = write_csv(tmp_path / "one.csv", [row("ZZZ1")])
    with open(big, "a", encoding="utf-8") as handle:
        handle.write(Path(last).read_text("utf-8").split("\n", 1)[1])
    out = imported(run, str(big))
    assert "1 added" in out and f"skipped (not about territory): {lines - 1}" in out
    bad = tmp_path / "bad.csv"
    bad.write_bytes(big.read_bytes() + b"SYR9,caf\xe9\n")
    before = fingerprint(store)
    result = run("import", str(bad))
    assert result.exit_code == 2 and f"bad.csv:{lines + 2}: not UTF-8" in result.stderr, result.stderr
    bad.write_bytes(big.read_bytes()[:5000] + b"\0\n")
    result = run("import", str(bad))
    assert result.exit_code == 2 and "bad.csv:" in result.stderr and "binary" in result.stderr
    assert fingerprint(store) == before


def test_progress_bar_on_a_terminal_and_nothing_when_piped(store, tmp_path):
    import os
    import pty
    import subprocess
    import sys

    path = write_csv(tmp_path / "export.csv", EXPORT[:4])
    env = {**os.environ, "CONTROL_STORE": store}
    piped = subprocess.run([sys.executable, "-m", "control", "import", path], capture_output=True, env=env,
                           cwd=tmp_path, timeout=120)  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == b""
    main, secondary = pty.openpty()
    done = subprocess.run([sys.executable, "-m", "control", "import", path], stdout=subprocess.PIPE,
                          stderr=secondary, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
    os.close(secondary)
    shown = b""
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        shown += data
    os.close(main)
    assert done.returncode == 0
    assert b"import: checking export.csv" in shown and b"100%" in shown


def test_a_deletions_list_retracts_a_row_the_same_import_adds(run, tmp_path):
    deletions = write_csv(
        tmp_path / "deleted.csv",
        [{"event_id_cnty": "SYR3", "deleted_timestamp": TS + 60}],
        ("event_id_cnty", "deleted_timestamp"),
    )
    out = imported(run, write_csv(tmp_path / "export.csv", EXPORT), "--deletions", deletions)
    assert "5 added, 1 corrected" in out
    rows = by_row(acled_events(run), "SYR3")
    fix = next(e for e in rows if e["kind"] == "correction")
    assert fix["targets"] == [next(e["id"] for e in rows if e["kind"] == "handover")]


def test_crlf_line_endings_a_byte_order_mark_and_quoted_newlines_as_acled_writes_them(run, tmp_path):
    path = tmp_path / "export.csv"
    rows = [row("SYR1", notes="First line.\nSecond line."), row("SYR2", location="Homs", admin1="Homs")]
    write_csv(path, rows)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    out = imported(run, str(path))
    assert "2 added" in out
    (first,) = by_row(acled_events(run), "SYR1")
    assert first["quote"] == "First line.\r\nSecond line."
    bad = tmp_path / "bad.csv"
    bad.write_bytes(path.read_bytes() + b"SYR3,x\r\n")
    result = run("import", str(bad))
    assert result.exit_code == 2, result.output
    assert "bad.csv:5: 2 fields where the header has" in result.stderr, result.stderr

"""User gazetteers: a ledger over any places, bound to the store, extended without rewriting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from control import open_ledger
from control.model import gazetteer

REGION = """\
[gazetteer]
name = "north-test"
baseline_as_of = "2024-01-01T00:00Z"
about = "Places made up for the tests"

[controllers]
government = "The government"
rebels = "A rebel coalition"
kurds = "Kurdish-led forces"

[[place]]
name = "Alpha"
id = "P001"
pcode = "XX01"
aliases = ["Al-Alpha", "Alfa"]
lat = 36.2
lon = 37.1
baseline = "government"

[[place]]
name = "Beta"
id = "P002"
lat = 35.9
lon = 38.2
baseline = "kurds"
parent = "Alpha"
admin_level = 2
"""
MORE = (
    REGION
    + """
[[place]]
name = "Gamma"
id = "P003"
lat = 35.1
lon = 36.7
baseline = "government"
"""
)


def _load(run, tmp_path: Path, text: str, name: str = "region.toml"):
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return run("gazetteer", "load", str(path))


def test_a_ledger_over_a_user_gazetteer(run, tmp_path, store):
    result = _load(run, tmp_path, REGION)
    assert result.exit_code == 0, result.output
    assert "2 place(s) added" in result.output
    assert "unchanged" in _load(run, tmp_path, REGION).output  # loading again adds nothing
    (tmp_path / "note.txt").write_text("Rebels took Alfa on Monday.\n")
    added = run(
        "add", "--kind", "capture", "--place", "XX01", "--actor", "rebels", "--when", "Monday",
        "--reported-at", "2024-02-07T10:00Z", "--file", "note.txt", "--quote", "Rebels took Alfa",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    data = json.loads(run("replay", "--at", "2024-03-01T00:00Z", "--json").output)
    assert [(c["capital"], c["controller"]) for c in data["capitals"]] == [
        ("Alpha", "rebels"),
        ("Beta", "kurds"),
    ]
    assert data["total_capitals"] == 2
    ids = {e.id for e in open_ledger(store).events()}
    assert "baseline-damascus" not in ids  # the seed record never syncs into this ledger
    assert run("add", "--kind", "capture", "--place", "Damascus", "--actor", "rebels").exit_code == 2
    bad_actor = run(
        "add", "--kind", "claim", "--place", "Beta", "--actor", "hts", "--when", "by report",
        "--reported-at", "2024-02-07T10:00Z", "--file", "note.txt", "--quote", "Rebels took Alfa",
    )  # fmt: skip
    assert bad_actor.exit_code == 2 and "unknown controller 'hts'" in bad_actor.output
    result = run("replay", "--at", "2024-03-01T00:00Z", "--controller", "kurds")
    only = result.output
    assert "Beta" in only and "\nAlpha " not in only


def test_a_later_version_adds_places_and_never_removes(run, tmp_path, store, fingerprint):
    assert _load(run, tmp_path, REGION).exit_code == 0
    result = _load(run, tmp_path, MORE, "v2.toml")
    assert result.exit_code == 0 and "version 2: 1 place(s) added, 3 in all" in result.output
    shown = json.loads(run("gazetteer", "show", "--json").output)
    assert shown["version"] == 2 and [p["name"] for p in shown["places"]] == ["Alpha", "Beta", "Gamma"]
    assert "baseline-p003" in {e.id for e in open_ledger(store).events()}
    before = fingerprint(store)
    removed = _load(run, tmp_path, REGION.replace('baseline = "kurds"', 'baseline = "rebels"'), "v3.toml")
    assert removed.exit_code == 2 and "baseline controller differs" in removed.output
    fewer = _load(run, tmp_path, REGION, "v4.toml")
    assert fewer.exit_code == 2 and "'Gamma' is missing" in fewer.output
    assert fingerprint(store) == before


def test_a_store_with_the_seed_record_keeps_the_builtin_gazetteer(run, tmp_path, store, fingerprint):
    run("replay")
    before = fingerprint(store)
    result = _load(run, tmp_path, REGION)
    assert result.exit_code == 2 and "built-in Syrian gazetteer" in result.output
    assert fingerprint(store) == before
    assert "Syria's 14 provincial capitals" in run("replay", "--at", "2024-12-08").output


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("lat = 35.9", "lat = 95.9"), 23, "lat must be a number in -90..90"),
        (('baseline = "kurds"', 'baseline = "nobody"'), 25, "baseline 'nobody' is not in [controllers]"),
        (('aliases = ["Al-Alpha", "Alfa"]', 'aliases = ["Al-Alpha", "Beta"]'), 20, "'Beta' already names"),
        (('parent = "Alpha"', 'parent = "Omega"'), 26, "parent 'Omega' is not a place"),
        (('parent = "Alpha"', 'administered_from = "Omega"'), 26, "'Omega' is not the capital of another"),
        (('parent = "Alpha"', 'administered_from = "Beta"'), 26, "'Beta' is not the capital of another"),
        (('name = "Beta"', 'name = "Be\\u001bta"'), 21, "name is required: text without control"),
        (('baseline_as_of = "2024-01-01T00:00Z"', 'baseline_as_of = "2024-01-01T00:00"'), 3, "no time zone"),
        (('kurds = "Kurdish-led forces"', 'Kurds! = "x"'), 9, "malformed TOML"),
        (("lon = 38.2", "lon = 38.2\nheight = 3"), 20, "unknown field(s) height"),
    ],
)
def test_a_gazetteer_with_errors_is_refused_with_its_line(
    run, tmp_path, store, fingerprint, change, line, message
):
    before = fingerprint(store)
    result = _load(run, tmp_path, REGION.replace(*change))
    assert result.exit_code == 2
    [text] = result.output.splitlines()
    assert f"region.toml:{line}:" in text and message in text, text
    assert fingerprint(store) == before


def test_a_place_may_be_counted_at_another_places_capital(run, tmp_path, store):
    """``administered_from`` names the city counted instead (the "damascus" seat setting): it
    must be another place's capital, which then counts once for both."""
    text = REGION.replace('parent = "Alpha"', 'parent = "Alpha"\nadministered_from = "Alpha"')
    assert _load(run, tmp_path, text).exit_code == 0
    shown = json.loads(run("gazetteer", "show", "--json").output)
    assert [p.get("administered_from") for p in shown["places"]] == [None, "Alpha"]


def test_a_places_own_name_is_never_taken_by_another_places_capital(tmp_path):
    """Alpha's capital city is called Beta, and a place is called Beta: the name Beta (in any
    case) is that place; Alpha is still found by its other labels."""
    path = tmp_path / "region.toml"
    path.write_text(REGION.replace('name = "Alpha"\n', 'name = "Alpha"\ncapital = "Beta"\n'), "utf-8")
    with gazetteer.using(gazetteer.load_file(path)):
        assert gazetteer.resolve_place("Beta").name == "Beta"
        assert gazetteer.resolve_place("beta").name == "Beta"
        assert gazetteer.resolve_place("Alfa").name == "Alpha"

"""User gazetteers: a ledger over any places, bound to the store, extended without rewriting."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from control import open_ledger, parse_instant
from control.ingest import gazetteers
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
    assert removed.exit_code == 2 and "place 'Beta': baseline was 'kurds', now 'rebels'" in removed.output
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


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('name = "Alpha"\n', 'name = "Alpha"\ncapital = "Beta"\n'),  # another place's name
        ('name = "Alpha"\n', 'name = "Alpha"\ncapital = "BETA"\n'),  # in any case
        ('name = "Beta"\n', 'name = "Beta"\ncapital = "Alfa"\n'),  # another place's alias
        ('name = "Beta"\n', 'name = "Beta"\ncapital = "Gamma Town"\n'),  # another place's capital
        ('name = "Beta"\n', 'name = "Beta"\naliases = ["Gamma Town"]\n'),  # an alias that is one
    ],
)
def test_a_capital_that_names_another_place_is_refused(run, tmp_path, store, fingerprint, old, new):
    """Alpha's capital city called Beta while a place is called Beta would be counted twice (one
    city held by two controllers at once): capitals are labels, and labels name one place."""
    before = fingerprint(store)
    text = MORE.replace('name = "Gamma"\n', 'name = "Gamma"\ncapital = "Gamma Town"\n').replace(old, new, 1)
    result = _load(run, tmp_path, text)
    assert result.exit_code == 2, result.output
    [line] = result.output.splitlines()
    assert "already names the place at" in line and "capitals" in line, line
    assert fingerprint(store) == before


# --- issue 24 §3-4: the TOML reader, history of versions, bounds (h4a) --------------------------


def test_the_toml_reader_finds_lines_past_strings_arrays_and_subtables():
    from control.model.tomlfile import TomlFile

    text = """\
top = 1
[gazetteer]
name = "x"
about = '''
[[place]]
not = "a header"
'''
[[place]]
name = "A"  # [[place]] in a comment
outline = [
  [1, 2],
  [3, 4],
]
note = \"\"\"a \\\"\"\" quote
[[place]]
\"\"\"
[place.extra]
lat = 9
[[place]]
"name" = "B"
lat = 2
"""
    doc = TomlFile("t.toml", text)
    assert [p["name"] for p in doc.items("place")] == ["A", "B"]
    assert doc.line("place", 0) == 8 and doc.line("place", 1) == 19
    assert doc.line("place", 0, "note") == 14
    assert doc.line("place", 0, "lat") == 8  # lat is [place.extra]'s, not the item's own: the header
    assert doc.line("place", 1, "name") == 20 and doc.line("place", 1, "lat") == 21
    assert doc.line("gazetteer", key="about") == 4 and doc.line(key="top") == 1
    assert doc.where("place", 1, "lat") == "t.toml:21"


def test_a_large_gazetteer_is_read_and_refused_in_linear_time(tmp_path):
    """One scan finds every item's line (a scan per item took 9 s for 4,000 places): 20,000
    places, refused at the last, in seconds. The 100,000-place figures: bench_gazetteer.py."""
    import time

    lines = ['[gazetteer]\nname = "big"\nbaseline_as_of = "2024-01-01T00:00Z"\n[controllers]\nblue = "b"\n']
    lines += [f'[[place]]\nname = "P{i}"\nlat = {95 if i == 19_999 else 1}\nlon = 2\n' for i in range(20_000)]
    path = tmp_path / "big.toml"
    path.write_text("".join(lines), "utf-8")
    started = time.monotonic()
    with pytest.raises(gazetteer.UserError, match=r"big.toml:80004: lat must be a number"):
        gazetteers.load_file(path)
    assert time.monotonic() - started < 30


def _versions(run, tmp_path, *texts):
    for n, text in enumerate(texts, 1):
        result = _load(run, tmp_path, text, f"v{n}.toml")
        assert result.exit_code == 0, result.output
    return result


def test_a_later_version_may_add_fields_a_place_did_not_have(run, tmp_path, store):
    v2 = REGION.replace('aliases = ["Al-Alpha", "Alfa"]', 'aliases = ["Al-Alpha", "Alfa", "Alpha City"]')
    v2 = v2.replace(
        "admin_level = 2\n", 'admin_level = 2\nnote = "added in v2"\nadministered_from = "Alpha"\n'
    )
    result = _versions(run, tmp_path, REGION, v2)
    assert "version 2: fields added to places it had (2 places)" in result.output
    shown = json.loads(run("gazetteer", "show", "--json").output)
    beta = shown["places"][1]
    assert (beta["note"], beta["administered_from"]) == ("added in v2", "Alpha")
    assert shown["places"][0]["aliases"] == ["Al-Alpha", "Alfa", "Alpha City"]
    assert "unchanged" in _load(run, tmp_path, v2, "again.toml").output


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("lat = 36.2", "lat = 36.25"), "place 'Alpha': lat was 36.2, now 36.25"),
        (('pcode = "XX01"', 'pcode = "XX02"'), "place 'Alpha': pcode was 'XX01', now 'XX02'"),
        (
            ('name = "Alpha"\n', 'name = "Alpha"\ncapital = "Alpha Town"\n'),
            "capital was 'Alpha', now 'Alpha Town'",
        ),
        (('parent = "Alpha"', 'parent = "P001"'), "place 'Beta': parent was 'Alpha', now 'P001'"),
        (('id = "P002"', 'id = "P020"'), "place 'Beta': id was 'P002', now 'P020'"),
        (('aliases = ["Al-Alpha", "Alfa"]', 'aliases = ["Alfa"]'), "aliases lost 'Al-Alpha'"),
        (('about = "Places made up for the tests"', 'about = "Other"'), "the gazetteer's about was"),
        (('kurds = "Kurdish-led forces"', 'kurds = "Kurds"'), "controllers 'kurds' was 'Kurdish-led forces'"),
    ],
)
def test_a_later_version_that_changes_a_field_is_refused(run, tmp_path, store, fingerprint, change, says):
    assert _load(run, tmp_path, REGION).exit_code == 0
    before = fingerprint(store)
    result = _load(run, tmp_path, REGION.replace(*change), "v2.toml")
    assert result.exit_code == 2, result.output
    [line] = result.output.splitlines()
    assert says in line and "may only add" in line, line
    assert fingerprint(store) == before


def test_fields_other_modules_add_are_kept_by_the_same_rule():
    """The rule is over the stored form: a field this module does not know (a display setting, a
    population) may be set where it was absent, not changed once set."""
    base = gazetteers.load_file("r.toml", REGION)

    def with_extra(place_extra: dict, head_extra: dict) -> gazetteer.Gazetteer:
        atlas = gazetteers.load_file("r.toml", REGION)
        plain = atlas.to_dict()
        places = [p | place_extra if p["name"] == "Beta" else p for p in plain["places"]]
        atlas.to_dict = lambda: plain | head_extra | {"places": places}  # type: ignore[method-assign]
        return atlas

    old = with_extra({"population": None}, {})
    gazetteers.check_extension(old, with_extra({"population": 5000}, {"time_zone": "UTC"}), "v2")
    set_once = with_extra({"population": 5000, "shape": [[1, 2], [3, 4]]}, {"time_zone": "UTC"})
    gazetteers.check_extension(set_once, set_once, "v2")
    for place_extra, head_extra, says in [
        (
            {"population": 6000, "shape": [[1, 2], [3, 4]]},
            {"time_zone": "UTC"},
            "place 'Beta': population was 5000",
        ),
        ({"population": 5000, "shape": [[1, 2]]}, {"time_zone": "UTC"}, "place 'Beta': shape was"),
        (
            {"population": 5000, "shape": [[1, 2], [3, 4]]},
            {"time_zone": "Asia/Damascus"},
            "time_zone was 'UTC'",
        ),
    ]:
        with pytest.raises(gazetteer.UserError, match=re.escape(says)):
            gazetteers.check_extension(set_once, with_extra(place_extra, head_extra), "v2")
    gazetteers.check_extension(base, base, "v2")


def _region_with_a_capture(run, tmp_path) -> None:
    """REGION loaded and Alpha captured, both recorded on 1 March 2024 (the store's clock)."""
    from freezegun import freeze_time

    (tmp_path / "note.txt").write_text("Rebels took Alfa on Monday.\n")
    with freeze_time("2024-03-01T00:00:00Z"):
        assert _load(run, tmp_path, REGION).exit_code == 0
        added = run(
            "add", "--kind", "capture", "--place", "Alpha", "--actor", "rebels", "--when", "Monday",
            "--reported-at", "2024-02-07T10:00Z", "--file", "note.txt", "--quote", "Rebels took Alfa",
        )  # fmt: skip
        assert added.exit_code == 0, added.output


def test_recorded_at_answers_with_the_gazetteer_version_in_force_then(run, tmp_path, store):
    """A version that adds a place (and makes Beta counted at Alpha's capital) is not in an
    answer given --recorded-at before it was loaded: the same bytes before and after the load."""
    from freezegun import freeze_time

    _region_with_a_capture(run, tmp_path)
    then = "2024-03-02T00:00Z"
    questions = [
        ("replay", "--at", "2024-02-20T00:00Z"),
        ("replay", "--at", "2024-02-20T00:00Z", "--json"),
        ("replay", "--at", "2024-02-20T00:00Z", "--csv"),
        ("events", "--json"),
        ("history", "Beta", "--json"),
        ("changes", "--since", "2024-01-01", "--json"),
        ("export", "--format", "geojson", "--at", "2024-02-20T00:00Z"),
    ]
    before = {q: run(*q, "--recorded-at", then).stdout for q in questions}
    v2 = MORE.replace("admin_level = 2\n", 'admin_level = 2\nadministered_from = "Alpha"\n')
    with freeze_time("2024-04-01T00:00:00Z"):
        result = _load(run, tmp_path, v2, "v2.toml")
        assert result.exit_code == 0 and "1 place(s) added" in result.output
    latest = json.loads(run("replay", "--at", "2024-02-20T00:00Z", "--json").output)
    assert [c["governorate"] for c in latest["capitals"]] == ["Alpha", "Beta", "Gamma"]
    assert latest["capitals"][1]["controller"] == "rebels"  # Beta now counted at Alpha's capital
    for q in questions:
        again = run(*q, "--recorded-at", then)
        assert again.exit_code == 0, again.output
        assert again.stdout == before[q], q
    assert "Gamma" not in before[questions[1]] and '"kurds"' in before[questions[1]]
    unknown = run("history", "Gamma", "--recorded-at", then)
    assert unknown.exit_code == 2 and "unknown place 'Gamma'" in unknown.output
    assert "Gamma" in run("replay", "--at", "2024-02-20T00:00Z", "--recorded-at", "2024-04-02").output
    atlas = open_ledger(store).app.stored_gazetteer(parse_instant(then))
    assert atlas is not None and [p.name for p in atlas.places] == ["Alpha", "Beta"]


def test_stored_states_follow_a_version_that_changes_how_a_place_is_counted(run, tmp_path, store):
    """Beta gains administered_from: its stored state is folded again (the answer read from the
    stored states is the one folded from the reports)."""
    _region_with_a_capture(run, tmp_path)
    v2 = REGION.replace("admin_level = 2\n", 'admin_level = 2\nadministered_from = "Alpha"\n')
    assert _load(run, tmp_path, v2, "v2.toml").exit_code == 0
    stored = json.loads(run("replay", "--at", "2024-03-01T00:00Z", "--json").output)
    folded = json.loads(
        run("replay", "--at", "2024-03-01T00:00Z", "--known-at", "2099-01-01", "--json").output
    )
    assert [c["controller"] for c in stored["capitals"]] == ["rebels", "rebels"]
    assert stored["capitals"] == folded["capitals"]


def test_baseline_as_of_is_bounded_by_the_clock_and_kept_exactly(run, tmp_path, store):
    from freezegun import freeze_time

    with freeze_time("2024-06-01T00:00:00Z"):
        late = _load(run, tmp_path, REGION.replace("2024-01-01T00:00Z", "2024-06-02T00:00:01Z"))
        assert (
            late.exit_code == 2
            and "region.toml:3: baseline_as_of 2024-06-02T00:00:01Z is more" in late.output
        )
        exact = REGION.replace("2024-01-01T00:00Z", "2024-06-01T23:59:59.25+00:00")
        assert _load(run, tmp_path, exact).exit_code == 0
        assert "unchanged" in _load(run, tmp_path, exact, "again.toml").output
    shown = json.loads(run("gazetteer", "show", "--json").output)
    assert shown["baseline_as_of"] == "2024-06-01T23:59:59.250000Z"
    moved = _load(run, tmp_path, exact.replace(".25", ".5"), "moved.toml")
    assert moved.exit_code == 2 and "baseline_as_of differs" in moved.output


def test_a_label_without_a_letter_or_digit_is_refused(tmp_path):
    for change, says in [
        (('name = "Beta"', 'name = "***"'), "r.toml:21: name '***' has no letter or digit"),
        (('pcode = "XX01"', 'pcode = "-"'), "r.toml:14: pcode '-' has no letter or digit"),
    ]:
        with pytest.raises(gazetteer.UserError, match=re.escape(says)):
            gazetteers.load_file("r.toml", REGION.replace(*change))


def test_fold_workers_answer_with_the_version_in_force_at_recorded_at(run, tmp_path, store, monkeypatch):
    """Worker processes fold with the gazetteer version the answer is given with: Beta, counted
    at Alpha's capital only from version 2 on, is folded as itself for an earlier --recorded-at."""
    from freezegun import freeze_time

    from control.store import states

    _region_with_a_capture(run, tmp_path)
    question = ("replay", "--at", "2024-02-20T00:00Z", "--json", "--recorded-at", "2024-03-02T00:00Z")
    before = run(*question).stdout
    v2 = REGION.replace("admin_level = 2\n", 'admin_level = 2\nadministered_from = "Alpha"\n')
    with freeze_time("2024-04-01T00:00:00Z"):
        assert _load(run, tmp_path, v2, "v2.toml").exit_code == 0

    def not_here(*args):
        raise AssertionError("folded in the parent process, not in a worker")

    monkeypatch.setattr(states, "PARALLEL_PLACES", 1)
    monkeypatch.setattr(states, "PARALLEL_REPORTS", 1)
    monkeypatch.setattr(states, "FOLD_CHUNK", 1)
    monkeypatch.setenv(states.WORKERS_ENV, "2")
    monkeypatch.setitem(states.CHUNK_WORK, "states_at", not_here)
    again = run(*question)
    assert again.exit_code == 0, again.output
    assert again.stdout == before
    assert [c["controller"] for c in json.loads(before)["capitals"]] == ["rebels", "kurds"]

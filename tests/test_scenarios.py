"""What-if scenarios: outcomes of the shipped ones, isolation from the record, atomic replacement,
in-memory equal to stored, and every bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from control import open_ledger, record_events
from control.fold.projection import replay
from control.model.times import parse_instant
from control.store.ledger import open_app
from control.views.render import to_json
from control.whatif.scenario import (
    PROJECT_SCENARIOS,
    evaluate,
    find,
    load,
    run,
    stored_definition,
    stored_world,
)

END = "2024-12-08T00:00Z"
SHIPPED = sorted(p.stem for p in PROJECT_SCENARIOS.glob("*.toml"))


def _compare(run_cli, name: str, *extra: str) -> dict:
    result = run_cli("scenario", "compare", name, "--at", END, "--json", *extra)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.output)


def test_at_least_three_scenarios_ship_and_list_by_name(run):
    assert len(SHIPPED) >= 3
    listed = json.loads(run("scenario", "list", "--json").output)
    assert listed == SHIPPED


def test_homs_holds_leaves_the_government_four_of_fourteen(run):
    data = _compare(run, "homs-holds")
    assert data["record"]["holdings"]["government"]["count"] == 3
    assert data["scenario"]["holdings"]["government"] == {
        "count": 4,
        "capitals": ["Damascus", "Homs", "Latakia", "Tartus"],
    }
    assert [d["governorate"] for d in data["differences"]] == ["Homs"]


def test_sdf_staying_out_leaves_deir_ez_zor_vacated(run):
    data = _compare(run, "sdf-stays-out")
    [diff] = data["differences"]
    assert diff["governorate"] == "Deir ez-Zor"
    assert diff["record"]["controller"] == "sdf"
    assert diff["scenario"] == {"controller": None, "status": "vacated"}
    assert data["scenario"]["holdings"]["sdf"]["capitals"] == ["Al-Hasakah", "Raqqa"]
    assert data["scenario"]["holdings"]["government"] == data["record"]["holdings"]["government"]


def test_aleppo_counterattack_gives_the_government_aleppo_back(run):
    data = _compare(run, "aleppo-counterattack")
    assert data["scenario"]["holdings"]["government"]["capitals"] == [
        "Aleppo", "Damascus", "Latakia", "Tartus",
    ]  # fmt: skip
    before = _compare(run, "aleppo-counterattack", "--in-memory")
    assert before == data
    early = json.loads(run("scenario", "compare", "aleppo-counterattack", "--at", "2024-12-02T12:00Z",
                           "--json").output)  # fmt: skip
    assert early["differences"] == []  # before the hypothetical window the worlds agree


def test_scenarios_never_touch_the_record(run, store):
    replay_before = run("replay", "--at", END, "--json").output
    events_before = run("events", "--json").output
    for name in SHIPPED:
        assert run("scenario", "run", name, "--at", END).exit_code == 0
    assert run("replay", "--at", END, "--json").output == replay_before
    assert run("events", "--json").output == events_before
    assert all(e.scenario is None for e in open_ledger(store).events())


def test_two_scenarios_never_see_each_other(store):
    app = open_app(store)
    run(app, "homs-holds")
    run(app, "aleppo-counterattack")
    homs = stored_world(app, "homs-holds")
    aleppo = stored_world(app, "aleppo-counterattack")
    assert {e.scenario for e in homs} == {None, "homs-holds"}
    assert {e.scenario for e in aleppo} == {None, "aleppo-counterattack"}
    assert "homs-capture-002" not in {e.id for e in homs}
    assert "homs-capture-002" in {e.id for e in aleppo}


def test_in_memory_evaluation_equals_the_stored_branch(store):
    app = open_app(store)
    record = record_events()
    for name in SHIPPED:
        scenario = run(app, name)
        for at in ("2024-12-03T00:00Z", END):
            memory = evaluate(scenario, record, parse_instant(at))
            stored = replay(stored_world(app, name), parse_instant(at))
            assert to_json(memory.to_dict()) == to_json(stored.to_dict()), (name, at)


def test_rerunning_an_edited_scenario_replaces_its_branch_atomically(run, store, tmp_path: Path):
    folder = tmp_path / "mine"
    folder.mkdir()
    path = folder / "counter.toml"
    shutil.copy(PROJECT_SCENARIOS / "aleppo-counterattack.toml", path)
    assert run("scenario", "run", "aleppo-counterattack", "--dir", str(folder)).exit_code == 0
    path.write_text(
        path.read_text()
        .replace('id = "aleppo-counterattack-capture"', 'id = "aleppo-retaken-later"')
        .replace('when = "December 3"', 'when = "December 5"')
        .replace("2024-12-03T18:00:00Z", "2024-12-05T18:00:00Z")
    )
    assert run("scenario", "run", "aleppo-counterattack", "--dir", str(folder)).exit_code == 0
    app = open_app(store)
    definition = stored_definition(app, "aleppo-counterattack")
    assert [e["id"] for e in definition["events"]] == ["aleppo-retaken-later"]
    ids = {e.id for e in stored_world(app, "aleppo-counterattack")}
    assert "aleppo-retaken-later" in ids and "aleppo-counterattack-capture" not in ids
    defined = [s for _, s in app.payloads("scenario:aleppo-counterattack") if "definition" in s]
    assert len(defined) == 2  # one event per run: the old branch stays as history
    assert run("scenario", "run", "aleppo-counterattack", "--dir", str(folder)).exit_code == 0
    assert len([s for _, s in app.payloads("scenario:aleppo-counterattack") if "definition" in s]) == 2


def test_new_writes_a_starter_with_the_state_as_comments(run, tmp_path: Path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    result = run("scenario", "new", "damascus-holds", "--at", "2024-12-06T00:00Z")
    assert result.exit_code == 0, result.stderr
    text = (folder / "damascus-holds.toml").read_text()
    assert "#   Aleppo       Aleppo       hts         held" in text
    assert "#   Daraa        Daraa        government  uncertain" in text
    assert json.loads(run("scenario", "list", "--json").output) == ["damascus-holds"]
    assert run("scenario", "show", "damascus-holds").exit_code == 0
    again = run("scenario", "new", "damascus-holds", "--at", "2024-12-06T00:00Z")
    assert again.exit_code == 2 and "already exists" in again.stderr


GOOD_HEAD = '[scenario]\nname = "bad"\ndescription = "A bad scenario"\n'
EVENT = (
    '\n[[event]]\nkind = "capture"\nplace = "Homs"\nactor = "government"\nfrom = "hts"\n'
    'when = "December 9"\nreported_at = "2024-12-09T12:00Z"\n'
)
BAD = [
    ("malformed", GOOD_HEAD + 'suppress = ["x"\n', ":4", "malformed TOML"),
    ("unknown-id", GOOD_HEAD + 'suppress = ["homs-capture-999"]\n', ":4", "'homs-capture-999'"),
    ("unknown-place", GOOD_HEAD + EVENT.replace('"Homs"', '"Homz"'), ":7", "did you mean 'Homs'"),
    ("unknown-actor", GOOD_HEAD + EVENT.replace('"government"', '"rebels"'), ":8", "unknown controller"),
    ("branch-outside", GOOD_HEAD + 'branch_at = "2025-01-01T00:00Z"\n', ":4", "outside the record"),
    ("branch-naive", GOOD_HEAD + 'branch_at = "2024-12-07T00:00"\n', ":4", "no time zone"),
    ("event-before-branch", GOOD_HEAD + 'branch_at = "2024-12-07T18:00Z"\n'
     + EVENT.replace("December 9", "December 6").replace("2024-12-09T12:00Z", "2024-12-07T19:00Z"),
     ":6", "before the branch point"),
    ("window-reversed", GOOD_HEAD + EVENT.replace('when = "December 9"\n',
     'earliest = "2024-12-09T00:00Z"\nlatest = "2024-12-08T00:00Z"\n'), ":11", "ends before it starts"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "text", "line", "says"), BAD, ids=[b[0] for b in BAD])
def test_bad_scenarios_name_file_and_line_exit_2_and_write_nothing(
    run, store, fingerprint, tmp_path: Path, label, text, line, says
):
    assert run("replay", "--at", END).exit_code == 0
    folder = tmp_path / "bad"
    folder.mkdir()
    path = folder / "bad.toml"
    path.write_text(text)
    before = fingerprint(store)
    for command in ("run", "compare"):
        result = run("scenario", command, str(path), "--at", END)
        assert result.exit_code == 2, (label, result.output)
        assert result.stderr.startswith("control: error: ") and result.stderr.count("\n") == 1
        assert f"{path}{line}" in result.stderr and says in result.stderr, result.stderr
    assert fingerprint(store) == before


def test_two_scenarios_with_one_name_are_refused(run, store, fingerprint, tmp_path: Path):
    assert run("replay", "--at", END).exit_code == 0
    folder = tmp_path / "dup"
    folder.mkdir()
    (folder / "a.toml").write_text(GOOD_HEAD)
    (folder / "b.toml").write_text("# same name\n" + GOOD_HEAD)
    before = fingerprint(store)
    result = run("scenario", "run", "bad", "--dir", str(folder))
    assert result.exit_code == 2
    assert f"{folder / 'b.toml'}:3" in result.stderr and "also used by" in result.stderr
    assert fingerprint(store) == before


def test_unknown_scenario_name_suggests_one(run):
    result = run("scenario", "show", "homs-held")
    assert result.exit_code == 2 and "did you mean 'homs-holds'" in result.stderr


def test_find_takes_a_path_too():
    path = PROJECT_SCENARIOS / "homs-holds.toml"
    assert find(str(path)) == path
    assert load(path, record_events()).name == "homs-holds"


def test_scenario_text_output_escapes_control_characters(run, tmp_path):
    path = tmp_path / "esc.toml"
    path.write_text('[scenario]\nname = "esc"\ndescription = "red \\u001b[31m alert \\u0007"\n', "utf-8")
    for args in (("scenario", "show", str(path)), ("scenario", "list", "--dir", str(tmp_path))):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output
        assert "\\x1b[31m" in result.output

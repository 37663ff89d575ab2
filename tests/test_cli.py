"""The CLI as a user types it (click's CliRunner) on a real SQLite store, seeded from the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from freezegun import freeze_time

from control import open_ledger

END = "2024-12-08T00:00Z"


def test_replay_prints_every_capital_with_sources_and_ends_with_three_of_fourteen(run):
    result = run("replay", "--at", END)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "government holds 3 of 14: Damascus, Latakia, Tartus"
    for capital in ("Aleppo", "Hama", "Homs", "Daraa", "Quneitra", "Deir ez-Zor", "Idlib"):
        assert any(line.startswith(capital) for line in lines), capital
    assert "[002_83a5accc3178cb06.txt]" in result.output
    assert "contested" in result.output and "conflicting reports" in result.output


def test_replay_json_has_the_documented_shape_and_is_byte_stable(run):
    first = run("replay", "--at", END, "--json")
    second = run("replay", "--at", END, "--json")
    assert first.exit_code == 0
    assert first.output == second.output
    data = json.loads(first.output)
    assert data["basis"] == {
        "at": "2024-12-08T00:00:00Z",
        "known_at": None,
        "events_used": data["basis"]["events_used"],
        "seat_of_rif_dimashq": "damascus",
        "record_begins": "2024-11-25T21:00:00Z",
        "record_ends": data["basis"]["record_ends"],
        "carried_forward": False,
        "before_record": False,
        "contest_horizon_days": 7.0,
    }
    assert data["basis"]["events_used"] > 14
    assert len(data["capitals"]) == 14
    homs = next(c for c in data["capitals"] if c["capital"] == "Homs")
    assert {"governorate", "capital", "controller", "status", "since", "sources"} <= set(homs)
    assert all({"file", "quote", "event"} == set(s) for s in homs["sources"])
    assert data["holdings"]["government"] == {"count": 3, "capitals": ["Damascus", "Latakia", "Tartus"]}
    assert list(data) == sorted(data)


def test_known_at_changes_the_answer(run):
    now_known = json.loads(run("replay", "--at", "2024-12-07T23:00Z", "--json").output)
    then_known = json.loads(
        run("replay", "--at", "2024-12-07T23:00Z", "--known-at", "2024-12-07T18:00Z", "--json").output
    )
    assert then_known["basis"]["known_at"] == "2024-12-07T18:00:00Z"
    assert now_known["holdings"]["government"]["count"] < then_known["holdings"]["government"]["count"]


def test_default_at_is_now(run):
    with freeze_time("2024-11-26T12:00:00Z"):
        result = run("replay", "--json")
    data = json.loads(result.output)
    assert data["basis"]["at"] == "2024-11-26T12:00:00Z"
    assert data["holdings"]["government"]["count"] == 10


def test_history_of_homs_shows_the_conflict_with_its_sources(run):
    result = run("history", "Hims")  # an alias
    assert result.exit_code == 0
    assert result.output.startswith("History of Homs:")
    assert "CONFLICT" in result.output
    assert "'Saturday'" in result.output and "'Sunday'" in result.output
    assert "004_b965a63577a4c49e.txt" in result.output


def test_events_lists_id_kind_window_report_time_file_and_quote(run):
    data = json.loads(run("events", "--place", "Deir al-Zor", "--json").output)
    assert {e["place"] for e in data} == {"Deir ez-Zor"}
    sdf = next(e for e in data if e["id"] == "deirezzor-capture-001")
    assert sdf["window"] == {"earliest": "2024-12-05T21:00:00Z", "latest": "2024-12-06T21:00:00Z"}
    assert sdf["reported_at"] == "2024-12-07T17:00:00Z"
    assert sdf["file"] == "001_5a8b014f271cd233.txt" and "Deir ez Zor" in sdf["quote"]
    text = run("events").output
    assert "homs-capture-004: capture hts (from government) at Homs" in text


def test_changes_lists_the_changes_in_a_period(run):
    result = run("changes", "--since", "2024-12-05", "--until", "2024-12-07", "--json")
    found = {c["governorate"]: c for c in json.loads(result.output)}
    assert "Hama" in found and "Deir ez-Zor" in found
    assert "Aleppo" not in found  # complete by 1 Dec
    assert found["Hama"]["from"] == "government" and found["Hama"]["to"] == "hts"


def test_changes_of_some_places_or_of_one_controller_fold_only_what_is_asked(run, monkeypatch):
    """``--place`` (repeatable, any alias) keeps those places' changes, folding only their
    reports; ``--controller`` the changes it lost or won: each exactly the whole list, filtered."""
    from control.store import placereads

    period = ("changes", "--since", "2024-11-27", "--json")
    every = json.loads(run(*period).output)
    assert {c["governorate"] for c in every} >= {"Homs", "Hama", "Aleppo"}
    asked: list[str] = []
    real = placereads.deciding_events

    def counted(app, stream, governorates, *args, **kwargs):
        asked.extend(g.name for g in governorates)
        return real(app, stream, governorates, *args, **kwargs)

    monkeypatch.setattr(placereads, "deciding_events", counted)
    mine = json.loads(run(*period, "--place", "homs", "--place", "Hamah").output)
    assert mine == [c for c in every if c["governorate"] in ("Homs", "Hama")] and mine
    assert sorted(asked) == ["Hama", "Homs"]
    sdf = json.loads(run(*period, "--controller", "sdf").output)
    assert sdf == [c for c in every if "sdf" in (c["from"], c["to"])] and 0 < len(sdf) < len(every)
    # a period: only the places whose stored changes reach into it are folded
    asked.clear()
    since, until = "2024-12-06T21:00:00Z", "2024-12-07T18:00:00Z"
    late = json.loads(run("changes", "--since", since, "--until", until, "--json").output)
    inside = [c for c in every if c["window"]["latest"] >= since and c["window"]["earliest"] < until]
    assert late == inside and 0 < len({c["governorate"] for c in inside}) == len(set(asked)) < len(every)
    assert set(asked) == {c["governorate"] for c in inside}


@freeze_time("2024-12-09T10:00:00Z")
def test_add_appends_a_new_report_that_then_shows_up_in_replay(run, store, tmp_path: Path):
    (tmp_path / "article.txt").write_text("Rebels said on Sunday they had taken Damascus.\n")
    result = run(
        "add", "--kind", "capture", "--place", "Damascus", "--actor", "hts", "--from", "government",
        "--when", "Sunday", "--file", "article.txt", "--quote", "they had taken Damascus",
        "--reported-at", "now",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith("added damascus-capture-1")
    added = next(e for e in open_ledger(store).events() if e.id == "damascus-capture-1")
    assert added.reported_at.isoformat() == "2024-12-09T10:00:00+00:00"  # 'now', said explicitly
    assert added.window.earliest.isoformat() == "2024-12-07T21:00:00+00:00"  # Sunday 8 Dec, UTC+3
    after = json.loads(run("replay", "--at", "2024-12-09T12:00Z", "--json").output)
    assert after["holdings"]["government"]["capitals"] == ["Latakia", "Tartus"]
    before = json.loads(run("replay", "--at", END, "--json").output)
    assert before["holdings"]["government"]["count"] == 3


@freeze_time("2024-12-09T10:00:00Z")
def test_a_report_quoting_a_seed_is_known_from_the_seed_s_publication(run, store):
    result = run(
        "add", "--kind", "claim", "--place", "Damascus", "--actor", "hts", "--when", "by report",
        "--file", "002_83a5accc3178cb06.txt", "--quote", "Many families have fled Damascus",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    added = next(e for e in open_ledger(store).events() if e.id == "damascus-claim-1")
    assert added.reported_at.isoformat() == "2024-12-08T02:45:00+00:00"


def test_add_from_a_toml_file_with_a_correction(run, store, tmp_path: Path):
    report = tmp_path / "new.toml"
    report.write_text(
        '[[event]]\nid = "fix-hasakah"\nkind = "correction"\nplace = "Hasakah"\n'
        'targets = ["hasakah-withdrawal-000"]\nfile = "000_0dae3e58c82ba531.txt"\n'
        'quote = "Hassaka"\nreported_at = "2024-12-10T00:00Z"\nnote = "the enclave, not the city"\n'
    )
    result = run("add", "--toml", str(report))
    assert result.exit_code == 0, result.output
    history = run("history", "Hasakah").output
    assert "retracted by fix-hasakah" in history


BAD_INPUTS = [
    (["replay", "--at", "2024-12-08T00:00"], "--at", "no time zone"),
    (["replay", "--at", "tomorrow"], "--at", "not an ISO 8601"),
    (["replay", "--at", END, "--known-at", "2024-12-07 18:00"], "--known-at", "no time zone"),
    (["history", "Homz"], "PLACE", "did you mean 'Homs'"),
    (["events", "--place", "Atlantis"], "--place", "unknown place"),
    (["changes", "--since", "2024-12-07", "--until", "2024-12-01"], "--until", "after --since"),
    (["changes", "--since", "2024-12-01", "--place", "Atlantis"], "--place", "unknown place"),
    (["changes", "--since", "2024-12-01", "--controller", "martians"], "--controller", "unknown controller"),
    (["add", "--kind", "capture", "--place", "Hamah", "--actor", "isis", "--when", "today",
      "--file", "000_0dae3e58c82ba531.txt", "--quote", "Hama"], "actor", "unknown controller"),
    (["add", "--kind", "capture", "--place", "Narnia", "--actor", "hts", "--when", "today",
      "--file", "000_0dae3e58c82ba531.txt", "--quote", "Hama"], "place", "unknown place"),
    (["add", "--kind", "capture", "--place", "Hama", "--actor", "hts", "--when", "today",
      "--file", "000_0dae3e58c82ba531.txt", "--quote", "Hama fell to aliens"], "quote", "not in"),
    (["add", "--kind", "capture", "--place", "Hama", "--actor", "hts",
      "--earliest", "2024-12-06T00:00Z", "--latest", "2024-12-05T00:00Z",
      "--file", "000_0dae3e58c82ba531.txt", "--quote", "Hama"], "latest", "ends before it starts"),
    (["add", "--kind", "capture", "--place", "Hama", "--actor", "hts",
      "--earliest", "2024-12-06T00:00", "--latest", "2024-12-07T00:00Z",
      "--file", "000_0dae3e58c82ba531.txt", "--quote", "Hama"], "earliest", "no time zone"),
    (["add", "--kind", "correction", "--place", "Hama", "--target", "no-such-event",
      "--file", "000_0dae3e58c82ba531.txt", "--quote", "Hama"], "targets", "not in the ledger"),
    (["add", "--id", "hama-capture-001", "--kind", "capture", "--place", "Hama", "--actor", "hts",
      "--when", "today", "--file", "000_0dae3e58c82ba531.txt", "--quote", "Hama"], "id", "duplicate"),
    (["add", "--kind", "capture", "--place", "Hama", "--actor", "hts", "--from", "government",
      "--when", "Thursday", "--reported-at", "2024-12-07T17:00Z", "--file", "001_5a8b014f271cd233.txt",
      "--quote", "they proclaimed a major victory in the taking of the city of Hama on Thursday"],
     "options", "duplicate event"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "names", "says"), BAD_INPUTS)
@freeze_time("2024-12-20T00:00:00Z")
def test_bad_input_is_one_line_exit_2_and_writes_nothing(run, store, fingerprint, args, names, says):
    assert run("replay", "--at", END).exit_code == 0  # the store exists and holds the record
    before = fingerprint(store)
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("control: error:")
    assert names in message and says in message
    assert fingerprint(store) == before


def test_malformed_toml_names_file_and_line(run, store, fingerprint, tmp_path: Path):
    run("replay", "--at", END)
    before = fingerprint(store)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[event]]\nkind = "capture"\nplace = "Hama\n')
    result = run("add", "--toml", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:3" in result.stderr and "malformed TOML" in result.stderr
    assert fingerprint(store) == before


def test_a_bad_event_in_a_toml_file_names_its_line_and_writes_none_of_the_file(
    run, store, fingerprint, tmp_path
):
    run("replay", "--at", END)
    before = fingerprint(store)
    two = tmp_path / "two.toml"
    good = (
        '[[event]]\nkind = "claim"\nplace = "Latakia"\nactor = "hts"\nwhen = "by report"\n'
        'file = "002_83a5accc3178cb06.txt"\nquote = "strongholds in Latakia"\n'
        'reported_at = "2024-12-08T02:45Z"\n'
    )
    two.write_text(good + good.replace('"Latakia"', '"Latakiyya"'))
    result = run("add", "--toml", str(two))
    assert result.exit_code == 2
    assert f"{two}:11:" in result.stderr and "unknown place 'Latakiyya'" in result.stderr
    assert fingerprint(store) == before

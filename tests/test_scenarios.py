"""What-if scenarios: outcomes of the shipped ones, isolation from the record, atomic replacement,
in-memory equal to stored, and every bad input."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from control import open_ledger, record_events
from control.fold.projection import replay
from control.model.times import iso, parse_instant
from control.service.sync import open_app
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


def _toml(value: object) -> str:
    return json.dumps(value) if not isinstance(value, list) else "[" + ", ".join(map(_toml, value)) + "]"


def _same_answers(run_cli, store: str, name: str, directory: Path, instants: list, known: list) -> None:
    """``scenario run`` (the store's branch folded place by place, the ledger never read whole)
    answers as the pure fold of the scenario's world in memory, at every instant and knowledge."""
    from control.model import gazetteer
    from control.store.ledger import LedgerApp

    app = open_app(store)  # the seed record synced first (that reads it)
    answers = {}
    with pytest.MonkeyPatch.context() as m:
        m.setattr(LedgerApp, "read", lambda *a, **k: pytest.fail("the whole record was read"))
        for at in instants:
            for k in known:
                args = ["--at", at, *(["--known-at", k] if k else []), "--dir", str(directory), "--json"]
                result = run_cli("scenario", "run", name, "--store", store, *args)
                assert result.exit_code == 0, result.output + result.stderr
                answers[at, k] = json.loads(result.output)
                compared = run_cli("scenario", "compare", name, "--store", store, *args)
                assert compared.exit_code == 0, compared.output + compared.stderr
                answers[at, k, "compare"] = json.loads(compared.output)
    with gazetteer.using(app.bound_gazetteer()):
        world, record = stored_world(app, name), app.read()
        for at in instants:
            for k in known:
                t, kt = parse_instant(at), parse_instant(k) if k else None
                expected = json.loads(to_json(replay(world, t, kt).to_dict()))
                assert answers[at, k] == expected | {"scenario": name}, (at, k)
                from control.whatif.scenario import compare

                diff = compare(replay(record, t, kt), replay(world, t, kt))
                diff["scenario"]["name"] = name
                assert answers[at, k, "compare"] == json.loads(to_json(diff)), (at, k)


def test_a_stored_scenario_answers_as_its_world_replays_without_reading_the_record(run, store, tmp_path):
    """On the seed record, every shipped scenario; on a synthetic ledger, a scenario with a branch
    point, suppressed reports (a correction among them), hypothetical events, a correction filed
    under another place than what it retracts and a correction of that correction: the answers
    of ``scenario run`` and ``compare`` are the pure fold's of the world in memory, at instants
    and knowledges before, at and after the branch point."""
    for name in SHIPPED:
        _same_answers(
            run, store, name, PROJECT_SCENARIOS, [END, "2024-12-03T00:00Z"], [None, "2024-12-05T00:00Z"]
        )
    synth = str(tmp_path / "syn.db")
    assert run("synth", "--places", "30", "--events", "1500", "--seed", "4", "--store", synth).exit_code == 0
    from control.store.config import store_env
    from control.store.ledger import LedgerApp

    events = sorted(LedgerApp(env=store_env(synth)).read(), key=lambda e: (e.reported_at, e.id))
    branch = events[len(events) // 2].reported_at
    before = [e for e in events if e.reported_at <= branch and e.kind != "baseline"]
    suppress = [next(e.id for e in before if e.kind == k) for k in ("capture", "correction", "denial")]
    # the last capture at Place 0005 before the branch point: what its state cites after it
    target = [e for e in before if e.kind == "capture" and e.place == "Place 0005" and e.id not in suppress][
        -1
    ]
    later = branch + timedelta(days=3)
    stamp = {"reported_at": iso(later + timedelta(hours=6))}
    window = {"earliest": iso(later), "latest": iso(later + timedelta(hours=3))}
    tables = [
        {
            "id": "what-if-capture",
            "kind": "capture",
            "place": "Place 0003",
            "actor": "kurds",
            **window,
            **stamp,
        },
        {
            "id": "what-if-denial",
            "kind": "denial",
            "place": "Place 0003",
            "actor": "government",
            **window,
            **stamp,
        },
        {"id": "what-if-fix", "kind": "correction", "place": "Place 0009", "targets": [target.id], **stamp},
        {
            "id": "what-if-unfix",
            "kind": "correction",
            "place": "Place 0011",
            "targets": ["what-if-fix"],
            **stamp,
        },
        {
            "id": "what-if-retract",
            "kind": "correction",
            "place": "Place 0012",
            "targets": [target.id],
            **stamp,
        },
    ]
    text = "\n".join(
        [
            "[scenario]",
            'name = "what-if"',
            'description = "What if?"',
            f"branch_at = {_toml(iso(branch))}",
            f"suppress = {_toml(suppress)}",
            *[
                line
                for t in tables
                for line in ["", "[[event]]", *(f"{k} = {_toml(v)}" for k, v in t.items())]
            ],
        ]
    )
    folder = tmp_path / "what"
    folder.mkdir()
    (folder / "what-if.toml").write_text(text + "\n", encoding="utf-8")
    instants = [
        iso(t) for t in (branch - timedelta(days=20), branch + timedelta(days=4), events[-1].reported_at)
    ]
    knowledge = [None, iso(branch - timedelta(days=1)), iso(later + timedelta(days=1))]
    _same_answers(run, synth, "what-if", folder, instants, knowledge)
    # without a branch point, only the places the branch touches are folded: the others are the
    # record's (its stored states, on the latest knowledge)
    # and a correction of the record filed under one place, retracting a report at another that
    # nothing else in the branch touches, suppressed
    near = {e.place for e in events if e.id in suppress} | {"Place 0003", "Place 0005", "Place 0009"}
    far = next(
        e for e in events if e.kind == "capture" and e.place not in near | {"Place 0011", "Place 0012"}
    )
    wire = tmp_path / "wire.txt"
    wire.write_text("An earlier report was wrong, an editor said.\n", encoding="utf-8")
    added = run(
        "add", "--store", synth, "--kind", "correction", "--place", "Place 0020", "--target", far.id,
        "--reported-at", iso(later), "--file", str(wire), "--quote", "An earlier report was wrong",
    )  # fmt: skip
    assert added.exit_code == 0, added.output + added.stderr
    fixed = next(
        e
        for e in LedgerApp(env=store_env(synth)).read()
        if e.targets == (far.id,) and e.place == "Place 0020"
    )
    events.append(fixed)
    whole = (
        text.replace('name = "what-if"', 'name = "what-if-all"')
        .replace(f"branch_at = {_toml(iso(branch))}\n", "")
        .replace(f"suppress = {_toml(suppress)}", f"suppress = {_toml([*suppress, fixed.id])}")
    )
    assert fixed.id in whole
    suppress.append(fixed.id)
    (folder / "what-if-all.toml").write_text(whole + "\n", encoding="utf-8")
    _same_answers(run, synth, "what-if-all", folder, instants[1:], knowledge[::2])
    from control.store import states

    by_id = {e.id: e for e in events}

    def places_of(eid: str) -> set[str]:  # a report's place; a correction's, and what it retracts
        e = by_id.get(eid) or next(t for t in tables if t["id"] == eid)
        place = e.place if eid in by_id else e["place"]
        targets = e.targets if eid in by_id else e.get("targets", [])
        return {place, *(p for t in targets for p in places_of(t))}

    expected = {p for eid in [*suppress, *(t["id"] for t in tables)] for p in places_of(eid)}
    folded: list[str] = []
    real = states.CHUNK_WORK["states_at"]

    def counted(app, stream, chunk, *args):
        folded.extend(g.name for g in chunk)
        return real(app, stream, chunk, *args)

    with pytest.MonkeyPatch.context() as m:
        m.setitem(states.CHUNK_WORK, "states_at", counted)
        args = ["--store", synth, "--dir", str(folder), "--at", instants[1]]
        assert run("scenario", "run", "what-if-all", *args).exit_code == 0
    assert sorted(folded) == sorted(expected) and len(expected) < 30
    # thousands of places: the holdings lines name the first ones and say how many more
    import control.views.render as render

    with pytest.MonkeyPatch.context() as m:
        m.setattr(render, "COMPACT_ABOVE", 3)
        args = ["--store", synth, "--dir", str(folder), "--at", instants[1]]
        text = run("scenario", "compare", "what-if", *args).output
    holds = [line for line in text.splitlines() if " government holds " in line]
    assert len(holds) == 2 and all(line.endswith(" more (--json lists all)") for line in holds), holds
    assert all(line.split(": ", 1)[1].count(", ") == 3 for line in holds), holds

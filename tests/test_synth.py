"""``control synth``: reproducible synthetic ledgers, valid by construction, usable by every command."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import control as control_api
from control.cli import cli
from control.fold.projection import retracted_ids
from control.ingest.synth import BASELINE, END, synth_events, synth_gazetteer
from control.model import gazetteer

PLACES, EVENTS, SEED = 50, 2000, 7


def control(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="control")


@pytest.fixture(scope="module")
def synth_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("synth") / "synth.db")
    with gazetteer.using(None):
        result = control(
            "synth", "--places", str(PLACES), "--events", str(EVENTS), "--seed", str(SEED), "--store", path
        )
    assert result.exit_code == 0, result.output
    assert f"{EVENTS} reports written" in result.stdout
    return path


def run_on(store: str, *args: str) -> Result:
    with gazetteer.using(None):  # each command finds the store's gazetteer itself
        result = control(*args, "--store", store)
    assert result.exit_code == 0, result.output
    return result


def without_recorded_at(text: str) -> str:
    rows = json.loads(text)
    for row in rows:
        row.pop("recorded_at")
    return json.dumps(rows, sort_keys=True)


def test_the_same_seed_writes_the_same_ledger(synth_store: str, tmp_path: Path) -> None:
    other = str(tmp_path / "other.db")
    with gazetteer.using(None):
        assert (
            control(
                "synth",
                "--places",
                str(PLACES),
                "--events",
                str(EVENTS),
                "--seed",
                str(SEED),
                "--batch",
                "333",
                "--store",
                other,
            ).exit_code
            == 0
        )
    mine = run_on(synth_store, "events", "--json").stdout
    theirs = run_on(other, "events", "--json").stdout
    # byte for byte, but for the store's own clock (recorded_at)
    assert without_recorded_at(mine) == without_recorded_at(theirs)
    assert len(json.loads(mine)) == EVENTS + sum(
        1 for p in synth_gazetteer(PLACES, SEED).places if p.baseline
    )
    assert (
        run_on(synth_store, "gazetteer", "show", "--json").stdout
        == run_on(other, "gazetteer", "show", "--json").stdout
    )


def test_another_seed_writes_another_ledger() -> None:
    one = [e.to_dict() for e in synth_events(20, 300, 1)]
    assert one == [e.to_dict() for e in synth_events(20, 300, 1)]
    assert one != [e.to_dict() for e in synth_events(20, 300, 2)]
    assert synth_gazetteer(20, 1).to_dict() != synth_gazetteer(20, 2).to_dict()


def test_events_are_valid_by_construction_and_in_the_records_mix() -> None:
    atlas = synth_gazetteer(PLACES, SEED)
    events = list(synth_events(PLACES, EVENTS, SEED, atlas))
    by_id = {e.id: e for e in events}
    assert len(by_id) == len(events)
    assert len({(e.source.file, e.source.quote) for e in events}) == len(events)
    places = {p.name for p in atlas.places}
    for e in events:
        assert e.place in places
        assert BASELINE < e.window.earliest <= e.window.latest <= e.reported_at < END
        assert e.source.file == f"synth:{SEED}"
        if e.kind == "correction":
            assert e.targets and e.actor is None and e.window.earliest == e.reported_at
        else:
            assert e.actor in atlas.controllers
            assert e.previous is None or (e.previous in atlas.controllers and e.previous != e.actor)
        if e.kind in ("capture", "withdrawal", "handover"):
            assert not e.targets
        for target in e.targets:  # exists, at the same place, reported no later
            assert by_id[target].place == e.place
            assert by_id[target].reported_at <= e.reported_at
    kinds = Counter(e.kind for e in events)
    assert set(kinds) == {"capture", "withdrawal", "handover", "denial", "claim", "correction"}
    assert kinds["capture"] > kinds["claim"] > kinds["withdrawal"] > kinds["handover"] > kinds["correction"]
    assert any(e.kind == "denial" and e.targets for e in events)
    assert any(e.kind == "denial" and not e.targets for e in events)
    assert any(e.kind == "correction" and by_id[e.targets[0]].kind == "correction" for e in events)
    assert {e.scope for e in events} == {"city", "area", "person"}
    assert {e.actor for e in events} - {None} == set(atlas.controllers)
    lengths = {e.window.latest - e.window.earliest for e in events if e.kind != "correction"}
    assert min(lengths).total_seconds() == 0 and max(lengths).days >= 7  # exact .. weeks
    assert sum(1 for e in events if (e.reported_at - e.window.latest).days >= 7) > EVENTS // 100  # backdated
    assert retracted_ids(events)  # corrections take effect


def test_the_gazetteer_is_a_valid_one() -> None:
    atlas = synth_gazetteer(120, 3)
    names = [p.name for p in atlas.places]
    assert names[0] == "Place 0001" and names[-1] == "Place 0120" and len(set(names)) == 120
    assert len({p.pcode for p in atlas.places}) == 120 and len({p.id for p in atlas.places}) == 120
    assert {p.baseline for p in atlas.places} <= set(atlas.controllers) | {""}
    assert {p.parent for p in atlas.places if p.admin_level == 2} <= set(names)
    assert atlas.baseline_as_of == BASELINE
    with gazetteer.using(atlas):
        assert gazetteer.resolve_place("place 7").name == "Place 0007"
        assert gazetteer.resolve_place("SY-S00007").name == "Place 0007"


def test_every_command_works_on_a_synthetic_ledger(synth_store: str) -> None:
    text = run_on(synth_store, "replay", "--at", "2020-06-01T00:00Z").stdout
    assert f"the {PLACES} places of gazetteer 'synth-{SEED}'" in text
    snap = json.loads(run_on(synth_store, "replay", "--at", "2020-06-01T00:00Z", "--json").stdout)
    assert len(snap["capitals"]) == PLACES
    statuses = {c["status"] for c in snap["capitals"]}
    assert "held" in statuses and len(statuses) >= 2
    run_on(synth_store, "replay", "--at", "2021-01-01", "--known-at", "2020-06-01", "--place", "Place 0003")
    run_on(synth_store, "replay", "--at", "2019-01-01", "--controller", "kurds", "--json")
    events = json.loads(run_on(synth_store, "events", "--json").stdout)
    assert len({e["place"] for e in events}) == PLACES
    with gazetteer.using(None):
        history = control_api.open_ledger(synth_store).history("Place 1")
    assert history.entries and {h.event.place for h in history.entries} == {"Place 0001"}
    moves = json.loads(
        run_on(synth_store, "changes", "--since", "2018-01-01", "--until", "2019-01-01", "--json").stdout
    )
    assert moves
    assert "Place" in run_on(synth_store, "events", "--known-at", "2017-02-01").stdout
    quote = Path(synth_store).parent / "article.txt"
    quote.write_text("Rebels said they had taken Place 0002 on Monday.\n")
    added = run_on(
        synth_store, "add", "--kind", "capture", "--place", "Place 2", "--actor", "rebels-a",
        "--earliest", "2023-12-30T00:00Z", "--latest", "2023-12-31T00:00Z",
        "--reported-at", "2024-01-02T00:00Z", "--file", str(quote), "--quote", "they had taken Place 0002",
    )  # fmt: skip
    assert "added place-0002-capture-1" in added.stdout


def test_synth_refuses_a_store_that_already_holds_a_ledger(
    synth_store: str, tmp_path: Path, fingerprint
) -> None:
    before = fingerprint(synth_store)
    with gazetteer.using(None):
        again = control("synth", "--places", "5", "--events", "10", "--store", synth_store)
    assert again.exit_code == 2
    assert again.stderr.count("\n") == 1 and "already holds a ledger" in again.stderr
    assert fingerprint(synth_store) == before
    seeded = str(tmp_path / "seeded.db")
    with gazetteer.using(None):
        assert control("replay", "--at", "2024-12-08", "--store", seeded).exit_code == 0  # loads the record
        refused = control("synth", "--places", "5", "--events", "10", "--store", seeded)
    assert refused.exit_code == 2 and "seed record" in refused.stderr


def test_history_and_events_by_place_on_a_user_gazetteer(synth_store: str) -> None:
    assert run_on(synth_store, "history", "Place 0001").stdout.startswith("History of Place 0001")
    events = json.loads(run_on(synth_store, "events", "--place", "Place 0001", "--json").stdout)
    assert events and {e["place"] for e in events} == {"Place 0001"}


def test_text_for_many_places_lists_the_first_ones_of_each_group_and_says_how_many_more() -> None:
    """A compact answer stays readable: each holdings row, the disputed row and the closing line
    name at most twelve places, then how many more (``--json`` lists all)."""
    from control.fold.projection import CapitalState, snapshot_of
    from control.views.render import snapshot_text

    atlas = synth_gazetteer(PLACES, SEED)
    with gazetteer.using(atlas):
        states = [
            CapitalState(
                p.name, p.name, None, "conflicting", None, None, (), possible=("government", "kurds")
            )
            if i % 2
            else CapitalState(p.name, p.name, "government", "held", None, None, ())
            for i, p in enumerate(atlas.places)
        ]
        snap = snapshot_of(states, END, used=0, seat="damascus", record_ends=END, record_begins=BASELINE)
        text = snapshot_text(snap, atlas, compact=True)
    rows = [line for line in text.splitlines() if line.startswith(("  government", "  disputed"))]
    last = text.splitlines()[-1]
    assert len(rows) == 2 and last.startswith("government holds 25 of 50"), text
    for line in rows:
        assert line.count("Place ") == 12 and line.endswith(f"... ({PLACES // 2 - 12} more)"), line
    assert last.count("Place ") == 24 and last.count(f"... ({PLACES // 2 - 12} more)") == 2, last

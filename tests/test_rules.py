"""The fold's rules, each pinned through the CLI on a real store (README "Rules of the fold")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from control import open_ledger, parse_instant

ARTICLE = (
    "Rebels of HTS said on Saturday they had taken Latakia.\n"
    "The SNA said on Saturday its fighters had taken Latakia.\n"
    "The army said it had retaken Latakia.\n"
    "HTS said it was back in Latakia.\n"
    "A correction: the earlier report was wrong.\n"
    "A correction of the correction.\n"
    "The ministry denied that the governor had fled Latakia.\n"
    "The ministry denied reports that Latakia had fallen.\n"
    "HTS claimed it had encircled Tartus.\n"
)
Runner = Callable[..., Result]


def _event(**fields: str | list[str]) -> str:
    lines = ["[[event]]"]
    for key, value in fields.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def add(run: Runner, tmp_path: Path, *events: str, name: str = "reports.toml") -> Result:
    (tmp_path / "article.txt").write_text(ARTICLE, "utf-8")
    path = tmp_path / name
    path.write_text("\n".join(events), "utf-8")
    return run("add", "--toml", str(path))


def capture(
    eid: str, actor: str, quote: str, when: str = "Saturday", reported: str = "2024-12-08T06:00Z"
) -> str:
    return _event(
        id=eid,
        kind="capture",
        place="Latakia",
        actor=actor,
        file="article.txt",
        quote=quote,
        when=when,
        reported_at=reported,
    )


HTS = "Rebels of HTS said on Saturday they had taken Latakia"
SNA = "The SNA said on Saturday its fighters had taken Latakia"


def latakia(run: Runner, at: str = "2024-12-09T00:00Z", *more: str) -> dict:
    data = json.loads(run("replay", "--at", at, "--json", *more).output)
    return next(c for c in data["capitals"] if c["capital"] == "Latakia") | {"_all": data}


def test_rival_captures_are_a_conflict_counted_for_nobody(run, tmp_path):
    result = add(run, tmp_path, capture("a-hts", "hts", HTS), capture("b-sna", "sna", SNA))
    assert result.exit_code == 0, result.output
    state = latakia(run)
    assert state["status"] == "conflicting"
    assert state["controller"] is None
    assert state["possible_controllers"] == ["hts", "sna"]
    assert {r["controller"] for r in state["rivals"]} == {"hts", "sna"}
    data = state["_all"]
    assert "Latakia" not in data["holdings"]["government"]["capitals"]
    assert all("Latakia" not in h["capitals"] for h in data["holdings"].values())
    assert data["disputed"] == [{"capital": "Latakia", "possible_controllers": ["hts", "sna"]}]
    last = run("replay", "--at", "2024-12-09T00:00Z").output.splitlines()[-1]
    assert last == "government holds 2 of 14: Damascus, Tartus; disputed: Latakia (hts or sna)"


@pytest.mark.parametrize("ids", [("a-hts", "b-sna"), ("z-hts", "a-sna")])
@pytest.mark.parametrize("reverse", [False, True])
def test_no_answer_depends_on_ids_or_order_of_adding(run, tmp_path, ids, reverse):
    events = [capture(ids[0], "hts", HTS), capture(ids[1], "sna", SNA)]
    if reverse:
        events.reverse()
    for i, event in enumerate(events):  # added one by one, in two transactions
        assert add(run, tmp_path, event, name=f"r{i}.toml").exit_code == 0
    state = latakia(run)
    assert (state["status"], state["possible_controllers"]) == ("conflicting", ["hts", "sna"])
    changes = json.loads(run("changes", "--since", "2024-12-07", "--json").output)
    mine = [c for c in changes if c["capital"] == "Latakia"]
    assert sorted(c["to"] for c in mine) == ["hts", "sna"] and all(c["disputed"] for c in mine)


def test_a_later_change_settles_a_conflict(run, tmp_path):
    later = _event(
        id="c-gov", kind="capture", place="Latakia", actor="government", file="article.txt",
        quote="The army said it had retaken Latakia", earliest="2024-12-08T10:00Z",
        latest="2024-12-08T12:00Z", reported_at="2024-12-08T13:00Z",
    )  # fmt: skip
    assert add(run, tmp_path, capture("a", "hts", HTS), capture("b", "sna", SNA), later).exit_code == 0
    assert latakia(run, "2024-12-08T09:00Z")["status"] == "conflicting"
    state = latakia(run, "2024-12-08T14:00Z")
    assert (state["controller"], state["status"]) == ("government", "held")


def test_same_actor_recapture_survives_an_overlapping_change(run, tmp_path):
    events = [
        capture("hts-1", "hts", HTS, when="by report", reported="2024-12-07T17:00Z"),
        _event(
            id="gov-back", kind="capture", place="Latakia", actor="government", file="article.txt",
            quote="The army said it had retaken Latakia", earliest="2024-12-08T00:00Z",
            latest="2024-12-08T06:00Z", reported_at="2024-12-08T07:00Z",
        ),
        _event(
            id="hts-2", kind="capture", place="Latakia", actor="hts", file="article.txt",
            quote="HTS said it was back in Latakia", earliest="2024-12-09T00:00Z",
            latest="2024-12-09T06:00Z", reported_at="2024-12-09T07:00Z",
        ),
        # a withdrawal whose window overlaps the first capture and the recapture
        _event(
            id="gov-out", kind="withdrawal", place="Latakia", actor="government", file="article.txt",
            quote="The army said it had retaken Latakia", earliest="2024-12-05T00:00Z",
            latest="2024-12-07T00:00Z", reported_at="2024-12-07T17:00Z",
        ),
    ]  # fmt: skip
    assert add(run, tmp_path, *events).exit_code == 0, "setup"
    assert latakia(run, "2024-12-08T12:00Z")["controller"] == "government"
    final = latakia(run, "2024-12-10T00:00Z")
    assert (final["controller"], final["status"]) == ("hts", "held")
    assert [s["event"] for s in final["sources"]] == ["hts-2"]


def _correction(eid: str, target: str, quote: str, reported: str) -> str:
    return _event(
        id=eid, kind="correction", place="Latakia", targets=[target], file="article.txt", quote=quote,
        reported_at=reported,
    )  # fmt: skip


def test_a_correction_of_a_correction_restores_the_first_target(run, tmp_path):
    fix = _correction("fix", "a-hts", "A correction: the earlier report was wrong", "2024-12-09T00:00Z")
    unfix = _correction("unfix", "fix", "A correction of the correction", "2024-12-10T00:00Z")
    assert add(run, tmp_path, capture("a-hts", "hts", HTS), fix, unfix).exit_code == 0
    assert latakia(run, "2024-12-11T00:00Z")["controller"] == "hts"
    between = latakia(run, "2024-12-11T00:00Z", "--known-at", "2024-12-09T12:00Z")
    assert between["controller"] == "government"  # the first correction in force
    assert latakia(run, "2024-12-11T00:00Z", "--known-at", "2024-12-08T12:00Z")["controller"] == "hts"
    history = run("history", "Latakia").output
    assert "retracted by unfix" in history and "in force again" in history


def test_a_correction_reported_before_its_target_is_refused(run, tmp_path, store, fingerprint):
    run("replay")
    before = fingerprint(store)
    fix = _correction("fix", "a-hts", "A correction: the earlier report was wrong", "2024-12-08T05:00Z")
    result = add(run, tmp_path, capture("a-hts", "hts", HTS), fix)
    assert result.exit_code == 2
    assert "before the report it corrects" in result.output and "reports.toml:" in result.output
    assert fingerprint(store) == before


def test_a_change_before_the_baseline_is_refused_naming_it(run, tmp_path, store, fingerprint):
    run("replay")
    before = fingerprint(store)
    old = _event(
        id="old", kind="capture", place="Latakia", actor="hts", file="article.txt", quote=HTS,
        earliest="2024-11-01T00:00Z", latest="2024-11-02T00:00Z", reported_at="2024-12-08T00:00Z",
    )  # fmt: skip
    result = add(run, tmp_path, old)
    assert result.exit_code == 2
    assert "before the ledger's baseline (2024-11-25T21:00:00Z" in result.output
    assert fingerprint(store) == before


def test_a_window_straddling_the_baseline_keeps_its_part_after_it(run, tmp_path, store):
    straddle = _event(
        id="straddle", kind="capture", place="Latakia", actor="hts", file="article.txt", quote=HTS,
        earliest="2024-11-20T00:00Z", latest="2024-11-28T00:00Z", reported_at="2024-12-08T00:00Z",
    )  # fmt: skip
    assert add(run, tmp_path, straddle).exit_code == 0
    stored = next(e for e in open_ledger(store).events() if e.id == "straddle")
    assert stored.window.earliest == parse_instant("2024-11-25T21:00Z")
    assert latakia(run, "2024-11-29T00:00Z")["controller"] == "hts"  # never dropped


def test_a_retracted_baseline_and_dates_before_the_record_never_print_none(run, tmp_path):
    fix = _event(
        id="no-base", kind="correction", place="Latakia", targets=["baseline-latakia"], file="article.txt",
        quote="A correction: the earlier report was wrong", reported_at="2024-12-01T00:00Z",
    )  # fmt: skip
    assert add(run, tmp_path, fix).exit_code == 0
    text = run("replay", "--at", "2024-12-02T00:00Z").output
    row = next(line for line in text.splitlines() if line.startswith("Latakia"))
    assert "unknown" in row and "None" not in text and "0001" not in text
    early = run("replay", "--at", "2024-01-01T00:00Z").output
    assert "before the record begins" in early and "None" not in early
    assert "government holds 0 of 14" in early.splitlines()[-1]


def test_a_denial_about_a_person_or_the_area_contests_nothing(run, tmp_path):
    person = _event(
        id="fled", kind="denial", place="Latakia", actor="government", scope="person", file="article.txt",
        quote="The ministry denied that the governor had fled Latakia", when="Saturday",
        reported_at="2024-12-08T06:00Z",
    )  # fmt: skip
    assert add(run, tmp_path, person).exit_code == 0
    assert latakia(run)["status"] == "held"
    assert "about a person" in run("history", "Latakia").output
    city = _event(
        id="fallen", kind="denial", place="Latakia", actor="government", file="article.txt",
        quote="The ministry denied reports that Latakia had fallen", when="Saturday",
        reported_at="2024-12-08T06:00Z",
    )  # fmt: skip
    assert add(run, tmp_path, city, name="city.toml").exit_code == 0
    state = latakia(run)
    assert state["status"] == "contested"
    assert [c["event"] for c in state["contested_by"]] == ["fallen"]


def test_a_claim_nothing_follows_lapses_after_the_horizon_and_says_so(run, tmp_path):
    claim = _event(
        id="ring", kind="claim", place="Tartus", actor="hts", file="article.txt",
        quote="HTS claimed it had encircled Tartus", earliest="2024-12-07T00:00Z",
        latest="2024-12-07T12:00Z", reported_at="2024-12-07T12:00Z",
    )  # fmt: skip
    assert add(run, tmp_path, claim).exit_code == 0

    def tartus(at: str, *more: str) -> dict:
        data = json.loads(run("replay", "--at", at, "--json", *more).output)
        return next(c for c in data["capitals"] if c["capital"] == "Tartus")

    assert tartus("2024-12-10T00:00Z")["status"] == "contested"
    late = tartus("2024-12-15T00:00Z")
    assert late["status"] == "held" and late["lapsed"][0]["lapsed_at"] == "2024-12-14T12:00:00Z"
    assert tartus("2024-12-10T00:00Z", "--contest-horizon", "2")["status"] == "held"
    assert "lapsed 2024-12-14T12:00:00Z" in run("replay", "--at", "2024-12-15T00:00Z").output


def test_past_the_last_report_the_answer_says_it_is_carried_forward(run):
    for args in (("--at", "2030-01-01T00:00Z"), ()):
        text = run("replay", *args).output
        assert "The record ends at 2024-12-08T02:45:00Z" in text.splitlines()[1]
        assert "carried forward" in text
    data = json.loads(run("replay", "--at", "2030-01-01T00:00Z", "--json").output)
    assert data["basis"]["carried_forward"] is True
    assert data["basis"]["record_ends"] == "2024-12-08T02:45:00Z"
    within = run("replay", "--at", "2024-12-08T00:00Z").output
    assert "carried forward" not in within


def test_report_time_is_never_the_time_of_typing(run, tmp_path, store, fingerprint):
    (tmp_path / "article.txt").write_text(ARTICLE, "utf-8")
    base = ["add", "--kind", "claim", "--place", "Tartus", "--actor", "hts", "--when", "by report"]
    base += ["--file", "article.txt", "--quote", "HTS claimed it had encircled Tartus"]
    run("replay")
    before = fingerprint(store)
    for extra, message in [
        ((), "reported_at is required for article.txt"),
        (("--reported-at", "2024-11-01T00:00Z"), "before the ledger's baseline"),
        (("--reported-at", "1899-01-01T00:00Z"), "reported_at"),
        (("--reported-at", "0001-01-01T00:00Z"), "reported_at"),
        (("--reported-at", "2099-01-01T00:00Z"), "more than a day in the future"),
    ]:
        result = run(*base, *extra)
        assert result.exit_code == 2, extra
        assert message in result.output and len(result.output.splitlines()) == 1
    assert fingerprint(store) == before
    assert run(*base, "--reported-at", "now").exit_code == 0


def test_charts_draw_rival_captures_as_disputed(run, tmp_path, store):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from control.views.chartdata import timeline_rows
    from control.views.plotting import plot_timeline

    assert add(run, tmp_path, capture("a-hts", "hts", HTS), capture("b-sna", "sna", SNA)).exit_code == 0
    events = open_ledger(store).events()
    rows = timeline_rows(events, parse_instant("2024-11-26"), parse_instant("2024-12-09"), focus="government")
    latakia = next(r for r in rows if r.governorate == "Latakia")
    assert latakia.segments[-1].status == "conflicting" and latakia.segments[-1].controller is None
    fig, ax = plt.subplots()
    from control.model.gazetteer import builtin

    plot_timeline(ax, rows, builtin())
    labels = [t.get_text() for t in (fig.legends[0] if fig.legends else ax.get_legend()).get_texts()]
    plt.close(fig)
    assert "disputed (rivals)" in labels
    assert run("chart", "timeline", "--out", str(tmp_path / "t.png")).exit_code == 0


RECAPTURE_ARTICLE = (
    "The SNA said it had taken Latakia.\n"
    "HTS said it had taken Latakia.\n"
    "The SNA said it was in Latakia.\n"
    "HTS said it was back in Latakia.\n"
)


def _four(eid: str, actor: str, quote: str, earliest: str, latest: str, reported: str) -> str:
    return _event(
        id=eid, kind="capture", place="Latakia", actor=actor, file="four.txt", quote=quote,
        earliest=earliest, latest=latest, reported_at=reported,
    )  # fmt: skip


def test_a_recapture_survives_a_vague_report_arriving_later(run, tmp_path):
    """Issue 25, item 1 (its Aleppo ledger, on Latakia: the seed record has reports of Aleppo).
    r1 and r3 agree (sna, 1-2 Dec), which lies certainly between r2 and r4, so r4 is a recapture
    by hts, whether r1 (published last, vaguest) is known or not."""
    (tmp_path / "four.txt").write_text(RECAPTURE_ARTICLE, "utf-8")
    ledger = [
        _four("r1", "sna", "The SNA said it had taken Latakia",
                "2024-11-28T00:00Z", "2024-12-07T12:00Z", "2024-12-07T12:00Z"),
        _four("r2", "hts", "HTS said it had taken Latakia",
                "2024-11-29T00:00Z", "2024-11-30T00:00Z", "2024-11-30T00:00Z"),
        _four("r3", "sna", "The SNA said it was in Latakia",
                "2024-12-01T00:00Z", "2024-12-02T00:00Z", "2024-12-02T00:00Z"),
        _four("r4", "hts", "HTS said it was back in Latakia",
                "2024-12-03T00:00Z", "2024-12-04T00:00Z", "2024-12-04T00:00Z"),
    ]  # fmt: skip
    path = tmp_path / "four.toml"
    path.write_text("\n".join(ledger), "utf-8")
    assert run("add", "--toml", str(path)).exit_code == 0

    def latakia_at_6(*more: str) -> dict:
        data = json.loads(run("replay", "--at", "2024-12-06T00:00Z", "--json", *more).output)
        return next(c for c in data["capitals"] if c["capital"] == "Latakia")

    for state in (latakia_at_6(), latakia_at_6("--known-at", "2024-12-06T00:00Z")):
        assert (state["controller"], state["status"]) == ("hts", "held")
        assert [s["event"] for s in state["sources"]] == ["r4"]
        assert state["since"] == "2024-12-03T00:00:00Z"
    assert latakia_at_6()["conflicts"] == []
    text = run("replay", "--at", "2024-12-06T00:00Z").output
    row = next(line for line in text.splitlines() if line.startswith("Latakia"))
    assert "hts" in row and "held" in row
    # replayed from the record file and appended in another order, the answer is the same
    moves = json.loads(run("changes", "--since", "2024-11-26", "--json").output)
    assert [(m["from"], m["to"]) for m in moves if m["capital"] == "Latakia"] == [
        ("government", "hts"),
        ("hts", "sna"),
        ("sna", "hts"),
    ]


def _chain_report(n: int, kind: str, actor: str, start: str, hours: int) -> tuple[str, str]:
    """Report ``n`` of a ledger on Latakia: a window of ``hours`` from ``start``, reported at its end."""
    from datetime import timedelta

    from control.model.times import iso

    begin = parse_instant(start)
    end = iso(begin + timedelta(hours=hours))
    quote = f"Report {n}: {actor} {kind} at Latakia"
    return quote, _event(
        id=f"n{n:02d}", kind=kind, place="Latakia", actor=actor, file="chain.txt", quote=quote,
        earliest=iso(begin), latest=end, reported_at=end,
    )  # fmt: skip


def _add_chain(run: Runner, tmp_path: Path, reports: list[tuple[str, str]]) -> None:
    (tmp_path / "chain.txt").write_text("".join(f"{q}.\n" for q, _ in reports), "utf-8")
    path = tmp_path / "chain.toml"
    path.write_text("\n".join(e for _, e in reports), "utf-8")
    result = run("add", "--toml", str(path))
    assert result.exit_code == 0, result.output


def test_an_eleven_change_chain_is_exact(run, tmp_path):
    """Issue 25, item 2: 11 changes, windows of 9 h starting 6 h apart (only neighbours overlap),
    one cluster: the last capture (druze) is followed only by a withdrawal by another force."""
    from datetime import timedelta

    from control.model.times import iso

    kinds = [("capture", a) for a in ("hts", "sna", "sdf", "southern") * 2]
    kinds += [("withdrawal", "sdf"), ("capture", "druze"), ("withdrawal", "hts")]
    origin = parse_instant("2024-12-01T00:00Z")
    reports = [
        _chain_report(n, kind, actor, iso(origin + timedelta(hours=6 * n)), 9)
        for n, (kind, actor) in enumerate(kinds)
    ]
    _add_chain(run, tmp_path, reports)
    done = iso(origin + timedelta(hours=6 * 10 + 9))
    state = latakia(run, done)
    assert (state["controller"], state["status"], state["possible_controllers"]) == ("druze", "held", [])
    assert [s["event"] for s in state["sources"]] == ["n09"]
    moves = json.loads(run("changes", "--since", "2024-11-30", "--json").output)
    mine = [(m["from"], m["to"]) for m in moves if m["capital"] == "Latakia"]
    assert mine[-1] == ("southern", "druze") and not any(m["disputed"] for m in moves)


def test_eleven_overlapping_changes_without_a_government_capture_never_give_it_back(run, tmp_path):
    """Issue 25, item 2: 5 captures by different forces and 6 withdrawals by different forces,
    all overlapping: any of the 5 may end holding Latakia, or nobody; never the government."""
    captures = ("hts", "sna", "sdf", "southern", "druze")
    withdrawals = ("government", *captures)
    reports = [
        _chain_report(n, kind, actor, f"2024-12-01T{n:02d}:00Z", 24)
        for n, (kind, actor) in enumerate(
            [("capture", a) for a in captures] + [("withdrawal", a) for a in withdrawals]
        )
    ]
    _add_chain(run, tmp_path, reports)
    state = latakia(run, "2024-12-03T00:00Z")
    assert state["status"] == "conflicting" and state["controller"] is None
    assert state["possible_controllers"] == ["druze", "hts", "sdf", "sna", "southern", "(vacated)"]
    last = run("replay", "--at", "2024-12-03T00:00Z").output.splitlines()[-1]
    assert "Latakia (druze or hts or sdf or sna or southern or nobody)" in last


def test_an_answer_carries_only_the_conflicts_that_bear_on_it(run, tmp_path):
    """Issue 25, item 5: a conflict stays listed while its change made the holder (or is under
    way, or a rival); once a later change has taken the capital, it is history, not the answer."""
    (tmp_path / "chain.txt").write_text("HTS took Latakia on Saturday.\nSNA took Latakia.\n", "utf-8")
    ledger = [
        _event(id="h-sat", kind="capture", place="Latakia", actor="hts", file="chain.txt",
               quote="HTS took Latakia on Saturday", earliest="2024-12-01T00:00Z",
               latest="2024-12-02T00:00Z", reported_at="2024-12-02T00:00Z"),
        _event(id="h-sun", kind="capture", place="Latakia", actor="hts", file="chain.txt",
               quote="HTS took Latakia on Saturday", earliest="2024-12-02T06:00Z",
               latest="2024-12-03T00:00Z", reported_at="2024-12-03T00:00Z"),
        _event(id="s-later", kind="capture", place="Latakia", actor="sna", file="chain.txt",
               quote="SNA took Latakia", earliest="2024-12-05T00:00Z", latest="2024-12-06T00:00Z",
               reported_at="2024-12-06T00:00Z"),
    ]  # fmt: skip
    path = tmp_path / "c.toml"
    path.write_text("\n".join(ledger), "utf-8")
    assert run("add", "--toml", str(path)).exit_code == 0
    held = latakia(run, "2024-12-04T00:00Z")
    assert held["controller"] == "hts"
    assert [c["change"] for c in held["conflicts"]] == ["hts took Latakia"]
    assert [r["event"] for r in held["conflicts"][0]["reports"]] == ["h-sat", "h-sun"]
    assert "~ conflicting reports (h-sat: " in run("replay", "--at", "2024-12-04T00:00Z").output
    later = latakia(run, "2024-12-07T00:00Z")
    assert later["controller"] == "sna" and later["conflicts"] == []
    assert "h-sat" not in run("replay", "--at", "2024-12-07T00:00Z").output
    # the same answers from the pure fold (another seat) and as known then
    assert latakia(run, "2024-12-07T00:00Z", "--seat", "douma")["conflicts"] == []
    known = latakia(run, "2024-12-07T00:00Z", "--known-at", "2024-12-04T00:00Z")
    assert known["controller"] == "hts" and len(known["conflicts"]) == 1
    assert "CONFLICT" in run("history", "Latakia").output  # still in the place's history

"""The pure fold: events -> state of the 14 capitals at an instant, as known at an instant."""

from __future__ import annotations

import json

from control.fold.projection import replay, transitions
from control.model.events import Event, Source
from control.model.times import Window, parse_instant
from control.views.render import to_json

END = parse_instant("2024-12-08T00:00Z")


def test_government_holds_three_of_fourteen_on_the_night_of_7_8_december(events):
    snap = replay(events, END)
    assert len(snap.capitals) == 14
    assert snap.holding("government").capitals == ("Damascus", "Latakia", "Tartus")
    assert snap.holding("government").count == 3


def test_government_holds_the_ten_capitals_of_the_baseline_on_26_november(events):
    snap = replay(events, parse_instant("2024-11-26"))
    held = snap.holding("government").capitals
    assert len(held) == 10
    assert "Aleppo" in held and "Homs" in held and "Idlib" not in held
    assert {c.status for c in snap.capitals} == {"held"}


def test_douma_seat_setting_counts_rif_dimashq_separately(events):
    snap = replay(events, END, seat="douma")
    assert snap.holding("government").capitals == ("Damascus", "Douma", "Latakia", "Tartus")
    assert replay(events, parse_instant("2024-11-26"), seat="douma").holding("government").count == 11


def test_known_at_gives_a_different_answer_than_at_alone(events):
    at = parse_instant("2024-12-07T23:00Z")
    everything = replay(events, at)
    that_evening = replay(events, at, known_at=parse_instant("2024-12-07T18:00Z"))
    assert everything.capital("Homs").controller == "hts"
    assert that_evening.capital("Homs").controller == "government"
    assert that_evening.events_used < everything.events_used


def test_inside_a_change_window_the_capital_is_uncertain_and_keeps_its_last_controller(events):
    snap = replay(events, parse_instant("2024-11-29T00:00Z"))
    aleppo = snap.capital("Aleppo")
    assert (aleppo.controller, aleppo.status) == ("government", "uncertain")
    assert [c.new_controller for c in aleppo.candidates] == ["hts"]
    after = replay(events, parse_instant("2024-12-02T00:00Z")).capital("Aleppo")
    assert (after.controller, after.status) == ("hts", "held")
    assert {e.id for e in after.sources} >= {"aleppo-capture-000", "aleppo-capture-001"}


def test_corroborating_reports_narrow_the_window(events):
    hama = replay(events, END).capital("Hama")
    # "Thursday" (001) inside "by December 6" (001 caption) inside "by report" (000).
    assert hama.since == parse_instant("2024-12-05T00:00+03:00")
    assert hama.since_latest == parse_instant("2024-12-06T00:00+03:00")
    assert {"hama-capture-001", "hama-capture-001-caption", "hama-capture-000"} <= {
        e.id for e in hama.sources
    }


def test_homs_conflict_is_reconciled_explicitly(events):
    homs = replay(events, END).capital("Homs")
    assert homs.controller == "hts"
    [conflict] = homs.conflicts
    assert {e.when for e in conflict.reports} >= {"Saturday", "Sunday"}
    # Sunday began at 21:00Z on 7 Dec, but 000 had reported the capture by then.
    assert conflict.window.latest == parse_instant("2024-12-07T21:00Z")


def test_denials_contest_but_never_flip_control(events):
    snap = replay(events, END)
    damascus = snap.capital("Damascus")
    assert (damascus.controller, damascus.status) == ("government", "contested")
    # The rebels' claims of encirclement contest it; the denials that Assad fled are about a
    # person (scope "person") and the "security ring" is the controller's own claim: neither does.
    assert {(e.kind, e.actor) for e in damascus.contested_by} == {("claim", "hts")}
    without_statements = [e for e in events if e.kind not in ("denial", "claim")]
    assert replay(without_statements, END).capital("Damascus").status == "held"
    assert replay(without_statements, END).holding("government") == snap.holding("government")


def test_withdrawal_without_successor_vacates_until_a_capture(events):
    at = parse_instant("2024-12-07T18:00Z")
    quneitra = replay(events, at).capital("Quneitra")
    assert (quneitra.controller, quneitra.status) == (None, "uncertain")
    assert replay(events, END).capital("Quneitra").controller == "southern"


def test_withdrawal_by_a_force_that_does_not_hold_the_city_changes_nothing(events):
    hasakah = replay(events, END).capital("Al-Hasakah")
    assert (hasakah.controller, hasakah.status) == ("sdf", "held")


def test_area_reports_never_flip_a_capital(events):
    rif = replay(events, END).capital("Rif Dimashq")
    assert rif.controller == "government"
    # The denial is of the countryside withdrawal (an area report), not of a change of the
    # capital's control: recorded, but it contests nothing.
    assert rif.status == "held"
    assert not rif.contested_by


def _correction(target: str, reported: str) -> Event:
    at = parse_instant(reported)
    return Event(
        id=f"fix-{target}",
        kind="correction",
        place="Hama",
        window=Window(at, at),
        reported_at=at,
        source=Source("001_5a8b014f271cd233.txt", "Hama"),
        targets=(target,),
    )


def test_a_correction_retracts_from_its_report_time_on(events):
    hama_ids = [e.id for e in events if e.place == "Hama" and e.kind == "capture"]
    fixes = [_correction(i, "2024-12-09T00:00Z") for i in hama_ids]
    corrected = [*events, *fixes]
    assert replay(corrected, END).capital("Hama").controller == "government"
    before_fix = replay(corrected, END, known_at=parse_instant("2024-12-08T12:00Z"))
    assert before_fix.capital("Hama").controller == "hts"


def test_the_fold_is_deterministic_and_order_independent(events):
    first = to_json(replay(events, END).to_dict())
    assert to_json(replay(list(reversed(events)), END).to_dict()) == first
    assert json.loads(first)["holdings"]["government"]["capitals"] == ["Damascus", "Latakia", "Tartus"]


def test_government_transitions_take_it_from_ten_to_three(events):
    start = replay(events, parse_instant("2024-11-26")).holding("government").count
    losses = [t for t in transitions(events) if t.before == "government"]
    assert start - len({t.capital for t in losses}) == 3
    assert {t.governorate for t in losses} == {
        "Aleppo", "Hama", "Homs", "Daraa", "As-Suwayda", "Quneitra", "Deir ez-Zor",
    }  # fmt: skip


def test_a_denial_contradicted_by_a_later_confirmed_change_is_shown_as_refuted(events):
    from control.fold.history import history

    at = parse_instant("2024-12-08T06:00Z")
    fall = Event(
        id="damascus-falls",
        kind="capture",
        place="Damascus",
        actor="hts",
        previous="government",
        window=Window(parse_instant("2024-12-08T00:00Z"), at),
        reported_at=at,
        source=Source("002_83a5accc3178cb06.txt", "imminent entry into Damascus"),
    )
    said = parse_instant("2024-12-07T20:00Z")
    denial = Event(
        id="damascus-no-fall",
        kind="denial",
        place="Damascus",
        actor="government",
        window=Window(said, said),
        reported_at=said,
        source=Source("002_83a5accc3178cb06.txt", "Damascus remains stable and secured"),
    )
    before = {h.event.id: h.remark for h in history([*events, denial], "Damascus").entries}
    after = {h.event.id: h.remark for h in history([*events, denial, fall], "Damascus").entries}
    assert "refuted" not in before["damascus-no-fall"]
    assert "refuted" in after["damascus-no-fall"]
    assert "about a person" in after["damascus-denial-000-r"]
    state = replay([*events, denial, fall], at).capital("Damascus")
    # The later change settles the denials; the new holder's own claims contest nothing.
    assert (state.controller, state.status, state.contested_by) == ("hts", "held", ())


# ---- issue 25, item 3: what the README's rules now state, each pinned --------------------------

from control.fold.projection import changes as _changes  # noqa: E402
from control.ingest.record import baseline_events  # noqa: E402
from control.model.gazetteer import baseline_as_of  # noqa: E402

BASE = baseline_events(baseline_as_of())


def _at(text: str):
    return parse_instant(text)


def _report(eid: str, kind: str, actor: str, earliest: str, latest: str, reported: str, **more) -> Event:
    return Event(
        id=eid, kind=kind, place="Latakia", actor=actor, window=Window(_at(earliest), _at(latest)),
        reported_at=_at(reported), source=Source("t.txt", eid), **more,
    )  # fmt: skip


def _latakia(events: list[Event], at: str, known_at: str | None = None):
    return replay([*BASE, *events], _at(at), _at(known_at) if known_at else None).capital("Latakia")


DENIAL = _report(
    "deny", "denial", "government", "2024-12-05T00:00Z", "2024-12-05T06:00Z", "2024-12-05T06:00Z"
)


def test_only_a_change_first_reported_after_a_statement_and_not_ending_before_it_settles_it():
    early = _report("c1", "capture", "hts", "2024-12-04T00:00Z", "2024-12-04T12:00Z", "2024-12-04T12:00Z")
    again = _report("c2", "capture", "hts", "2024-12-04T00:00Z", "2024-12-04T12:00Z", "2024-12-06T00:00Z")
    # a re-report of a change first reported before the statement does not settle it
    state = _latakia([early, again, DENIAL], "2024-12-07T00:00Z")
    assert (state.controller, state.status) == ("hts", "contested")
    # nor does a change first reported after it that happened before the statement's window
    before = _report("c3", "capture", "hts", "2024-12-03T00:00Z", "2024-12-04T00:00Z", "2024-12-06T00:00Z")
    assert _latakia([before, DENIAL], "2024-12-07T00:00Z").status == "contested"
    # a change first reported after it, ending after the statement's window begins, settles it
    after = _report("c4", "capture", "hts", "2024-12-04T12:00Z", "2024-12-05T03:00Z", "2024-12-06T00:00Z")
    assert (_latakia([after, DENIAL], "2024-12-07T00:00Z").status) == "held"


def test_withdrawals_by_different_forces_are_different_changes():
    gov = _report(
        "w1", "withdrawal", "government", "2024-12-04T00:00Z", "2024-12-05T00:00Z", "2024-12-05T00:00Z"
    )
    hts = _report("w2", "withdrawal", "hts", "2024-12-04T06:00Z", "2024-12-05T06:00Z", "2024-12-05T06:00Z")
    again = _report(
        "w3", "withdrawal", "government", "2024-12-04T12:00Z", "2024-12-05T12:00Z", "2024-12-06T00:00Z"
    )
    found = _changes([gov, hts, again])
    assert sorted((c.actor, len(c.reports)) for c in found) == [("government", 2), ("hts", 1)]
    assert _latakia([gov, hts, again], "2024-12-06T00:00Z").status == "vacated"


def test_certainly_between_uses_a_changes_window_as_it_stands_when_a_later_report_is_taken():
    """Reports are taken by their windows' start; hts's change is [3 Dec, 3 Dec 12:00) when the
    second sna report is taken, so that one is a new change; a later hts report in conflict
    widens hts's change to [2 Dec, 4 Dec), which does not join the sna reports again."""
    ledger = [
        _report("s1", "capture", "sna", "2024-12-01T00:00Z", "2024-12-01T12:00Z", "2024-12-01T12:00Z"),
        _report("h1", "capture", "hts", "2024-12-02T00:00Z", "2024-12-04T00:00Z", "2024-12-09T00:00Z"),
        _report("h2", "capture", "hts", "2024-12-03T00:00Z", "2024-12-03T12:00Z", "2024-12-09T00:00Z"),
        _report("s2", "capture", "sna", "2024-12-03T12:00Z", "2024-12-03T18:00Z", "2024-12-09T00:00Z"),
        _report("h3", "capture", "hts", "2024-12-03T15:00Z", "2024-12-04T12:00Z", "2024-12-09T00:00Z"),
    ]
    found = {tuple(sorted(e.id for e in c.reports)): c for c in _changes(ledger)}
    assert sorted(found) == [("h1", "h2", "h3"), ("s1",), ("s2",)]
    hts = found[("h1", "h2", "h3")]
    assert hts.conflict and hts.window == Window(_at("2024-12-02T00:00Z"), _at("2024-12-04T00:00Z"))
    state = _latakia(ledger, "2024-12-10T00:00Z")
    assert (state.status, state.possible) == ("conflicting", ("hts", "sna"))


def test_a_statement_contests_from_its_windows_end_and_lapses_a_horizon_after_it():
    claim = _report("claim", "claim", "hts", "2024-12-05T00:00Z", "2024-12-05T06:00Z", "2024-12-06T00:00Z")
    assert _latakia([claim], "2024-12-05T05:59Z").status == "held"
    assert _latakia([claim], "2024-12-05T06:00Z").status == "contested"  # before it was reported
    assert _latakia([claim], "2024-12-12T05:59Z").status == "contested"
    late = _latakia([claim], "2024-12-12T06:00Z")
    assert late.status == "held" and [e.id for e in late.lapsed] == ["claim"]
    assert _latakia([claim], "2024-12-07T00:00Z", known_at="2024-12-05T12:00Z").status == "held"


def test_a_denial_of_a_retracted_or_not_yet_known_change_contests_nothing():
    took = _report("took", "capture", "hts", "2024-12-04T00:00Z", "2024-12-05T03:00Z", "2024-12-05T03:00Z")
    denial = DENIAL._replace(targets=("took",))
    fix = Event("fix", "correction", "Latakia", Window(_at("2024-12-06T00:00Z"), _at("2024-12-06T00:00Z")),
                _at("2024-12-06T00:00Z"), Source("t.txt", "fix"), targets=("took",))  # fmt: skip
    assert _latakia([took, denial, fix], "2024-12-05T12:00Z", "2024-12-05T12:00Z").status == "contested"
    retracted = _latakia([took, denial, fix], "2024-12-07T00:00Z")
    assert (retracted.controller, retracted.status) == ("government", "held")
    # the change it denies, reported only after the denial
    later = took._replace(reported_at=_at("2024-12-06T00:00Z"))
    unknown = _latakia([later, denial], "2024-12-07T00:00Z", known_at="2024-12-05T12:00Z")
    assert (unknown.controller, unknown.status) == ("government", "held")
    known = _latakia([later, denial], "2024-12-07T00:00Z")  # known, and settling the denial
    assert (known.controller, known.status) == ("hts", "held")


def test_status_precedence_conflicting_uncertain_contested_unknown_vacated_held():
    hts = _report("a", "capture", "hts", "2024-12-04T00:00Z", "2024-12-05T00:00Z", "2024-12-05T00:00Z")
    sna = _report("b", "capture", "sna", "2024-12-04T00:00Z", "2024-12-05T00:00Z", "2024-12-05T00:00Z")
    claim = _report("c", "claim", "druze", "2024-12-05T00:00Z", "2024-12-05T01:00Z", "2024-12-07T12:00Z")
    going = _report(
        "d", "withdrawal", "government", "2024-12-05T00:00Z", "2024-12-07T00:00Z", "2024-12-07T00:00Z"
    )
    assert _latakia([hts, sna, claim, going], "2024-12-06T00:00Z").status == "conflicting"
    assert _latakia([claim, going], "2024-12-06T00:00Z").status == "uncertain"
    assert _latakia([claim, going], "2024-12-08T00:00Z").status == "contested"
    assert _latakia([going], "2024-12-08T00:00Z").status == "vacated"
    assert _latakia([], "2024-12-08T00:00Z").status == "held"
    assert _latakia([], "2024-11-01T00:00Z").status == "unknown"

"""The fold's fast paths give exactly the answers of the straightforward definitions.

The fold was made O(n log n) (``tests/benchmarks/bench_fold.py`` prints its cost curve; timings
are not asserted here). Each fast path is checked against a slow reference kept in this file,
written as the rules read, on random ledgers (hypothesis):

* corroboration grouping (``changes``): "another change certainly between" by scanning every group;
* contests: every statement against every settled change;
* a capital's step function (``place_phases``) against ``place_state`` at every instant;
* the holdings and timeline chart series against one full ``replay`` per step;
* the canonical-time fast path of ``parse_instant`` against the general path.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.ledgers import ACTORS, BASE, HOUR, START, grid_ledgers
from hypothesis import given, settings
from hypothesis import strategies as st

from control.fold import rules
from control.fold.merging import Merging
from control.fold.phases import capital_phases, place_phases, place_states, place_states_and_transitions
from control.fold.projection import (
    DEFAULT_HORIZON,
    Change,
    changes,
    denies_control,
    known,
    place_state,
    place_transitions,
    replay,
    transitions,
)
from control.model import gazetteer
from control.model.errors import UserError
from control.model.events import Event, Source
from control.model.times import Window, iso, parse_instant
from control.views.chartdata import Row, Segment, holdings_series, timeline_rows
from control.views.display import default_range

#: The seed record's default chart period (its gazetteer's).
RANGE = default_range(gazetteer.builtin(), None)


# ---- slow references: the rules as they read ------------------------------------------------


def _content_order(e: Event) -> tuple[Any, ...]:
    return (
        e.window.earliest,
        e.window.latest,
        e.kind,
        e.actor or "",
        e.previous or "",
        e.reported_at,
        e.source.file,
        e.source.quote,
        e.id,
    )


def _key(e: Event) -> tuple[str, str | None, str | None]:
    return ("withdrawal", None, e.actor) if e.kind == "withdrawal" else ("takeover", e.new_controller, None)


def _overlap(a: Window, b: Window) -> bool:
    return a.earliest < b.latest and b.earliest < a.latest


def slow_merge(reports: list[Event]) -> Change:
    """Corroboration as docs/rules.md states it, written apart from ``rules.merge`` (which this
    reference must not call, or a fault in it would pass): reports that all overlap intersect
    their windows; otherwise the conflict is kept, each report narrowed by those it agrees with,
    the change in the union of those; either way capped at the first report."""
    windows = [r.window for r in reports]
    start, end = max(w.earliest for w in windows), min(w.latest for w in windows)
    conflict = (len(reports) > 1 and not start < end) or end < start
    if conflict:
        narrowed = []
        for w in windows:
            friends = [f for f in windows if _overlap(f, w)]
            lo = max((f.earliest for f in friends), default=w.earliest)
            hi = min((f.latest for f in friends), default=w.latest)
            narrowed.append(Window(lo, hi) if friends and lo < hi else w)
        start, end = min(w.earliest for w in narrowed), max(w.latest for w in narrowed)
    first = min(r.reported_at for r in reports)
    end = max(min(end, first), start)
    head = reports[0]
    return Change(
        place=head.place,
        kind="withdrawal" if head.kind == "withdrawal" else "capture",
        new_controller=head.new_controller,
        actor=head.actor,
        window=Window(start, end),
        reports=tuple(sorted(reports, key=rules.report_order)),
        conflict=conflict,
    )


def slow_changes(events: list[Event]) -> list[Change]:
    """Join the last group of the same change unless a group of another change (made before or
    after it, with its window as narrowed so far) lies certainly between."""
    reports = sorted((e for e in events if e.changes_control), key=_content_order)
    groups: list[list[Event]] = []
    for report in reports:
        key = _key(report)
        home = next((i for i in range(len(groups) - 1, -1, -1) if _key(groups[i][0]) == key), None)
        if home is not None:
            end = slow_merge(groups[home]).window.latest
            between = any(
                _key(groups[j][0]) != key
                and slow_merge(groups[j]).window.earliest >= end
                and slow_merge(groups[j]).window.latest <= report.window.earliest
                for j in range(len(groups))
            )
            if not between:
                groups[home].append(report)
                continue
        groups.append([report])
    return [slow_merge(g) for g in groups]


def slow_contests(
    events: list[Event], all_changes: list[Change], at: datetime, controller: str | None
) -> tuple[list[Event], list[Event]]:
    statements = [
        e
        for e in events
        if e.kind in ("denial", "claim")
        and e.window.latest <= at
        and (e.kind == "denial" or e.actor != controller)
        and denies_control(e, events)
    ]
    contested, lapsed = [], []
    for e in statements:
        if any(
            min(r.reported_at for r in c.reports) > e.reported_at and c.window.latest > e.window.earliest
            for c in all_changes
            if c.window.latest <= at
        ):
            continue
        (contested if at < e.window.latest + DEFAULT_HORIZON else lapsed).append(e)
    return contested, lapsed


def slow_holdings(events: list[Event], start: datetime, end: datetime, known_at: Any, seat: str) -> Any:
    moves = transitions(events, known_at, seat)
    edges = {start, end} | {x for t in moves for x in (t.window.earliest, t.window.latest) if start < x < end}
    times = sorted(edges)
    snaps = [replay(events, t, known_at, seat) for t in times]
    names = sorted({h.controller for s in snaps for h in s.holdings}, key=lambda n: (n != "government", n))
    counts = {n: tuple(s.holding(n).count for s in snaps) for n in names}
    counts.setdefault("government", tuple(0 for _ in times))
    low = tuple(
        len({c.capital for c in s.capitals if c.controller == "government" and c.status != "uncertain"})
        for s in snaps
    )
    return tuple(times), counts, low, len(snaps[-1].capitals), snaps[-1].holding("government").capitals


def slow_segments(events: list[Event], start: datetime, end: datetime, known_at: Any, seat: str) -> Any:
    moves = transitions(events, known_at, seat)
    statements = [
        e
        for e in known(events, known_at)
        if e.kind in ("denial", "claim") and start <= e.window.latest <= end
    ]
    edges = {start, end} | {x for t in moves for x in (t.window.earliest, t.window.latest) if start < x < end}
    # and every instant a place's state may change at (a superset: each report's window edges,
    # its report time and its statement's lapse), so each row is exact
    lapses = {
        x
        for e in known(events, known_at)
        for x in (*e.window, e.reported_at, e.window.latest + DEFAULT_HORIZON)
    }
    times = sorted(edges | {e.window.latest for e in statements} | {x for x in lapses if start < x < end})
    snaps = [replay(events, t, known_at, seat) for t in times]
    out = {}
    for index, g in enumerate(gazetteer.governorates()):
        segments: list[Segment] = []
        for t0, t1, snap in zip(times, times[1:], snaps, strict=False):
            state = snap.capitals[index]
            last = segments[-1] if segments else None
            if last and (last.controller, last.status) == (state.controller, state.status):
                segments[-1] = Segment(last.start, t1, last.controller, last.status)
            else:
                segments.append(Segment(t0, t1, state.controller, state.status))
        out[g.name] = tuple(segments)
    return out


# ---- random ledgers -------------------------------------------------------------------------

INSTANTS = st.integers(min_value=-40, max_value=220).map(lambda h: START + HOUR * h)


@settings(max_examples=300, deadline=None)
@given(grid_ledgers(places=("Latakia",), most=40))
def test_grouping_matches_the_scan_over_later_groups(events):
    assert changes(events) == slow_changes(events)


@settings(max_examples=200, deadline=None)
@given(grid_ledgers(places=("Latakia",), most=30), INSTANTS, st.sampled_from((*ACTORS, None)))
def test_contests_match_every_statement_against_every_change(events, at, controller):
    found = changes(events)
    assert rules.contests(events, found, at, controller, DEFAULT_HORIZON) == slow_contests(
        events, found, at, controller
    )


def _phase_at(pairs: list[tuple[datetime, Any]], t: datetime) -> Any:
    return [phase for when, phase in pairs if when <= t][-1]


@settings(max_examples=200, deadline=None)
@given(grid_ledgers(places=("Latakia",), most=30), st.lists(INSTANTS, max_size=6), st.booleans())
def test_a_capitals_step_function_is_place_state_at_every_instant(events, probes, with_base):
    g = gazetteer.resolve_place("Latakia")
    mine = ([e for e in BASE if e.place == g.name] if with_base else []) + [
        e for e in events if e.kind != "correction"
    ]
    start, end = START - 40 * HOUR, START + 220 * HOUR
    pairs = place_phases(mine, start, end)
    assert pairs[0][0] == start and all(a[0] < b[0] for a, b in itertools.pairwise(pairs))
    for t in {t for t, _ in pairs} | set(probes) | {t - timedelta(seconds=1) for t, _ in pairs if t > start}:
        state = place_state(g, mine, t, gazetteer.DEFAULT_SEAT)
        assert _phase_at(pairs, t) == (state.controller, state.status), iso(t)


@settings(max_examples=200, deadline=None)
@given(grid_ledgers(places=("Latakia",), most=30), st.lists(INSTANTS, max_size=6), st.booleans())
def test_a_capitals_full_states_in_one_sweep_are_place_state_at_every_instant(events, probes, with_base):
    """The read model stores these states: every field (sources, candidates, contests, lapses,
    conflicts, rivals) equals the fold at an instant, at each breakpoint and between them."""
    g = gazetteer.resolve_place("Latakia")
    mine = ([e for e in BASE if e.place == g.name] if with_base else []) + [
        e for e in events if e.kind != "correction"
    ]
    start, end = START - 40 * HOUR, START + 220 * HOUR
    pairs = place_states(g, mine, start, end)
    assert pairs[0][0] == start and all(a[0] < b[0] for a, b in itertools.pairwise(pairs))
    for t in {t for t, _ in pairs} | set(probes) | {t - timedelta(seconds=1) for t, _ in pairs if t > start}:
        assert _phase_at(pairs, t) == place_state(g, mine, t, gazetteer.DEFAULT_SEAT), iso(t)


@settings(max_examples=200, deadline=None)
@given(grid_ledgers(places=("Latakia",), most=30), st.booleans(), st.booleans())
def test_a_capitals_states_and_transitions_in_one_sweep_are_the_folds(events, with_base, whole):
    """What the read model stores per place comes from one sweep: its states as
    ``place_states`` and its transitions as ``place_transitions``, read off the sweep's clusters
    when every change has completed by the sweep's end (``whole``), recomputed otherwise."""
    g = gazetteer.resolve_place("Latakia")
    mine = ([e for e in BASE if e.place == g.name] if with_base else []) + [
        e for e in events if e.kind != "correction"
    ]
    start, end = START - 40 * HOUR, (datetime(9999, 12, 31, tzinfo=UTC) if whole else START + 60 * HOUR)
    pairs, moves = place_states_and_transitions(g, mine, start, end, gazetteer.DEFAULT_SEAT)
    assert pairs == place_states(g, mine, start, end)
    assert moves == place_transitions(g, mine)


@settings(max_examples=60, deadline=None)
@given(grid_ledgers(), st.one_of(st.none(), INSTANTS), st.sampled_from(gazetteer.SEAT_SETTINGS))
def test_chart_series_match_one_replay_per_step(events, known_at, seat):
    ledger = [*BASE, *events]
    start, end = START - 10 * HOUR, START + 200 * HOUR
    series = holdings_series(ledger, start, end, known_at, seat, focus="government")
    times, counts, low, total, final = slow_holdings(ledger, start, end, known_at, seat)
    assert (series.times, series.counts, series.government_low, series.total, series.final) == (
        times,
        counts,
        low,
        total,
        final,
    )
    rows: list[Row] = timeline_rows(ledger, start, end, known_at, seat, focus="government")
    assert {r.governorate: r.segments for r in rows} == slow_segments(ledger, start, end, known_at, seat)


def test_the_seed_record_charts_match_one_replay_per_step(events):
    for seat in gazetteer.SEAT_SETTINGS:
        for known_at in (None, parse_instant("2024-12-07T18:00Z")):
            series = holdings_series(events, *RANGE, known_at=known_at, seat=seat, focus="government")
            start, end = series.times[0], series.times[-1]
            assert (
                series.times,
                series.counts,
                series.government_low,
                series.total,
                series.final,
            ) == slow_holdings(events, start, end, known_at, seat)
            rows = timeline_rows(events, start, end, known_at, seat, focus="government")
            assert {r.governorate: r.segments for r in rows} == slow_segments(
                events, start, end, known_at, seat
            )


def test_capital_phases_follow_the_gazetteer_and_start_at_the_start(events):
    start, end = parse_instant("2024-11-26T00:00Z"), parse_instant("2024-12-08T06:00Z")
    steps = capital_phases(events, start, end)
    assert [g.name for g, _ in steps] == [g.name for g in gazetteer.governorates()]
    snap = replay(events, end)
    for (_, pairs), state in zip(steps, snap.capitals, strict=True):
        assert pairs[0][0] == start and pairs[-1][0] <= end
        assert pairs[-1][1] == (state.controller, state.status)


# ---- the read path --------------------------------------------------------------------------

ERA = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


def _general(text: str) -> datetime | str:
    try:
        return parse_instant(f" {text} ")  # not the canonical form: the general path
    except UserError as exc:
        return str(exc).replace(repr(f" {text} "), repr(text))


def _fast(text: str) -> datetime | str:
    try:
        return parse_instant(text)
    except UserError as exc:
        return str(exc)


@settings(max_examples=300, deadline=None)
@given(ERA)
def test_canonical_times_parse_as_the_general_path_does(value):
    text = iso(value)
    parsed = parse_instant(text)
    assert parsed == value == _general(text) and parsed.tzinfo is UTC and iso(parsed) == text


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30T00:00:00Z",
        "2024-12-08T24:00:00Z",
        "1899-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "2024-12-0８T00:00:00Z",
        "2024-1_-08T00:00:00Z",
        "2024-12-08T00:00:00z",
        "2024-12-08 00:00:00Z",
    ],
)
def test_near_canonical_text_is_refused_or_read_as_the_general_path_does(text):
    assert _fast(text) == _general(text)


@settings(max_examples=100, deadline=None)
@given(grid_ledgers(most=6), st.one_of(st.none(), ERA))
def test_stored_events_decode_to_themselves(events, recorded):
    for e in events:
        stored = e._replace(recorded_at=recorded, note="n", when="Saturday", previous="hts")
        assert Event.from_dict(stored.to_dict()) == stored
        assert sorted([stored], key=rules.report_order) == [stored]


@st.composite
def one_change_reports(draw: Any) -> list[Event]:
    """Reports of one change (hts takes Latakia), windows of 1-40 hours (instants often)
    on a grid of hours, so that they overlap, nest, touch and miss each other often."""
    out = []
    for n in range(draw(st.integers(min_value=1, max_value=25))):
        start = START + HOUR * draw(st.integers(min_value=0, max_value=60))
        length = HOUR * draw(st.integers(min_value=0 if draw(st.integers(0, 3)) == 0 else 1, max_value=40))
        out.append(
            Event(
                f"g{n}",
                "capture",
                "Latakia",
                Window(start, start + length),
                start + length + HOUR * draw(st.integers(min_value=0, max_value=30)),
                Source("gen.txt", f"q{n}"),
                actor="hts",
            )
        )
    return sorted(out, key=lambda e: (e.window.earliest, e.window.latest, e.id))


@settings(max_examples=400, deadline=None)
@given(one_change_reports())
def test_a_growing_groups_window_is_the_merge_of_its_reports_at_every_step(reports):
    group = Merging(reports[0])
    assert group.change() == rules.merge(reports[:1])
    for n in range(1, len(reports)):
        group.add(reports[n])
        assert group.change() == rules.merge(reports[: n + 1]), n

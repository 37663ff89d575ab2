"""Property tests of the fold over random ledgers (hypothesis).

* no answer depends on the order events were appended or on their ids;
* ``known_at`` is monotone: a report published after K never changes an answer at K;
* a correction followed by its retraction is a no-op;
* ``recorded_at`` filters exactly like an older store.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

from helpers.ledgers import BASE, INSTANTS, START, ledgers, reports
from hypothesis import given, settings
from hypothesis import strategies as st

from control.fold import rules
from control.fold.projection import Change, changes, replay, transitions
from control.model.events import Event, Source
from control.model.times import Window, iso


def answer(events: list[Event], at: Any, known_at: Any = None, basis: bool = True) -> str:
    snap = replay([*BASE, *events], at, known_at).to_dict()
    if not basis:  # what the record says, not how much of it there is (events used, its end)
        del snap["basis"]
    moves = [t.to_dict() for t in transitions([*BASE, *events], known_at)]
    return json.dumps([snap, moves], sort_keys=True)


def renamed(events: list[Event], prefix: str, order: list[int]) -> tuple[list[Event], dict[str, str]]:
    mapping = {e.id: f"{prefix}{i}" for i, e in zip(order, events, strict=True)}
    out = [e._replace(id=mapping[e.id], targets=tuple(mapping.get(t, t) for t in e.targets)) for e in events]
    return out, {v: k for k, v in mapping.items()}


@settings(max_examples=150, deadline=None)
@given(ledgers(), INSTANTS, st.randoms(use_true_random=False))
def test_answers_do_not_depend_on_append_order_or_ids(events, at, rnd):
    order = list(range(len(events)))
    rnd.shuffle(order)
    other, back = renamed(events, "x", order)
    rnd.shuffle(other)
    mine = answer(events, at)
    theirs = answer(other, at)
    for new, old in sorted(back.items(), key=lambda kv: -len(kv[0])):
        theirs = theirs.replace(f'"{new}"', f'"{old}"')
    assert json.loads(theirs) == json.loads(mine)


@settings(max_examples=150, deadline=None)
@given(ledgers(), INSTANTS, INSTANTS, st.data())
def test_known_at_is_monotone(events, at, known_at, data):
    later = data.draw(reports(999))
    if later.reported_at <= known_at:
        later = later._replace(reported_at=known_at + timedelta(minutes=1))
    assert answer(events, at, known_at) == answer([*events, later], at, known_at)


@settings(max_examples=100, deadline=None)
@given(ledgers(), INSTANTS, st.data())
def test_a_correction_and_its_retraction_are_a_no_op(events, at, data):
    target = data.draw(st.sampled_from(events))
    t1 = target.reported_at + timedelta(hours=1)
    fix = Event(
        "fix", "correction", target.place, Window(t1, t1), t1, Source("g", "fix"), targets=(target.id,)
    )
    t2 = t1 + timedelta(hours=1)
    unfix = Event(
        "unfix", "correction", target.place, Window(t2, t2), t2, Source("g", "unfix"), targets=("fix",)
    )
    assert answer([*events, fix, unfix], at, basis=False) == answer(events, at, basis=False)


@settings(max_examples=60, deadline=None)
@given(ledgers(), INSTANTS, st.integers(min_value=0, max_value=20))
def test_recorded_at_is_the_older_store(events, at, cut):
    stamp = START + timedelta(days=400)
    stamped = [e._replace(recorded_at=stamp + timedelta(seconds=i)) for i, e in enumerate(events)]
    cut = min(cut, len(events))
    older = replay([*BASE, *stamped[:cut]], at)
    asked = replay([*BASE, *stamped], at, recorded_at=stamp + timedelta(seconds=cut - 0.5))
    assert json.dumps(asked.to_dict(), sort_keys=True) == json.dumps(older.to_dict(), sort_keys=True)
    assert iso(asked.at) == iso(at)


# ---- rival clusters: the exact rule against every order ------------------------------------------

CLUSTER_ACTORS = ("government", "hts", "sna", "sdf")


@st.composite
def cluster_changes(draw: Any, most: int = 8, hours: int = 12) -> list[Change]:
    """Up to ``most`` changes at one place on a small grid of hours, so that windows overlap,
    touch, nest and are instants at the same moment often."""
    out = []
    for n in range(draw(st.integers(min_value=1, max_value=most))):
        start = START + timedelta(hours=draw(st.integers(min_value=0, max_value=hours)))
        window = Window(start, start + timedelta(hours=draw(st.integers(min_value=0, max_value=6))))
        actor = draw(st.sampled_from(CLUSTER_ACTORS))
        withdrawal = draw(st.booleans())
        report = Event(
            id=f"k{n}",
            kind="withdrawal" if withdrawal else "capture",
            place="Latakia",
            actor=actor,
            window=window,
            reported_at=window.latest,
            source=Source("gen.txt", f"quote {n}"),
        )
        out.append(Change("Latakia", report.kind, None if withdrawal else actor, actor, window, (report,)))
    return out


def every_order(cluster: list[Change], start: frozenset[str | None]) -> frozenset[str | None]:
    """The holders every order of ``cluster`` allows can leave, by brute force: each order is
    built change by change, a change placed only once all those certainly before it are (the
    orders sharing a prefix and its holder share what follows, so each (placed, holder) is walked
    once; every permutation the evidence allows is one path)."""
    n = len(cluster)
    before = [frozenset(j for j in range(n) if rules.before(cluster[j], cluster[i])) for i in range(n)]
    seen: set[tuple[frozenset[int], str | None]] = set()
    found: set[str | None] = set()
    stack = [(frozenset(), h) for h in start]
    while stack:
        placed, holder = stack.pop()
        if (placed, holder) in seen:
            continue
        seen.add((placed, holder))
        if len(placed) == n:
            found.add(holder)
        for i in range(n):
            if i not in placed and before[i] <= placed:
                stack.append((placed | {i}, rules.outcome(cluster[i], holder)))
    return frozenset(found)


def every_permutation(cluster: list[Change], start: frozenset[str | None]) -> frozenset[str | None]:
    """The same, literally: every permutation of the cluster that keeps "certainly before"."""
    found: set[str | None] = set()
    for order in itertools.permutations(cluster):
        if any(rules.before(b, a) for i, a in enumerate(order) for b in order[i + 1 :]):
            continue
        for holder in start:
            for c in order:
                holder = rules.outcome(c, holder)
            found.add(holder)
    return frozenset(found)


HOLDERS = st.frozensets(st.sampled_from((*CLUSTER_ACTORS, None)), min_size=1, max_size=3)


@settings(max_examples=400, deadline=None)
@given(cluster_changes(), HOLDERS)
def test_a_clusters_outcomes_are_those_of_every_order_it_allows(cluster, start):
    assert rules.outcomes(cluster, start) == every_order(cluster, start)


@settings(max_examples=60, deadline=None)
@given(cluster_changes(most=6), HOLDERS)
def test_the_brute_force_walks_every_permutation(cluster, start):
    assert every_order(cluster, start) == every_permutation(cluster, start)


@settings(max_examples=100, deadline=None)
@given(cluster_changes(most=16, hours=40), HOLDERS)
def test_clusters_beyond_ten_changes_are_exact_too(cluster, start):
    assert rules.outcomes(cluster, start) == every_order(cluster, start)


@st.composite
def deep_ledgers(draw: Any) -> list[Event]:
    """Up to 14 captures and withdrawals at Latakia whose windows overlap a lot (one cluster,
    often beyond 10 changes once reports of one change are grouped)."""
    out = []
    for n in range(draw(st.integers(min_value=1, max_value=14))):
        start = START + timedelta(hours=draw(st.integers(min_value=0, max_value=30)))
        window = Window(start, start + timedelta(hours=draw(st.integers(min_value=1, max_value=30))))
        out.append(
            Event(
                id=f"d{n}",
                kind=draw(st.sampled_from(("capture", "capture", "withdrawal"))),
                place="Latakia",
                actor=draw(st.sampled_from(CLUSTER_ACTORS)),
                window=window,
                reported_at=window.latest + timedelta(hours=draw(st.integers(min_value=0, max_value=5))),
                source=Source("gen.txt", f"quote {n}"),
            )
        )
    return out


@settings(max_examples=150, deadline=None)
@given(deep_ledgers(), st.integers(min_value=0, max_value=80))
def test_the_fold_of_a_deep_ledger_is_every_order_of_its_changes(events, hours):
    """The whole fold (grouping, clusters, outcomes) against brute force over every order of the
    place's complete changes, from the baseline's holder."""
    at = START + timedelta(hours=hours)
    state = replay([*BASE, *events], at).capital("Latakia")
    complete = [c for c in changes(events) if c.window.latest <= at]
    expected = every_order(complete, frozenset({"government"}))
    got = set(state.possible) if state.status == "conflicting" else {state.controller}
    assert got == expected

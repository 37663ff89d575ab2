"""Reports into changes: one capital's change reports grouped into corroborated changes
(:func:`changes`), each group's merged window kept up to date as it grows (:class:`Merging`).

Apart from the rules because it is the one part of the fold tuned for scale (sort and sweep, heaps)
rather than read as a rule: :func:`control.fold.rules.merge` is the rule it computes incrementally.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from control.fold.records import Change
from control.fold.rules import content_order, report_order
from control.model.events import Event
from control.model.times import Window


def changes(events: Sequence[Event]) -> list[Change]:
    """Group one capital's change reports into corroborated changes (see module rules).

    Reports are taken in content order; each joins the last group of its change (same capital,
    same new controller) unless another change lies certainly between that group's window and the
    report, else it starts a new group. "Another change" is any group of another change, whenever
    it was created, with its window as narrowed so far (a group made before ``home`` may have
    narrowed to after it). Only the last group of each change can still grow, so every other group
    is final ("frozen"): reports come by start, so the frozen groups ending by the report's start
    only accumulate, and the question is answered from their latest starts (the best two of
    different changes) plus the few growing groups, in O(log n) per report instead of a scan.
    """
    reports = sorted((e for e in events if e.changes_control), key=content_order)
    groups: Groups = Groups()
    last_of: dict[tuple[str, str | None, str | None], int] = {}
    for report in reports:
        key = change_key(report)
        home = last_of.get(key)
        if home is not None and not groups.between(home, report.window.earliest):
            groups.append(home, report)
            continue
        if home is not None:
            groups.freeze(home)
        last_of[key] = groups.new(report, key)
    return [g.change() for g in groups.groups]


class Merging:
    """One group of reports of a change as it grows, reports coming by window start: its
    :func:`merge` window kept up to date in O(log k) per report (amortised), not recomputed.

    With a conflict, each report's window is narrowed by the reports it overlaps (its friends),
    and the change lies in the union. Reports come by start, so once the latest start ``E`` has
    reached a report's end, no later report overlaps it: it is *closed*, its narrowed window final.
    A report not closed whose start is at or after every closed end (``M``) is *open*: its friends
    are exactly the reports not closed, so its narrowed window is ``(E, least end not closed)``,
    the same for all open reports. One whose start is before ``M`` (*spoilt*) overlaps a closed
    report ending by ``E``: its friends' intersection is empty, for good, so it counts with its
    own window. A report closing with the arrival of a report starting at or after its end counts
    with ``(E before, least end not closed before)``. An instant (a window of no length) at ``t``
    is closed as it comes, ends at ``t`` (so the open reports starting before it are spoilt), and
    its friends are the reports not closed that start before it: the spoilt ones.
    """

    __slots__ = (
        "_window",
        "cap",
        "closed_end",
        "end",
        "ends",
        "high",
        "latest_start",
        "low",
        "open",
        "reports",
        "spoilt",
        "spoilt_ends",
        "spoilt_starts",
        "start",
        "starts",
    )

    def __init__(self, report: Event) -> None:
        self.reports: list[Event] = []
        self.start = report.window.earliest  # latest start of the group's reports
        self.end = report.window.latest  # earliest end
        self.cap = report.reported_at  # first report time
        self.latest_start = report.window.earliest  # E
        self.closed_end: datetime | None = None  # M
        self.ends: list[tuple[datetime, int]] = []  # reports not closed, by end (a heap)
        self.starts: list[tuple[datetime, int]] = []  # open reports, by start (a heap)
        self.open: set[int] = set()
        self.spoilt: set[int] = set()  # spoilt reports not closed, by start (latest first), by end
        self.spoilt_starts: list[tuple[float, int]] = []
        self.spoilt_ends: list[tuple[datetime, int]] = []
        self.low: datetime | None = None  # narrowed windows of reports no longer open: union
        self.high: datetime | None = None
        self._window: Window | None = None
        self.add(report)

    def _count(self, start: datetime, end: datetime) -> None:
        self.low = start if self.low is None or start < self.low else self.low
        self.high = end if self.high is None or end > self.high else self.high

    def _closed(self, end: datetime) -> None:
        """``M`` is at least ``end`` now: open reports starting before it are spoilt."""
        if self.closed_end is not None and end <= self.closed_end:
            return
        self.closed_end = end
        starts = self.starts
        while starts and starts[0][0] < end:
            _, other = heapq.heappop(starts)
            if other in self.open:  # overlaps a closed report ending by E: its own window
                self.open.discard(other)
                window = self.reports[other].window
                self._count(*window)
                self.spoilt.add(other)
                heapq.heappush(self.spoilt_starts, (-window.earliest.timestamp(), other))
                heapq.heappush(self.spoilt_ends, (window.latest, other))

    def _first_spoilt(self, heap: list[Any]) -> int | None:
        while heap and heap[0][1] not in self.spoilt:
            heapq.heappop(heap)
        return heap[0][1] if heap else None

    def add(self, report: Event) -> None:
        earliest, latest = report.window
        index = len(self.reports)
        self.reports.append(report)
        self.start = max(self.start, earliest)
        self.end = min(self.end, latest)
        self.cap = min(self.cap, report.reported_at)
        self._window = None
        before = self.latest_start
        ends = self.ends
        if ends and ends[0][0] <= earliest:  # reports closing: their friends are those before
            least = ends[0][0]
            while ends and ends[0][0] <= earliest:
                end, closing = heapq.heappop(ends)
                if closing in self.open:
                    self.open.discard(closing)
                    self._count(before, least)
                self.spoilt.discard(closing)
            self._closed(end)  # the last closed ends latest; then the open ones it spoils
        self.latest_start = earliest
        if latest <= earliest:  # an instant: closed at once
            self._closed(latest)
            first = self._first_spoilt(self.spoilt_starts)
            if first is None:
                self._count(earliest, latest)
            else:  # overlapped by the spoilt reports, and only them
                least = self._first_spoilt(self.spoilt_ends)
                assert least is not None
                self._count(self.reports[first].window.earliest, self.reports[least].window.latest)
            return
        heapq.heappush(ends, (latest, index))
        heapq.heappush(self.starts, (earliest, index))
        self.open.add(index)

    @property
    def conflict(self) -> bool:
        return self.end < self.start or (self.end == self.start and len(self.reports) > 1)

    def window(self) -> Window:
        """``merge(self.reports).window``."""
        if self._window is None:
            start, end = self.start, self.end
            if not self.conflict:
                self._window = Window(start, max(min(end, self.cap), start))
            else:
                low, high = self.low, self.high
                if self.open:
                    least = self.ends[0][0]
                    low = self.latest_start if low is None or self.latest_start < low else low
                    high = least if high is None or least > high else high
                assert low is not None and high is not None
                self._window = Window(low, max(min(high, self.cap), low))
        return self._window

    def change(self) -> Change:
        """The group as a :class:`Change` (what :func:`merge` makes of its reports)."""
        first = self.reports[0]
        return Change(
            place=first.place,
            kind=first.kind if first.kind == "withdrawal" else "capture",
            new_controller=first.new_controller,
            actor=first.actor,
            window=self.window(),
            reports=tuple(sorted(self.reports, key=report_order)),
            conflict=self.conflict,
        )


class Groups:
    """The groups of :func:`changes` as they are built, with what "certainly between" needs."""

    def __init__(self) -> None:
        self.groups: list[Merging] = []
        self.key: list[tuple[str, str | None, str | None]] = []
        self.growing: set[int] = set()
        self.pending: list[tuple[datetime, int]] = []  # frozen groups, by merged end (a heap)
        # the latest merged start among frozen groups ending by the current report's start, of
        # two different changes (so that the best of a change other than any one is at hand)
        self.best: list[tuple[datetime, tuple[str, str | None, str | None]]] = []

    def new(self, report: Event, key: tuple[str, str | None, str | None]) -> int:
        index = len(self.groups)
        self.groups.append(Merging(report))
        self.key.append(key)
        self.growing.add(index)
        return index

    def append(self, index: int, report: Event) -> None:
        self.groups[index].add(report)

    def merged(self, index: int) -> Window:
        """``merge(group).window``, kept up to date as the group grows."""
        return self.groups[index].window()

    def freeze(self, index: int) -> None:
        self.growing.discard(index)
        heapq.heappush(self.pending, (self.merged(index).latest, index))

    def _keep(self, start: datetime, key: tuple[str, str | None, str | None]) -> None:
        best = [b for b in self.best if b[1] != key]
        mine = [b for b in self.best if b[1] == key]
        if mine and mine[0][0] >= start:
            return
        self.best = sorted([*best, (start, key)], key=lambda b: b[0], reverse=True)[:2]

    def between(self, home: int, until: datetime) -> bool:
        """Is a group of another change certainly between ``home``'s window and ``until``?"""
        while self.pending and self.pending[0][0] <= until:
            _, index = heapq.heappop(self.pending)
            self._keep(self.merged(index).earliest, self.key[index])
        key = self.key[home]
        latest_start = next((start for start, k in self.best if k != key), None)
        for index in self.growing:
            if index != home and self.key[index] != key:
                window = self.merged(index)
                if window.latest <= until and (latest_start is None or window.earliest > latest_start):
                    latest_start = window.earliest
        return latest_start is not None and latest_start >= self.merged(home).latest


def change_key(event: Event) -> tuple[str, str | None, str | None]:
    if event.kind == "withdrawal":
        return ("withdrawal", None, event.actor)
    return ("takeover", event.new_controller, None)


def baseline_and_changes(events: Sequence[Event]) -> tuple[Event | None, list[Change]]:
    """One capital's baseline (None if retracted) and its changes, windows clamped to start at
    the baseline (events stored before windows were bounded by it are clamped, never dropped)."""
    baselines = [e for e in events if e.kind == "baseline"]
    base = max(baselines, key=lambda e: (e.window.earliest, e.actor or "", e.id)) if baselines else None
    found = changes(events)
    if base is None:
        return None, found
    origin = base.window.earliest
    return base, [
        c._replace(window=Window(max(c.window.earliest, origin), max(c.window.latest, origin))) for c in found
    ]

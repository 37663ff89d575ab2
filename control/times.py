"""Instants and occurrence windows: the two clocks of the ledger, and windows from reporters' words.

Rules (see README "Time and uncertainty"):

* Every instant is timezone-aware and normalised to UTC. A naive date-time is refused, because
  "2024-12-07T12:00" means three different moments in Damascus, London and New York.
* A bare date ``2024-12-07`` means the start of that day in UTC (00:00Z).
* An occurrence is a half-open window ``[earliest, latest)``. Words resolve relative to the
  report time, in Syrian time (UTC+3): "Saturday" is the most recent Saturday on or before the
  report's day; "last week" is the previous Monday-to-Monday calendar week; "today", "yesterday",
  "December 6"; "by December 6" and "by report" run from the campaign's start. A window never
  ends after the report that describes it: an event cannot occur after it was first reported.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import NamedTuple

from control.errors import UserError

SYRIA = timezone(timedelta(hours=3), "Syria")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
)  # fmt: skip


def parse_instant(text: str, where: str = "time") -> datetime:
    """An aware UTC datetime from ISO 8601 with ``Z`` or an offset, or a bare date (00:00Z)."""
    raw = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            return datetime.combine(date.fromisoformat(raw), time(0), tzinfo=UTC)
        except ValueError as exc:
            raise UserError(f"{where}: {text!r} is not a valid date ({exc})") from None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise UserError(
            f"{where}: {text!r} is not an ISO 8601 time; use e.g. 2024-12-08T00:00Z, "
            "2024-12-08T03:00+03:00 or a bare date 2024-12-08"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise UserError(f"{where}: {text!r} has no time zone; add Z (UTC) or an offset such as +03:00")
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """The canonical text of an instant: UTC, seconds, trailing Z."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Window(NamedTuple):
    """A half-open occurrence window ``[earliest, latest)`` in aware UTC (immutable, ordered).

    Built from validated input only (:func:`window_from_words`, :func:`bounded`, the record
    loader), which refuse a window that ends before it starts.
    """

    earliest: datetime
    latest: datetime

    def contains(self, instant: datetime) -> bool:
        return self.earliest <= instant < self.latest

    def overlaps(self, other: Window) -> bool:
        return self.earliest < other.latest and other.earliest < self.latest

    def to_dict(self) -> dict[str, str | None]:
        return {"earliest": iso(self.earliest), "latest": iso(self.latest)}


def _syria_day(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=SYRIA)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _named_date(text: str, year: int) -> date | None:
    m = re.fullmatch(r"([a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?", text) or None
    if m and m.group(1) in MONTHS:
        return date(year, MONTHS.index(m.group(1)) + 1, int(m.group(2)))
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)", text)
    if m and m.group(2) in MONTHS:
        return date(year, MONTHS.index(m.group(2)) + 1, int(m.group(1)))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    return None


def window_from_words(
    words: str, reported_at: datetime, campaign_start: datetime, where: str = "when"
) -> Window:
    """Resolve a reporter's words ("on Saturday", "last week", ...) against the report time."""
    text = " ".join(words.casefold().replace(",", " ").split())
    text = text.removeprefix("on ").strip()
    report_day = reported_at.astimezone(SYRIA).date()
    start: datetime | None = None
    end: datetime | None = None
    if text in WEEKDAYS:
        back = (report_day.weekday() - WEEKDAYS.index(text)) % 7
        start, end = _syria_day(report_day - timedelta(days=back))
    elif text == "today":
        start, end = _syria_day(report_day)
    elif text == "yesterday":
        start, end = _syria_day(report_day - timedelta(days=1))
    elif text == "last week":
        monday = report_day - timedelta(days=report_day.weekday() + 7)
        start = _syria_day(monday)[0]
        end = _syria_day(monday + timedelta(days=6))[1]
    elif text in ("by report", "before report"):
        start, end = campaign_start, reported_at
    elif text.startswith("by "):
        day = _named_date(text[3:], report_day.year)
        if day is not None:
            start, end = campaign_start, _syria_day(day)[1]
    else:
        day = _named_date(text, report_day.year)
        if day is not None:
            start, end = _syria_day(day)
    if start is None or end is None:
        raise UserError(
            f"{where}: cannot read {words!r} as a time; use a weekday, 'today', 'yesterday', "
            "'last week', 'December 6', 'by December 6', 'by report', or give earliest/latest"
        )
    return Window(start, end)


def bounded(window: Window, reported_at: datetime, not_before: datetime | None, where: str) -> Window:
    """Apply ``not_before`` and the report cap; refuse a window that starts after its report."""
    start = max(window.earliest, not_before) if not_before else window.earliest
    if start > reported_at:
        raise UserError(
            f"{where}: the event would occur ({iso(start)}) after it was reported ({iso(reported_at)})"
        )
    end = min(window.latest, reported_at)
    if end < start:
        raise UserError(f"{where}: window end {iso(end)} is before its start {iso(start)}")
    return Window(start, end)

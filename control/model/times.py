"""Instants and occurrence windows: the two clocks of the ledger, and windows from reporters' words.

Rules (see README "Time and uncertainty"):

* Every instant is timezone-aware and normalised to UTC. A naive date-time is refused, because
  "2024-12-07T12:00" means three different moments in Damascus, London and New York.
* A bare date ``2024-12-07`` means the start of that day in UTC (00:00Z).
* An occurrence is a half-open window ``[earliest, latest)``. Words resolve relative to the
  report time, in the gazetteer's time zone (``zone``; the built-in one's is Asia/Damascus, a
  user gazetteer's UTC unless it names one): "Saturday" is the most recent Saturday on or before the
  report's day; "last week" is the previous Monday-to-Monday calendar week; "today", "yesterday",
  "December 6"; "by December 6" and "by report" run from the campaign's start. A window never
  ends after the report that describes it: an event cannot occur after it was first reported.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

from control.model.errors import UserError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: The years an instant may fall in: a time outside them is a typo (and year 1 or 9999 would
#: overflow date arithmetic, time zones and chart axes).
ERA_START = datetime(1900, 1, 1, tzinfo=UTC)
ERA_END = datetime(2100, 1, 1, tzinfo=UTC)
MONTHS = (
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
)  # fmt: skip


#: canonical text -> instant, for the read path (datetimes are immutable)
_CANONICAL_SEEN: dict[str, datetime] = {}


def parse_instant(text: str, where: str = "time") -> datetime:
    """An aware UTC datetime from ISO 8601 with ``Z`` or an offset, or a bare date (00:00Z).

    Instants outside the years 1900-2099 are refused (see :data:`ERA_START`)."""
    seen = _CANONICAL_SEEN.get(text)
    if seen is not None:
        return seen
    if (  # the canonical form (what ``iso`` writes, what stores hold): no regex, one C parse
        len(text) == 20
        and text[19] == "Z"
        and text[10] == "T"
        and text.isascii()
        and text[4] == text[7] == "-"
        and text[13] == text[16] == ":"
        and (text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]).isdigit()
    ):
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            pass  # 2024-02-30: the general path below says why
        else:
            if ERA_START <= value < ERA_END:
                if len(_CANONICAL_SEEN) >= 4096:  # reports share times; a bounded memo
                    _CANONICAL_SEEN.clear()
                _CANONICAL_SEEN[text] = value
                return value
    raw = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            value = datetime.combine(date.fromisoformat(raw), time(0), tzinfo=UTC)
        except ValueError as exc:
            raise UserError(f"{where}: {text!r} is not a valid date ({exc}); use e.g. 2024-12-08") from None
        return in_era(value, text, where)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise UserError(
            f"{where}: {text!r} is not an ISO 8601 time; use e.g. 2024-12-08T00:00Z, "
            "2024-12-08T03:00+03:00 or a bare date 2024-12-08"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise UserError(f"{where}: {text!r} has no time zone; add Z (UTC) or an offset such as +03:00")
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+03:00 is before the first representable instant
        raise _out_of_era(text, where) from None
    return in_era(value, text, where)


def in_era(value: datetime, text: str, where: str) -> datetime:
    """``value`` if it lies in the years the ledger can use, else a :class:`UserError`."""
    if not ERA_START <= value < ERA_END:
        raise _out_of_era(text, where)
    return value


def _out_of_era(text: str, where: str) -> UserError:
    return UserError(
        f"{where}: {text!r} is outside the years {ERA_START.year}-{ERA_END.year - 1}; "
        "give a time near the ledger's record"
    )


def era_hint(first: datetime, last: datetime | None = None, zone: tzinfo = UTC) -> str:
    """The span of a ledger, in words: "November-December 2024", "April 2023 - October 2025"."""
    lo = first.astimezone(zone)
    hi = (last or first).astimezone(zone)
    if (lo.year, lo.month) == (hi.year, hi.month):
        return f"{lo:%B %Y}"
    if lo.year == hi.year:
        return f"{lo:%B}-{hi:%B %Y}"
    return f"{lo:%B %Y} - {hi:%B %Y}"


def iso(value: datetime | None) -> str | None:
    """The canonical text of an instant: UTC, seconds, trailing Z."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat()[:19] + "Z"  # years 1000-9999 (the era is 1900-2099): as strftime


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


def local_day(day: date, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """The calendar ``day`` in ``zone`` as a UTC half-open ``[start, end)`` (23 or 25 hours long
    on a day the clocks change)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def local_date_window(first: date, last: date, zone: tzinfo = UTC) -> Window:
    """The calendar days ``first`` .. ``last`` (inclusive) in ``zone``, as a UTC window: how a
    dataset's local dates (ACLED's ``event_date``) are read."""
    return Window(local_day(first, zone)[0], local_day(last, zone)[1])


def _named_date(text: str, year: int, words: str = "", where: str = "when") -> date | None:
    """The date "December 6", "6 December" or "2024-12-06" names (in ``year``), or None."""
    try:
        m = re.fullmatch(r"([a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?", text) or None
        if m and m.group(1) in MONTHS:
            return date(year, MONTHS.index(m.group(1)) + 1, int(m.group(2)))
        m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)", text)
        if m and m.group(2) in MONTHS:
            return date(year, MONTHS.index(m.group(2)) + 1, int(m.group(1)))
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return None
        day = date.fromisoformat(text)
    except ValueError as exc:  # February 30, December 32
        raise UserError(
            f"{where}: {words or text!r} is not a date of the calendar ({exc}); check the day"
        ) from None
    return in_era(datetime.combine(day, time(0), tzinfo=UTC), words or text, where).date()


def window_from_words(
    words: str, reported_at: datetime, campaign_start: datetime, where: str = "when", zone: tzinfo = UTC
) -> Window:
    """Resolve a reporter's words ("on Saturday", "last week", ...) against the report time, the
    days being those of ``zone`` (the gazetteer's time zone)."""
    text = " ".join(words.casefold().replace(",", " ").split())
    text = text.removeprefix("on ").strip()
    report_day = reported_at.astimezone(zone).date()

    def _day(day: date) -> tuple[datetime, datetime]:
        return local_day(day, zone)

    start: datetime | None = None
    end: datetime | None = None
    if text in WEEKDAYS:
        back = (report_day.weekday() - WEEKDAYS.index(text)) % 7
        start, end = _day(report_day - timedelta(days=back))
    elif text == "today":
        start, end = _day(report_day)
    elif text == "yesterday":
        start, end = _day(report_day - timedelta(days=1))
    elif text == "last week":
        monday = report_day - timedelta(days=report_day.weekday() + 7)
        start = _day(monday)[0]
        end = _day(monday + timedelta(days=6))[1]
    elif text in ("by report", "before report"):
        start, end = campaign_start, reported_at
    elif text.startswith("by "):
        day = _named_date(text[3:], report_day.year, words, where)
        if day is not None:
            start, end = campaign_start, _day(day)[1]
    else:
        day = _named_date(text, report_day.year, words, where)
        if day is not None:
            start, end = _day(day)
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

"""The seed record: every event sourced, quoted exactly, and timed by the rules of control.model.times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from control.ingest.record import load_record
from control.ingest.sources import GAZETTEER_FILE, seed_names, source_text
from control.model.errors import UserError
from control.model.events import KINDS
from control.model.gazetteer import builtin
from control.model.times import parse_instant, window_from_words

SYRIA = builtin().zone  # the built-in gazetteer's time zone (Asia/Damascus)
CAMPAIGN = datetime(2024, 11, 27, tzinfo=SYRIA)
SATURDAY_EVENING = datetime(2024, 12, 7, 17, 0, tzinfo=UTC)


def test_every_quote_is_an_exact_substring_of_its_source(events):
    for event in events:
        assert event.source.quote in source_text(event.source.file), event.id


def test_every_seed_file_contributes_events(events):
    used = {e.source.file for e in events}
    assert set(seed_names()) <= used
    assert len(seed_names()) == 5


def test_baseline_is_one_event_per_governorate_from_the_gazetteer(events):
    baseline = [e for e in events if e.kind == "baseline"]
    assert len(baseline) == 14
    assert {e.source.file for e in baseline} == {GAZETTEER_FILE}
    assert sum(e.actor == "government" for e in baseline) == 11  # 10 cities + Rif Dimashq


def test_record_uses_the_kinds_the_seeds_report(events):
    kinds = {e.kind for e in events}
    assert {"baseline", "capture", "withdrawal", "denial", "claim"} <= kinds
    assert kinds <= set(KINDS)


def test_no_event_occurs_after_it_was_reported(events):
    for event in events:
        assert event.window.earliest <= event.window.latest <= event.reported_at, event.id


def test_ids_are_unique(events):
    ids = [e.id for e in events]
    assert len(ids) == len(set(ids))


def test_homs_reports_disagree_on_the_day(events):
    homs = {e.id: e for e in events if e.place == "Homs" and e.kind == "capture"}
    assert homs["homs-capture-002"].when == homs["homs-capture-003"].when == "Saturday"
    assert homs["homs-capture-004"].when == "Sunday"
    assert not homs["homs-capture-002"].window.overlaps(homs["homs-capture-004"].window)


@pytest.mark.parametrize(
    ("words", "start", "end"),
    [
        ("on Saturday", "2024-12-07T00:00+03:00", "2024-12-07T20:00Z"),  # capped at the report
        ("Thursday", "2024-12-05T00:00+03:00", "2024-12-06T00:00+03:00"),
        ("last week", "2024-11-25T00:00+03:00", "2024-12-02T00:00+03:00"),
        ("December 6", "2024-12-06T00:00+03:00", "2024-12-07T00:00+03:00"),
        ("by December 6", "2024-11-27T00:00+03:00", "2024-12-07T00:00+03:00"),
        ("by report", "2024-11-27T00:00+03:00", "2024-12-07T20:00Z"),
        ("yesterday", "2024-12-06T00:00+03:00", "2024-12-07T00:00+03:00"),
    ],
)
def test_windows_from_words_are_days_in_syrian_time(words, start, end):
    from control.model.times import bounded

    reported = parse_instant("2024-12-07T20:00Z")
    window = bounded(window_from_words(words, reported, CAMPAIGN, zone=SYRIA), reported, None, "test")
    assert window.earliest == parse_instant(start)
    assert window.latest == parse_instant(end)


def test_saturday_is_a_24_hour_window_not_an_instant():
    window = window_from_words("Saturday", parse_instant("2024-12-08T12:00Z"), CAMPAIGN, zone=SYRIA)
    assert window.latest - window.earliest == (datetime(2024, 1, 2) - datetime(2024, 1, 1))


def test_unreadable_words_are_refused():
    with pytest.raises(UserError, match="cannot read"):
        window_from_words("sometime soon", SATURDAY_EVENING, CAMPAIGN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-12-08T00:00Z", "2024-12-08T00:00:00+00:00"),
        ("2024-12-08T03:00+03:00", "2024-12-08T00:00:00+00:00"),
        ("2024-12-08", "2024-12-08T00:00:00+00:00"),
    ],
)
def test_instants_are_aware_utc(text, expected):
    assert parse_instant(text).isoformat() == expected


@pytest.mark.parametrize("text", ["2024-12-08T00:00", "yesterday", "2024-13-01", "08/12/2024"])
def test_naive_or_malformed_instants_are_refused(text):
    with pytest.raises(UserError, match="--at"):
        parse_instant(text, "--at")


def test_publication_times_are_ordered_as_inferred():
    published = load_record().published
    order = sorted(published, key=published.get)
    assert order[0].startswith("001") and order[-1].startswith("002")

"""The seed record covers the articles: the coverage table in seeds/README.md names real events,
the corrections of the record are in force, and a store written by the previous release still
takes the record."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import control

SEEDS_README = Path(__file__).resolve().parent.parent / "seeds" / "README.md"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "store_v1.sqlite"
ID = re.compile(r"`([A-Za-z0-9][A-Za-z0-9_.:-]*)`")


def coverage_rows() -> list[list[str]]:
    """The rows of the coverage table: [file, sentence, events, why left out]."""
    text = SEEDS_README.read_text("utf-8")
    section = text[text.index("## Coverage") :]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip()[1:-1].split("|")]
        if cells[0] in ("file", "---"):
            continue
        rows.append(cells)
    return rows


def table_ids() -> set[str]:
    return {i for row in coverage_rows() for i in ID.findall(row[2])}


def test_the_coverage_table_has_a_row_per_sentence_with_events_or_a_reason():
    rows = coverage_rows()
    assert len(rows) > 50
    for row in rows:
        assert len(row) == 4, row
        assert row[0] in {"000", "001", "002", "003", "004"}, row
        assert ID.findall(row[2]) or row[3], f"no event and no reason: {row[1]}"


def test_every_event_named_in_the_coverage_table_is_in_the_record():
    ids = {e.id for e in control.record_events()}
    missing = sorted(table_ids() - ids)
    assert not missing, missing


def test_every_record_event_is_accounted_for_in_the_coverage_table():
    ids = {e.id for e in control.record_events() if e.kind not in ("baseline", "correction")}
    assert not sorted(ids - table_ids())


@pytest.mark.parametrize(
    ("old", "new", "scope"),
    [
        ("damascus-denial-000", "damascus-denial-000-r", "person"),
        ("damascus-denial-001", "damascus-denial-001-r", "person"),
        ("rifdimashq-denial-001", "rifdimashq-denial-001-r", "area"),
        ("damascus-denial-002", "damascus-claim-002-ring", "city"),
    ],
)
def test_each_wrong_event_is_retracted_by_a_later_correction_and_replaced(old, new, scope):
    events = control.record_events()
    order = [e.id for e in events]
    by_id = {e.id: e for e in events}
    corrections = [e for e in events if e.kind == "correction" and old in e.targets]
    assert len(corrections) == 1
    correction = corrections[0]
    assert order.index(old) < order.index(correction.id) < order.index(new)
    assert correction.source == by_id[old].source  # the same sentence
    assert by_id[new].scope == scope
    assert by_id[new].source.file == by_id[old].source.file


def test_the_security_ring_is_a_government_claim_not_a_denial():
    ring = {e.id: e for e in control.record_events()}["damascus-claim-002-ring"]
    assert (ring.kind, ring.actor, ring.targets) == ("claim", "government", ())


PERSON = [
    "damascus-denial-000-r", "damascus-denial-001-r", "damascus-denial-002-person",
    "damascus-denial-003-person", "damascus-claim-001-office", "damascus-claim-001-returned",
    "damascus-claim-004-person",
]  # fmt: skip


def test_statements_about_where_assad_is_are_about_a_person():
    by_id = {e.id: e for e in control.record_events()}
    for event_id in PERSON:
        assert by_id[event_id].scope == "person", event_id
        assert by_id[event_id].kind in ("denial", "claim"), event_id
    assert {e.id for e in by_id.values() if e.scope == "person"} == set(PERSON)


def test_with_the_replacements_the_government_ends_with_three_capitals():
    snapshot = control.replay(control.record_events(), control.parse_instant("2024-12-08T00:00Z"))
    assert snapshot.holding("government").capitals == ("Damascus", "Latakia", "Tartus")


def test_what_was_known_at_18z_on_7_december_is_unchanged():
    snapshot = control.replay(
        control.record_events(),
        control.parse_instant("2024-12-07T23:00Z"),
        control.parse_instant("2024-12-07T18:00Z"),
    )
    assert snapshot.holding("government").capitals == (
        "As-Suwayda", "Damascus", "Homs", "Latakia", "Tartus",
    )  # fmt: skip


def test_homs_is_still_reconciled_to_saturday():
    snapshot = control.replay(control.record_events(), control.parse_instant("2024-12-08T00:00Z"))
    homs = snapshot.capital("Homs")
    assert homs.controller == "hts"
    assert (homs.since, homs.since_latest) == (
        control.parse_instant("2024-12-07T00:00+03:00"),
        control.parse_instant("2024-12-08T00:00+03:00"),
    )


def test_a_store_of_the_previous_release_syncs_the_new_record(tmp_path: Path):
    copy = tmp_path / "store_v1.sqlite"
    shutil.copyfile(FIXTURE, copy)
    ledger = control.open_ledger(str(copy))
    stored = {e.id for e in ledger.events()}
    assert {e.id for e in control.record_events()} <= stored
    assert "latakia-claim-fixture" in stored  # what a user had added is still there

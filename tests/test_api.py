"""The Python API for notebooks: a pinned list of names, plain records pandas can take."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import control

EXPECTED = {
    "CapitalState", "Event", "Gazetteer", "History", "Holdings", "Ledger", "Snapshot", "Source",
    "Transition", "UserError", "Window", "builtin_gazetteer", "history", "load_gazetteer", "open_ledger",
    "parse_instant", "record_events", "replay", "transitions",
}  # fmt: skip


def test_exported_members_are_exactly_the_documented_list():
    assert set(control.__all__) == EXPECTED
    for name in control.__all__:
        assert getattr(control, name) is not None, name
    public = {n for n in dir(control) if not n.startswith("_") and not inspect.ismodule(getattr(control, n))}
    assert public <= EXPECTED | {"annotations", "datetime", "TYPE_CHECKING", "Any"}


def test_every_public_name_has_a_docstring():
    for name in control.__all__:
        assert getattr(control, name).__doc__, name


def test_replay_through_a_ledger_returns_immutable_records_with_flat_records(store):
    ledger = control.open_ledger(store)
    snap = ledger.replay("2024-12-08T00:00Z", known_at="2024-12-08T03:00Z")
    with pytest.raises(AttributeError):
        snap.at = None  # type: ignore[misc]
    assert snap._replace(total=99).total == 99 and snap.total != 99
    rows = snap.to_records()
    assert len(rows) == 14
    assert {r["controller"] for r in rows if r["capital"] in ("Latakia", "Tartus")} == {"government"}
    assert all(
        isinstance(v, (str, int, float, type(None))) or hasattr(v, "isoformat")
        for r in rows
        for v in r.values()
    )


def test_history_records_are_flat_and_in_report_order(store):
    hist = control.open_ledger(store).history("Homs")
    assert dataclasses.is_dataclass(hist)
    rows = hist.to_records()
    assert [r["reported_at"] for r in rows] == sorted(r["reported_at"] for r in rows)
    assert any("CONFLICT" in r["remark"] for r in rows)
    assert {"id", "kind", "file", "quote", "earliest", "latest", "remark"} <= set(rows[0])


def test_pure_replay_needs_no_store():
    snap = control.replay(control.record_events(), control.parse_instant("2024-12-08T00:00Z"))
    assert snap.holding("government").capitals == ("Damascus", "Latakia", "Tartus")


def test_an_open_ledger_sees_reports_added_meanwhile(run, store):
    ledger = control.open_ledger(store)
    before = len(ledger.events())
    result = run(
        "add", "--kind", "claim", "--place", "Latakia", "--actor", "hts", "--when", "by report",
        "--file", "002_83a5accc3178cb06.txt", "--quote", "strongholds in Latakia",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert len(ledger.events()) == before + 1
    assert ledger.replay("2024-12-08T03:00Z").capital("Latakia").status == "contested"

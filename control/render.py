"""Plain-text and JSON renderings of projection output, shared by the CLI commands.

JSON is byte-stable: keys sorted, lists in a fixed order, two-space indent, trailing newline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from control.events import Event
from control.projection import Snapshot, Transition
from control.times import iso

if TYPE_CHECKING:
    from control.history import History


def to_json(data: Any) -> str:
    import json

    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _short(quote: str, width: int = 96) -> str:
    """The quote on one line, cut at a word boundary to ``width`` characters."""
    text = " ".join(quote.split())
    if len(text) <= width:
        return text
    return text[: width - 4].rsplit(" ", 1)[0] + " ..."


def holdings_line(snapshot: Snapshot, controller: str = "government") -> str:
    h = snapshot.holding(controller)
    total = len(snapshot.capitals)
    return f"{controller} holds {h.count} of {total}: {', '.join(h.capitals) or 'none'}"


def snapshot_text(snapshot: Snapshot) -> str:
    known = f"as known at {iso(snapshot.known_at)}" if snapshot.known_at else "as known now"
    lines = [
        f"Control of Syria's 14 provincial capitals at {iso(snapshot.at)}, {known} "
        f"({snapshot.events_used} events used; Rif Dimashq seat: {snapshot.seat})",
        "",
    ]
    for c in snapshot.capitals:
        if c.sources and c.sources[0].kind == "baseline":
            since = f"as of {iso(c.since)} (baseline, before the offensive)"
        elif c.since == c.since_latest:
            since = f"since {iso(c.since)}"
        else:
            since = f"since {iso(c.since)} .. {iso(c.since_latest)}"
        who = c.controller or "(nobody)"
        lines.append(f"{c.governorate:<12} {c.capital:<12} {who:<11} {c.status:<10} {since}")
        for cand in c.candidates:
            lines.append(
                f"    ? {cand.describe()} some time in {iso(cand.window.earliest)} .. "
                f"{iso(cand.window.latest)} ({', '.join(e.id for e in cand.reports)})"
            )
        for e in c.contested_by:
            lines.append(f'    ! {e.kind} by {e.actor} [{e.source.file}] "{_short(e.source.quote, 80)}"')
        for ch in c.conflicts:
            said = "; ".join(f"{e.id}: {e.when!r}" for e in ch.reports)
            lines.append(
                f"    ~ conflicting reports ({said}); window reconciled to "
                f"{iso(ch.window.earliest)} .. {iso(ch.window.latest)}"
            )
        for e in c.sources:
            lines.append(f'    - [{e.source.file}] "{_short(e.source.quote)}" ({e.id})')
    lines += ["", "Holdings (distinct capital cities):"]
    for h in snapshot.holdings:
        lines.append(f"  {h.controller:<11} {h.count:>2}  {', '.join(h.capitals)}")
    lines += ["", holdings_line(snapshot)]
    return "\n".join(lines) + "\n"


def event_line(event: Event, remark: str = "") -> str:
    w = event.window
    when = iso(w.earliest) if w.earliest == w.latest else f"{iso(w.earliest)} .. {iso(w.latest)}"
    who = f" {event.actor}" if event.actor else ""
    frm = f" (from {event.previous})" if event.previous else ""
    tgt = f" -> {', '.join(event.targets)}" if event.targets else ""
    scope = " [area]" if event.scope == "area" else ""
    tag = f" [scenario {event.scenario}]" if event.scenario else ""
    text = (
        f"{event.id}: {event.kind}{who}{frm}{tgt}{scope}{tag} at {event.place}\n"
        f"    occurred {when}" + (f" ({event.when!r})" if event.when else "") + "\n"
        f"    reported {iso(event.reported_at)}  [{event.source.file}]\n"
        f'    "{event.source.quote}"\n'
    )
    if event.note:
        text += f"    note: {event.note}\n"
    if remark:
        text += f"    >> {remark}\n"
    return text


def events_text(events: Iterable[Event]) -> str:
    return "\n".join(event_line(e) for e in events)


def history_text(history: History) -> str:
    head = f"History of {history.governorate}: {len(history.entries)} events, in order of report\n\n"
    return head + "\n".join(event_line(h.event, h.remark) for h in history.entries)


def transitions_text(items: Sequence[Transition]) -> str:
    if not items:
        return "No change of control in that period.\n"
    lines = []
    for t in items:
        mark = " (CONFLICTING REPORTS)" if t.change.conflict else ""
        lines.append(
            f"{iso(t.window.earliest)} .. {iso(t.window.latest)}  {t.governorate}: "
            f"{t.before or '(nobody)'} -> {t.after or '(nobody)'}{mark}"
        )
        for e in t.change.reports:
            lines.append(f'    - [{e.source.file}] "{_short(e.source.quote)}" ({e.id})')
    return "\n".join(lines) + "\n"

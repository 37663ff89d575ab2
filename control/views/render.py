"""Plain-text and JSON renderings of projection output, shared by the CLI commands.

JSON is byte-stable: keys sorted, lists in a fixed order, two-space indent, trailing newline.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from control.fold.projection import CapitalState, Snapshot, Transition
from control.model.events import Event
from control.model.text import terminal_safe as terminal_safe  # every text output's escaping
from control.model.times import iso

if TYPE_CHECKING:
    from control.fold.history import History
    from control.model.gazetteer import Gazetteer


def json_lines(items: Iterable[Any], depth: int = 0) -> Iterator[str]:
    """A JSON list written item by item: byte for byte ``to_json(list(items))``, in bounded memory.
    ``depth``: the list is a value ``depth`` levels into ``to_json``'s indented text (no newline
    after it then)."""
    from control.views.jsontext import dumps

    pad, first = "  " * (depth + 1), True
    for item in items:
        text = dumps(item)
        yield ("[\n" if first else ",\n") + "\n".join(pad + line for line in text.split("\n"))
        first = False
    end = "" if depth else "\n"
    yield f"[]{end}" if first else f"\n{pad[2:]}]{end}"


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """One flat row from a JSON-ready object: nested objects as dotted names, lists joined with
    "; " (a list of objects: each as compact JSON)."""
    import json

    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = "; ".join(
                json.dumps(v, sort_keys=True, ensure_ascii=False) if isinstance(v, dict | list) else str(v)
                for v in value
            )
        else:
            out[name] = value
    return out


#: The first characters that make a spreadsheet read a text cell as a formula (OWASP's list:
#: = + - @, tab, carriage return).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = None


def csv_cell(value: Any, verbatim: bool = False) -> Any:
    """One CSV cell: None is empty; a text cell a spreadsheet would run as a formula (``=``,
    ``+``, ``-``, ``@``, tab, CR first) gets a leading apostrophe unless ``verbatim``. Numbers,
    and text that is only a number ("-36.2"), are never touched."""
    if value is None:
        return ""
    if verbatim or not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    global _NUMBER
    if _NUMBER is None:
        import re

        _NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
    return value if _NUMBER.fullmatch(value) else "'" + value


def csv_rows(items: Iterable[Any], verbatim: bool = False) -> Iterator[str]:
    """CSV text, header first, written as it goes. The columns are the first item's (sorted); a
    later item's extra fields are dropped, a missing one is empty. None is an empty cell; a text
    cell that would be a spreadsheet formula is neutralised (:func:`csv_cell`) unless
    ``verbatim``."""
    import csv
    import io

    columns: list[str] | None = None
    for item in items:
        row = flatten(item)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if columns is None:
            columns = sorted(row)
            writer.writerow([csv_cell(c, verbatim) for c in columns])
        writer.writerow([csv_cell(row.get(c), verbatim) for c in columns])
        yield out.getvalue()


def to_json(data: Any) -> str:
    """``data`` as the JSON every ``--json`` answer is: keys sorted, two-space indent, not
    ASCII-escaped, a final newline (:mod:`control.views.jsontext`)."""
    from control.views.jsontext import dumps

    return dumps(data) + "\n"


def _short(quote: str, width: int = 96) -> str:
    """The quote on one line, cut at a word boundary to ``width`` characters."""
    text = " ".join(quote.split())
    if len(text) <= width:
        return text
    return text[: width - 4].rsplit(" ", 1)[0] + " ..."


def holdings_line(snapshot: Snapshot, atlas: Gazetteer) -> str:
    """The headline: "government holds 3 of 14: Damascus, Latakia, Tartus" for the gazetteer's
    focus controller; without one, for the leading controller(s) (:func:`display.headline`)."""
    from control.views import display

    total = snapshot.total or len(snapshot.capitals)
    compact = total > COMPACT_ABOVE
    top = [snapshot.holding(atlas.focus)] if atlas.focus else display.leading(snapshot)
    listed = "; ".join(
        (f"{h.controller}: " if len(top) > 1 else "") + (_listed(h.capitals, compact) or "none") for h in top
    )
    line = f"{display.headline(atlas, snapshot, total)}: {listed or 'none'}"
    if snapshot.disputed:
        line += "; disputed: " + _disputed(snapshot, total > COMPACT_ABOVE)
    return line


def _disputed(snapshot: Snapshot, compact: bool) -> str:
    """The disputed cities, each with who may hold it (the first ones only, if ``compact``)."""
    return _listed([f"{d.capital} ({d.label()})" for d in snapshot.disputed], compact)


def _seat(snapshot: Snapshot, atlas: Gazetteer) -> str:
    if any(p.administered_from for p in atlas.places):
        return f"; {atlas.labels.get('seat_option', 'seat')}: {snapshot.seat}"
    return ""


def _title(snapshot: Snapshot, atlas: Gazetteer) -> str:
    if len(snapshot.capitals) == len(atlas.places):
        return atlas.title
    return f"{len(snapshot.capitals)} of {atlas.title}"


def basis_lines(snapshot: Snapshot) -> list[str]:
    """What the answer rests on, when it is not simply "everything recorded, within the record"."""
    lines = []
    if snapshot.before_record:
        lines.append(
            f"{iso(snapshot.at)} is before the record begins ({iso(snapshot.record_begins)}): "
            "nothing is known."
        )
    elif snapshot.carried_forward:
        lines.append(
            f"The record ends at {iso(snapshot.record_ends)} (its last report): the state shown is "
            "carried forward from it."
        )
    return lines


def _since(c: CapitalState, atlas: Gazetteer, before_record: bool = False) -> str:
    if c.since is None:
        if before_record:
            return "before the record begins"
        return "not known: no baseline and no report of a change yet" if not c.sources else "since unknown"
    if c.since_baseline:
        when = atlas.labels.get("baseline_words", "when the record begins")
        return f"as of {iso(c.since)} (baseline, {when})"
    if c.since == c.since_latest:
        return f"since {iso(c.since)}"
    return f"since {iso(c.since)} .. {iso(c.since_latest)}"


#: Above this many places, text output is a summary first, then one line per place.
COMPACT_ABOVE = 40


def snapshot_text(snapshot: Snapshot, atlas: Gazetteer, compact: bool | None = None) -> str:
    """The state of every place of ``atlas``, as text. Small gazetteers: each place with its evidence, then
    the holdings. Large ones (or ``compact``): the holdings first, then one line per place
    (``--place`` narrows it down; ``--json`` is always complete)."""
    if compact is None:
        compact = len(snapshot.capitals) > COMPACT_ABOVE
    known = f"as known at {iso(snapshot.known_at)}" if snapshot.known_at else "as known now"
    lines = [
        f"Control of {_title(snapshot, atlas)} at {iso(snapshot.at)}, {known} "
        f"({snapshot.events_used} events used{_seat(snapshot, atlas)})",
        *basis_lines(snapshot),
        "",
    ]
    summary = ["Holdings (distinct capital cities):"]
    for h in snapshot.holdings:
        summary.append(f"  {h.controller:<11} {h.count:>2}  {_listed(h.capitals, compact)}")
    if snapshot.disputed:
        summary.append(f"  {'disputed':<11} {len(snapshot.disputed):>2}  {_disputed(snapshot, compact)}")
    if compact:
        counts: dict[str, int] = {}
        for c in snapshot.capitals:
            counts[c.status] = counts.get(c.status, 0) + 1
        summary.append("Statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        lines += [*summary, ""]
    for c in snapshot.capitals:
        who = "(disputed)" if c.status == "conflicting" else c.controller or "(nobody)"
        since = _since(c, atlas, snapshot.before_record)
        lines.append(f"{c.governorate:<12} {c.capital:<12} {who:<11} {c.status:<10} {since}")
        if compact:
            continue
        for rival in c.rivals:
            lines.append(
                f"    ? {rival.describe()} some time in {iso(rival.window.earliest)} .. "
                f"{iso(rival.window.latest)} ({', '.join(e.id for e in rival.reports)}): order "
                "unknown, a rival of the other(s)"
            )
        for cand in c.candidates:
            lines.append(
                f"    ? {cand.describe()} some time in {iso(cand.window.earliest)} .. "
                f"{iso(cand.window.latest)} ({', '.join(e.id for e in cand.reports)})"
            )
        for e in c.contested_by:
            lines.append(f'    ! {e.kind} by {e.actor} [{e.source.file}] "{_short(e.source.quote, 80)}"')
        for e in c.lapsed:
            lines.append(
                f"    . {e.kind} by {e.actor} ({e.id}) lapsed {iso(e.window.latest + c.horizon)}: "
                f"nothing followed within {c.horizon.days} days"
            )
        for ch in c.conflicts:
            said = "; ".join(f"{e.id}: {e.when!r}" for e in ch.reports)
            lines.append(
                f"    ~ conflicting reports ({said}); window reconciled to "
                f"{iso(ch.window.earliest)} .. {iso(ch.window.latest)}"
            )
        for e in c.sources:
            lines.append(f'    - [{e.source.file}] "{_short(e.source.quote)}" ({e.id})')
    if not compact:
        lines += ["", *summary]
    lines += ["", holdings_line(snapshot, atlas)]
    return "\n".join(lines) + "\n"


def _listed(names: Sequence[str], compact: bool) -> str:
    if compact and len(names) > 12:
        return ", ".join(names[:12]) + f", ... ({len(names) - 12} more)"
    return ", ".join(names)


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
        f"    reported {iso(event.reported_at)}  [{event.source.file}]"
        + (f"  recorded {iso(event.recorded_at)}" if event.recorded_at else "")
        + "\n"
        f'    "{event.source.quote}"\n'
    )
    if event.note:
        text += f"    note: {event.note}\n"
    if remark:
        text += f"    >> {remark}\n"
    return text


def history_text(history: History) -> str:
    head = f"History of {history.governorate}: {len(history.entries)} events, in order of report\n\n"
    return head + "\n".join(event_line(h.event, h.remark) for h in history.entries)


def transitions_text(items: Sequence[Transition]) -> str:
    if not items:
        return "No change of control in that period.\n"
    lines = []
    for t in items:
        mark = " (CONFLICTING REPORTS)" if t.change.conflict else ""
        if t.disputed:
            mark += " (RIVAL CHANGE: order unknown, outcome disputed)"
        lines.append(
            f"{iso(t.window.earliest)} .. {iso(t.window.latest)}  {t.governorate}: "
            f"{t.before or '(nobody)'} -> {t.after or '(nobody)'}{mark}"
        )
        for e in t.change.reports:
            lines.append(f'    - [{e.source.file}] "{_short(e.source.quote)}" ({e.id})')
    return "\n".join(lines) + "\n"

"""From text to events: the curated seed record (``seeds/record.toml``) and user-written reports.

Everything a user can type (a ``control add`` option, an ``[[event]]`` table in a TOML file, a
scenario) passes through :func:`build_event`, so one set of checks guards the ledger: known place
and controller, aware times, a window that ends after it starts and not after its report, a quote
that is really in its source file, targets that exist, no duplicate. Errors name file:line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from control.ingest.sources import RECORD_FILE, record_text, source_text
from control.model import gazetteer
from control.model.errors import UserError
from control.model.events import CHANGE_KINDS, KINDS, SCOPES, Event, Source
from control.model.times import Window, bounded, iso, parse_instant, window_from_words
from control.model.tomlfile import TomlFile

#: Fields an [[event]] table may have.
EVENT_FIELDS = {
    "id", "kind", "place", "actor", "from", "targets", "scope", "file", "quote", "when",
    "earliest", "latest", "not_before", "reported_at", "note",
}  # fmt: skip


@dataclass
class Context:
    """What validating one more event needs to know."""

    campaign_start: datetime
    published: Mapping[str, datetime] = field(default_factory=dict)
    #: ids known to the ledger: a dict, or the store's index (control.store.ledger.KnownReports)
    known: Any = field(default_factory=dict)
    now: datetime | None = None
    base: Path | None = None
    scenario: str | None = None
    #: report time for events that give none (a scenario's default), before ``published``
    reported_default: datetime | None = None
    #: where the ledger's record begins (the gazetteer's baseline): nothing is dated before it
    baseline: datetime | None = None
    #: the gazetteer's time zone: the days "on Saturday" and "December 6" name
    zone: tzinfo = UTC


def _opt_str(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UserError(f"{where}: {key} must be a string")
    return value


def instant_field(table: Mapping[str, Any], key: str, where: str) -> datetime | None:
    """An aware instant from a TOML value (string or TOML datetime); naive ones are refused."""
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise UserError(f"{where}: {key} has no time zone; add Z or an offset such as +03:00")
        return parse_instant(value.isoformat(), f"{where}: {key}")
    if not isinstance(value, str):
        raise UserError(f"{where}: {key} must be an ISO 8601 time")
    return parse_instant(value, f"{where}: {key}")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def build_event(table: Mapping[str, Any], ctx: Context, where: str = "event") -> Event:
    """Validate one report given as a mapping (TOML table or CLI options) and build its Event."""
    unknown = sorted(set(table) - EVENT_FIELDS)
    if unknown:
        raise UserError(f"{where}: unknown field(s) {', '.join(unknown)}")
    kind = _opt_str(table, "kind", where)
    if kind not in KINDS or kind == "baseline":
        allowed = ", ".join(k for k in KINDS if k != "baseline")
        raise UserError(f"{where}: kind must be one of {allowed} (got {kind!r})")
    place_text = _opt_str(table, "place", where)
    if not place_text:
        raise UserError(f"{where}: place is required")
    place = gazetteer.resolve_place(place_text, f"{where}: place").name
    actor = _opt_str(table, "actor", where)
    if kind != "correction":
        if not actor:
            raise UserError(f"{where}: actor is required for a {kind}")
        gazetteer.check_controller(actor, f"{where}: actor")
    elif actor:
        gazetteer.check_controller(actor, f"{where}: actor")
    previous = _opt_str(table, "from", where)
    if previous:
        gazetteer.check_controller(previous, f"{where}: from")
        if previous == actor:
            raise UserError(f"{where}: from and actor are both {actor!r}")
    scope = _opt_str(table, "scope", where) or "city"
    if scope not in SCOPES:
        raise UserError(f"{where}: scope must be one of {', '.join(SCOPES)}")
    targets = table.get("targets") or []
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise UserError(f"{where}: targets must be a list of event ids")
    if kind == "correction" and not targets:
        raise UserError(f"{where}: a correction needs targets (the ids it retracts)")
    if kind in CHANGE_KINDS and targets:
        raise UserError(f"{where}: a {kind} takes no targets")
    for target in targets:
        if target not in ctx.known:
            raise UserError(f"{where}: targets names event {target!r}, which is not in the ledger")

    file = _opt_str(table, "file", where)
    quote = _opt_str(table, "quote", where)
    if not file or not quote:
        raise UserError(f"{where}: file and quote are required (the source and its exact words)")
    if quote not in source_text(file, ctx.base):
        raise UserError(f"{where}: quote is not in {file}: {quote[:60]!r}")

    reported_at = _reported_at(table, ctx, file, where)
    when = _opt_str(table, "when", where) or ""
    earliest = instant_field(table, "earliest", where)
    latest = instant_field(table, "latest", where)
    if when and (earliest or latest):
        raise UserError(f"{where}: give either when or earliest/latest, not both")
    if when:
        window = window_from_words(when, reported_at, ctx.campaign_start, f"{where}: when", ctx.zone)
    elif earliest and latest:
        if latest < earliest:
            raise UserError(f"{where}: latest: the window ends before it starts (earliest)")
        window = Window(earliest, latest)
    elif kind == "correction":
        window = Window(reported_at, reported_at)
    else:
        raise UserError(f"{where}: say when it happened: when = '...' or earliest and latest")
    window = bounded(window, reported_at, instant_field(table, "not_before", where), where)
    if ctx.baseline is not None and kind != "correction":
        if window.latest < ctx.baseline or (window.latest == ctx.baseline and window.earliest < ctx.baseline):
            raise UserError(
                f"{where}: the {kind} would lie before the ledger's baseline ({iso(ctx.baseline)}, "
                f"the gazetteer's baseline_as_of): the record begins then; date it at or after the baseline"
            )
        if window.earliest < ctx.baseline:  # straddles the baseline: only its part after it
            window = Window(ctx.baseline, window.latest)
    for target in targets:
        if kind == "correction" and ctx.known[target].reported_at > reported_at:
            raise UserError(
                f"{where}: reported_at {iso(reported_at)} is before the report it corrects "
                f"({target!r}, reported {iso(ctx.known[target].reported_at)}): a correction comes after"
            )

    event_id = _opt_str(table, "id", where) or _next_id(ctx, place, kind)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", event_id):
        raise UserError(f"{where}: id {event_id!r} must be letters, digits, '-', '_', '.' or ':'")
    if event_id in ctx.known:
        raise UserError(f"{where}: duplicate event id {event_id!r}")
    event = Event(
        id=event_id,
        kind=kind,
        place=place,
        actor=actor,
        previous=previous,
        targets=tuple(targets),
        scope=scope,
        window=window,
        when=when,
        reported_at=reported_at,
        source=Source(file, quote),
        note=_opt_str(table, "note", where) or "",
        scenario=ctx.scenario,
    )
    similar = getattr(ctx.known, "similar", None)
    for other in similar(event) if similar else ctx.known.values():
        if _same_report(other, event):
            raise UserError(f"{where}: duplicate event: the same report is already {other.id!r}")
    return event


#: Report times may run ahead of the writer's clock by this much (time zones, clock skew), no more.
FUTURE_SLACK = timedelta(days=1)


def _reported_at(table: Mapping[str, Any], ctx: Context, file: str, where: str) -> datetime:
    """When the report became known: given, or a seed's publication time; 'now' only if said."""
    given = table.get("reported_at")
    if isinstance(given, str) and given.strip().casefold() == "now":
        if ctx.now is None:
            raise UserError(f"{where}: reported_at 'now' needs a clock (not allowed in the record file)")
        reported_at: datetime | None = ctx.now
    else:
        reported_at = (
            instant_field(table, "reported_at", where) or ctx.reported_default or ctx.published.get(file)
        )
    if reported_at is None:
        raise UserError(
            f"{where}: reported_at is required for {file}: when the report became known (its "
            "publication time, e.g. 2024-12-08T06:00Z), or the word 'now' if it is being published now"
        )
    problem = report_time_error(reported_at, ctx.baseline, ctx.now)
    if problem:
        raise UserError(f"{where}: reported_at {problem}")
    return reported_at


def report_time_error(reported_at: datetime, baseline: datetime | None, now: datetime | None) -> str | None:
    """Why a report time is out of bounds (before the ledger's baseline, or more than
    :data:`FUTURE_SLACK` after ``now``, the writer's clock), or None: the bounds of ``add``,
    shared by every writer that takes report times from a file (``import``)."""
    if baseline is not None and reported_at < baseline:
        return (
            f"{iso(reported_at)} is before the ledger's baseline "
            f"({iso(baseline)}, the gazetteer's baseline_as_of): the record begins then"
        )
    if now is not None and reported_at > now + FUTURE_SLACK:
        return f"{iso(reported_at)} is more than a day in the future"
    return None


def _same_report(a: Event, b: Event) -> bool:
    """Same kind, place, actor, window and file, and one quote within the other."""
    if (a.kind, a.place, a.actor, a.window, a.targets, a.source.file) != (
        b.kind, b.place, b.actor, b.window, b.targets, b.source.file,
    ):  # fmt: skip
        return False
    return a.source.quote in b.source.quote or b.source.quote in a.source.quote


def _next_id(ctx: Context, place: str, kind: str) -> str:
    stem = f"{slug(place)}-{kind}"
    next_free = getattr(ctx.known, "next_free", None)
    n = next_free(stem) if next_free else 1
    while f"{stem}-{n}" in ctx.known:
        n += 1
    return f"{stem}-{n}"


def build_events(
    tables: Iterable[Mapping[str, Any]], ctx: Context, path: str, source: TomlFile | None
) -> list[Event]:
    """Validate ``[[event]]`` tables in order; each error names ``path:line`` (the lines found
    in ``source``, the file the tables come from; None: numbered in order)."""
    out: list[Event] = []
    for index, table in enumerate(tables):
        line = source.line("event", index) if source else index + 1
        where = f"{path}:{line}"
        if not isinstance(table, Mapping):
            raise UserError(f"{where}: each [[event]] must be a table of fields, not {table!r:.40}")
        try:
            event = build_event(table, ctx, where)
        except UserError as exc:
            key = _blamed_key(str(exc))
            if source and key:
                exc = UserError(str(exc).replace(where, f"{path}:{source.line('event', index, key)}", 1))
            raise exc from None
        ctx.known[event.id] = event
        out.append(event)
    return out


def _blamed_key(message: str) -> str | None:
    keys = "kind|place|actor|from|targets|scope|quote|file|when|earliest|latest|not_before|reported_at|id"
    m = re.search(rf": ({keys})\b", message)
    return m.group(1) if m else None


def baseline_events(
    as_of: datetime,
    places: Iterable[gazetteer.Governorate] | None = None,
    atlas: gazetteer.Gazetteer | None = None,
) -> list[Event]:
    """Who held each place when the record begins, one event each, sourced from the gazetteer
    (the built-in one by default). A place whose baseline controller is unknown gets none."""
    atlas = atlas or gazetteer.builtin()
    chosen = atlas.places if places is None else tuple(places)
    out = []
    for i, g in enumerate(chosen):
        if not g.baseline:
            continue
        if atlas.builtin:
            event_id, quote = f"baseline-{slug(g.name)}", _baseline_quote(g.name)
        else:
            event_id = f"baseline-{slug(g.id or g.name) or f'place-{i}'}"
            quote = f"{g.name}: baseline = {g.baseline!r}"
        out.append(
            Event(
                id=event_id,
                kind="baseline",
                place=g.name,
                actor=g.baseline,
                window=Window(as_of, as_of),
                reported_at=as_of,
                source=Source(atlas.source_file, quote),
                note=g.note,
            )
        )
    return out


def _baseline_quote(name: str) -> str:
    """The gazetteer line that states who held ``name``'s capital on 26 Nov 2024."""
    text = gazetteer.raw_text()
    m = re.compile(r'"controller_2024_11_26": "[a-z]+"').search(text, text.index(f'"name": "{name}"'))
    assert m is not None
    return m.group(0)


@dataclass(frozen=True)
class Record:
    """The curated seed record: settings plus every event, baseline first."""

    campaign_start: datetime
    published: dict[str, datetime]
    events: tuple[Event, ...]


@cache
def load_record() -> Record:
    """Parse and validate ``seeds/record.toml`` (packaged as ``control.seeds``)."""
    path = f"seeds/{RECORD_FILE}"
    source = TomlFile(path, record_text())
    data = source.data
    settings = data.get("record", {})
    campaign_start = parse_instant(settings["campaign_start"], f"{path}: campaign_start")
    as_of = gazetteer.builtin().baseline_as_of
    published = {s["file"]: parse_instant(s["published"], f"{path}: published") for s in data["source"]}
    baseline = baseline_events(as_of)
    zone = gazetteer.builtin().zone
    ctx = Context(campaign_start, published, {e.id: e for e in baseline}, baseline=as_of, zone=zone)
    with gazetteer.using(None):  # the seed record is about the built-in gazetteer's places
        events = build_events(source.items("event"), ctx, path, source)
    return Record(campaign_start, published, (*baseline, *events))

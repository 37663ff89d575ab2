"""ACLED exports as reports: one dated report per row about territory, diffed against the ledger.

Pure: rows (a CSV export's text), an actor mapping and the ACLED events already in the ledger go
in; the events to append (new reports, corrections of revised or deleted rows) and the rows
skipped (each with its line number and reason) come out. ``control import`` (control/cli/acled.py)
reads the files and appends the plan in one transaction.

Rules (README "Importing ACLED data"):

* Only rows whose ``sub_event_type`` concerns territory become reports; others are counted.
* Window: ``event_date`` and ``time_precision`` (1: that day, 2: that Monday-Sunday week, 3: that
  calendar month), in Syrian time (UTC+3), capped at the report time and clipped at the ledger's
  baseline; a window wholly before the baseline is skipped (listed), never silently dropped.
* Report time: ``timestamp`` (unix seconds: when ACLED published or last revised the row).
* New controller: "Government regains territory" -> the state actor's controller (the mapping's
  ``government`` if the row names none); "Non-state actor overtakes territory" -> the one
  non-state actor (by ``inter1``/``inter2``); "Non-violent transfer of territory" with one actor
  -> a handover to it. Where the row does not say who gained, a ``claim`` flagged for review.
* Place: ``location`` naming a place (name, alias, capital, p-code) -> about that place; else
  ``admin1``, else the nearest place within ``near_km`` -> ``scope = "area"`` (context: a town
  near a capital never changes the capital's control).
* Ids are ``acled-<event_id_cnty>-<hash of the row>``: the same row gives the same id, so a
  re-import adds nothing and a changed row adds a correction and its replacement.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from importlib.resources import files

from control.model import gazetteer
from control.model.errors import UserError
from control.model.events import Event, Source
from control.model.times import ERA_END, ERA_START, Window, iso, local_date_window

TERRITORY = (
    "Non-state actor overtakes territory",
    "Government regains territory",
    "Non-violent transfer of territory",
)
REQUIRED = (
    "event_id_cnty", "event_date", "time_precision", "sub_event_type", "actor1", "actor2",
    "inter1", "inter2", "admin1", "location", "latitude", "longitude", "notes", "timestamp",
)  # fmt: skip
#: The columns a row's id hashes: a change in any of them is a revision.
HASHED = (
    "event_id_cnty", "event_date", "time_precision", "event_type", "sub_event_type", "actor1",
    "actor2", "inter1", "inter2", "admin1", "admin2", "admin3", "location", "latitude", "longitude",
    "source", "notes", "timestamp",
)  # fmt: skip
DELETION_COLUMNS = ("event_id_cnty", "deleted_timestamp")
#: ACLED's interaction codes for state forces: numeric (older exports) or words (newer ones).
STATE = {"1", "state forces"}
PREFIX = "acled:"
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class ActorMap:
    """Actor names -> controllers (matched case-insensitively as a prefix or substring, the
    longest pattern winning), and the government side."""

    actors: tuple[tuple[str, str], ...]
    government: str = "government"

    def controller(self, actor: str) -> str | None:
        name = actor.casefold().strip()
        if not name:
            return None
        best: tuple[int, str] | None = None
        for pattern, controller in self.actors:
            if pattern.casefold() in name and (best is None or len(pattern) > best[0]):
                best = (len(pattern), controller)
        return best[1] if best else None


def default_mapping_text() -> str:
    return files("control.ingest").joinpath("acled_actors.toml").read_text("utf-8")


def load_mapping(text: str, where: str) -> ActorMap:
    """Parse an actor mapping (TOML: ``[settings] government = ...``, ``[actors] "name" = "ctrl"``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{where}: malformed TOML ({exc})") from None
    actors = data.get("actors")
    if not isinstance(actors, dict) or not actors:
        raise UserError(f'{where}: an [actors] table is required ("ACLED actor name" = "controller")')
    for key, value in actors.items():
        if not isinstance(value, str) or not value or not key.strip():
            raise UserError(f"{where}: actor {key!r}: the controller must be a non-empty string")
    settings = data.get("settings") or {}
    government = settings.get("government", "government") if isinstance(settings, dict) else None
    if not isinstance(government, str):
        raise UserError(f"{where}: [settings] government must be a controller name")
    return ActorMap(tuple(actors.items()), government)


@dataclass
class Skip:
    line: int
    event_id: str
    reason: str
    detail: str

    def text(self) -> str:
        return f"line {self.line}: {self.event_id or '(no id)'}: {self.reason}: {self.detail}"


@dataclass
class Plan:
    """What an import appends, and what it leaves."""

    events: list[Event] = field(default_factory=list)
    added: int = 0
    corrected: int = 0
    unchanged: int = 0
    skipped: list[Skip] = field(default_factory=list)
    #: ACLED ids live in the ledger but absent from this export (not retracted)
    missing: list[str] = field(default_factory=list)
    retracted_missing: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.skipped:
            out[s.reason] = out.get(s.reason, 0) + 1
        return dict(sorted(out.items()))


def read_rows(text: str, path: str, required: Sequence[str] = REQUIRED) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV export; a malformed file is one :class:`UserError`."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            raise UserError(f"{path}:1: no header row")
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise UserError(f"{path}:1: not an ACLED export: missing column(s) {', '.join(missing)}")
        rows = []
        start = reader.line_num + 1
        for record in reader:
            if any(cell.strip() for cell in record):
                if len(record) != len(header):
                    raise UserError(
                        f"{path}:{start}: {len(record)} fields where the header has {len(header)}"
                    )
                rows.append((start, dict(zip(header, record, strict=True))))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UserError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None
    return rows


def row_hash(row: Mapping[str, str]) -> str:
    content = "\x1f".join(f"{c}={(row.get(c) or '').strip()}" for c in HASHED)
    return hashlib.sha256(content.encode()).hexdigest()[:10]


def _event_day(text: str) -> date:
    raw = text.strip()
    for fmt in ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"event_date {text!r} is not a date (2024-12-05 or 05 December 2024)")


def window_of(event_date: str, precision: str, zone: tzinfo = UTC) -> Window:
    """The occurrence window an ACLED date and time precision give, the days being those of
    ``zone`` (the gazetteer's time zone)."""
    day = _event_day(event_date)
    level = precision.strip()
    if level == "1":
        first, last = day, day + timedelta(days=1)
    elif level == "2":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
    elif level == "3":
        first = day.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"time_precision {precision!r} is not 1, 2 or 3")

    return local_date_window(first, last - timedelta(days=1), zone)


def _instant(text: str, column: str) -> datetime:
    try:
        value = datetime.fromtimestamp(int(text.strip()), UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"{column} {text!r} is not unix seconds") from None
    if not ERA_START <= value < ERA_END:
        raise ValueError(f"{column} {text!r} is outside 1900-2099")
    return value


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, a)))


def _lookup(text: str) -> gazetteer.Governorate | None:
    if not text.strip():
        return None
    try:
        return gazetteer.resolve_place(text)
    except UserError:
        return None


def place_of(row: Mapping[str, str], near_km: float) -> tuple[gazetteer.Governorate, str, str]:
    """(place, scope, how it was found), or ValueError saying why none."""
    location, admin1 = row.get("location", ""), row.get("admin1", "")
    found = _lookup(location)
    if found is not None:
        return found, "city", f"location {location!r}"
    found = _lookup(admin1)
    if found is not None:
        return found, "area", f"admin1 {admin1!r} (location {location!r} is not the place itself: context)"
    try:
        lat, lon = float(row.get("latitude", "")), float(row.get("longitude", ""))
    except ValueError:
        lat = lon = math.nan
    if not math.isnan(lat) and not math.isnan(lon):
        best = min(
            ((_distance_km(lat, lon, p.lat, p.lon), p) for p in gazetteer.governorates()),
            key=lambda pair: pair[0],
            default=None,
        )
        if best is not None and best[0] <= near_km:
            return (
                best[1],
                "area",
                f"latitude/longitude {best[0]:.1f} km from {best[1].name} (location {location!r}: context)",
            )
    raise ValueError(
        f"no place named {location!r} (location) or {admin1!r} (admin1), and none within {near_km:g} km"
    )


def _is_state(inter: str) -> bool:
    return inter.strip().casefold() in STATE


def direction(row: Mapping[str, str], mapping: ActorMap) -> tuple[str, str, str | None, str]:
    """(kind, actor, previous, note) for a territorial row; ValueError('unknown actor: ...')."""
    sub = row["sub_event_type"].strip()
    a1, a2 = row.get("actor1", "").strip(), row.get("actor2", "").strip()
    i1, i2 = row.get("inter1", ""), row.get("inter2", "")
    actors = [(a, i) for a, i in ((a1, i1), (a2, i2)) if a]

    def ctrl(name: str) -> str:
        found = mapping.controller(name)
        if found is None:
            raise ValueError(f"unknown actor: {name!r} is not in the actor mapping")
        return found

    def other(gainer: str) -> str | None:
        rest = [mapping.controller(a) for a, _ in actors if a != gainer]
        return next((c for c in rest if c), None)

    gainer: str | None = None
    kind = "capture"
    if sub == "Government regains territory":
        state = [a for a, i in actors if _is_state(i)]
        if state:
            gainer = state[0]
        else:
            previous = other("")
            gov = mapping.government
            return (
                kind,
                gov,
                previous if previous != gov else None,
                f"government side ({gov}): no state actor named",
            )
    elif sub == "Non-state actor overtakes territory":
        non_state = [a for a, i in actors if not _is_state(i)]
        if len(non_state) == 1:
            gainer = non_state[0]
    elif sub == "Non-violent transfer of territory" and len(actors) == 1:
        gainer, kind = actors[0][0], "handover"
    if gainer is not None:
        actor = ctrl(gainer)
        previous = other(gainer)
        return kind, actor, previous if previous != actor else None, f"gained by actor {gainer!r}"
    mapped = [(a, mapping.controller(a)) for a, _ in actors]
    claimant = next(((a, c) for a, c in mapped if c), None)
    if claimant is None:
        names = ", ".join(repr(a) for a, _ in actors) or "(no actors)"
        raise ValueError(f"unknown actor: none of {names} is in the actor mapping")
    listed = ", ".join(f"{a!r} -> {c or '?'}" for a, c in mapped)
    return (
        "claim",
        claimant[1],
        None,
        f"REVIEW: the row does not say who gained ({sub}; {listed}): imported as a claim",
    )


def _id_ok(event_id: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", event_id))


def plan_import(
    rows: Iterable[tuple[int, dict[str, str]]],
    mapping: ActorMap,
    existing: Iterable[Event],
    baseline: datetime,
    now: datetime,
    near_km: float = 10.0,
    deletions: Iterable[tuple[int, dict[str, str]]] = (),
    retract_missing: bool = False,
) -> Plan:
    """Events to append for ``rows`` (and ``deletions``) given the ACLED ``existing`` events.

    ``retract_missing``: the file is a whole export of the same scope, so an ACLED id in the
    ledger that it no longer holds is retracted, as of the export's latest timestamp."""
    rows = list(rows)
    plan = Plan()
    known: dict[str, Event] = {e.id: e for e in existing}
    retracted = {t for e in known.values() if e.kind == "correction" for t in e.targets}
    live: dict[str, list[Event]] = {}
    for e in known.values():
        if e.kind != "correction" and e.id not in retracted and e.source.file.startswith(PREFIX):
            live.setdefault(e.source.file.removeprefix(PREFIX), []).append(e)
    controllers = gazetteer.controllers()
    zone = gazetteer.current().zone  # ACLED's dates are days of the places' time zone
    seen: dict[str, int] = {}

    def skip(line: int, eid: str, reason: str, detail: str) -> None:
        plan.skipped.append(Skip(line, eid, reason, detail))

    def retract(line: int, eid: str, at: datetime, quote: str, why: str, fix_id: str) -> None:
        targets = live.get(eid, [])
        if fix_id in known:
            plan.unchanged += 1
            return
        late = [t for t in targets if t.reported_at > at]
        if late:
            skip(
                line,
                eid,
                "older than the ledger's version",
                f"{iso(at)} is before {late[0].id}'s report time",
            )
            return
        for target in targets:
            fix = Event(
                id=fix_id if len(targets) == 1 else f"{fix_id}-{target.id.rsplit('-', 1)[-1]}",
                kind="correction",
                place=target.place,
                window=Window(at, at),
                reported_at=at,
                source=Source(f"{PREFIX}{eid}", quote),
                targets=(target.id,),
                scope=target.scope,
                note=why,
            )
            plan.events.append(fix)
            known[fix.id] = fix
            plan.corrected += 1
        live[eid] = []

    for line, row in rows:
        eid = row.get("event_id_cnty", "").strip()
        if not eid or not _id_ok(eid):
            skip(line, eid, "bad event_id_cnty", f"{eid!r} is not an ACLED id")
            continue
        if eid in seen:
            skip(line, eid, "duplicate event_id_cnty", f"also on line {seen[eid]}")
            continue
        seen[eid] = line
        try:
            reported_at = _instant(row.get("timestamp", ""), "timestamp")
        except ValueError as exc:
            skip(line, eid, "bad timestamp", str(exc))
            continue
        event_id = f"acled-{eid}-{row_hash(row)}"
        sub = row.get("sub_event_type", "").strip()
        quote = row.get("notes", "").strip() or "(no notes)"
        if sub not in TERRITORY:
            if live.get(eid):  # revised into a row about something else: the old report is withdrawn
                why = f"ACLED revised {eid} (timestamp) to sub_event_type {sub!r}: not about territory"
                retract(line, eid, reported_at, quote, why, f"{event_id}-fix")
            skip(line, eid, "not about territory", sub or "(empty sub_event_type)")
            continue
        if event_id in known:
            if event_id in retracted:
                skip(
                    line, eid, "retracted earlier", f"{event_id} was corrected or deleted; it stays retracted"
                )
            else:
                plan.unchanged += 1
            continue
        try:
            window = window_of(row.get("event_date", ""), row.get("time_precision", ""), zone)
        except ValueError as exc:
            skip(line, eid, "bad date", str(exc))
            continue
        if reported_at < baseline:
            skip(line, eid, "before the baseline", f"timestamp {iso(reported_at)} is before {iso(baseline)}")
            continue
        if reported_at > now + FUTURE_SLACK:
            skip(line, eid, "in the future", f"timestamp {iso(reported_at)} is more than a day ahead")
            continue
        if window.earliest > reported_at:
            skip(line, eid, "bad date", f"event_date after its timestamp {iso(reported_at)}")
            continue
        window = Window(window.earliest, min(window.latest, reported_at))
        if window.latest < baseline or (window.latest == baseline and window.earliest < baseline):
            skip(
                line, eid, "before the baseline",
                f"window {iso(window.earliest)}..{iso(window.latest)} ends before the ledger's baseline "
                f"{iso(baseline)}",
            )  # fmt: skip
            continue
        if window.earliest < baseline:
            window = Window(baseline, window.latest)
        try:
            place, scope, where = place_of(row, near_km)
        except ValueError as exc:
            skip(line, eid, "unknown place", str(exc))
            continue
        try:
            kind, actor, previous, how = direction(row, mapping)
        except ValueError as exc:
            skip(line, eid, "unknown actor", str(exc).removeprefix("unknown actor: "))
            continue
        bad = [c for c in (actor, previous) if c and c not in controllers]
        if bad:
            skip(
                line,
                eid,
                "unknown controller",
                f"the mapping gives {bad[0]!r}, not a controller of this ledger",
            )
            continue
        note = (
            f"ACLED {eid} ({sub}): {how}; place from {where}; window from event_date "
            f"{row.get('event_date', '').strip()!r}, time_precision {row.get('time_precision', '').strip()}; "
            f"report time = timestamp; quote = notes; source: {row.get('source', '').strip() or '(none)'}"
        )
        if live.get(eid):
            why = f"ACLED revised {eid}: replaced by {event_id}"
            retract(line, eid, reported_at, quote, why, f"{event_id}-fix")
            if live.get(eid):  # the revision was older: nothing replaced
                continue
        event = Event(
            id=event_id,
            kind=kind,
            place=place.name,
            window=window,
            reported_at=reported_at,
            source=Source(f"{PREFIX}{eid}", quote),
            actor=actor,
            previous=previous,
            scope=scope,
            note=note,
        )
        plan.events.append(event)
        known[event.id] = event
        live[eid] = [event]
        plan.added += 1

    for line, row in deletions:
        eid = row.get("event_id_cnty", "").strip()
        if not live.get(eid):
            if any(e.source.file == f"{PREFIX}{eid}" for e in known.values()):
                plan.unchanged += 1
            else:
                skip(line, eid, "deletion of a row not in the ledger", "nothing to retract")
            continue
        try:
            at = _instant(row.get("deleted_timestamp", ""), "deleted_timestamp")
        except ValueError as exc:
            skip(line, eid, "bad timestamp", str(exc))
            continue
        fix_id = f"acled-{eid}-deleted-{int(at.timestamp())}"
        retract(line, eid, at, f"deleted_timestamp {row.get('deleted_timestamp', '').strip()}",
                f"ACLED deleted {eid} (deletions list)", fix_id)  # fmt: skip

    plan.missing = sorted(eid for eid, events in live.items() if events and eid not in seen)
    if retract_missing and plan.missing:
        stamps = []
        for _, row in rows:
            try:
                stamps.append(_instant(row.get("timestamp", ""), "timestamp"))
            except ValueError:
                continue
        at = max(stamps, default=now)
        for eid in plan.missing:
            retract(0, eid, at, "absent from a revised export of the same scope",
                    f"ACLED {eid} is no longer in the export (--retract-missing)",
                    f"acled-{eid}-missing-{int(at.timestamp())}")  # fmt: skip
        plan.retracted_missing = list(plan.missing)
        plan.missing = []
    return plan

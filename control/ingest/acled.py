"""ACLED exports as reports: one dated report per row about territory, diffed against the ledger.

The planning is pure: rows (streamed from a CSV export), an actor mapping and the ACLED reports
already in the ledger go in; the events to append (new reports, corrections of revised or
deleted rows) and the rows skipped (each with its line number and reason) come out, one event at
a time, so an export of a million rows is planned in bounded memory. ``control import``
(control/cli/acled.py) checks the whole file first (:func:`check_file`: a malformed file writes
nothing), then appends the plan in batches.

Rules (README "Importing ACLED data"):

* Only rows whose ``sub_event_type`` concerns territory become reports; others are counted.
* Report time: ``timestamp`` (unix seconds: when ACLED published or last revised the row), within
  the bounds ``add`` puts on report times (not before the ledger's baseline, at most a day after
  the writer's clock): a row outside them is skipped, and never dates a correction.
* Window: ``event_date`` and ``time_precision`` (1: that day, 2: that Monday-Sunday week, 3: that
  calendar month), in the zone :data:`ZONE` (one parameter, ``zone``), capped at the report
  time and clipped at the ledger's baseline; a window wholly before the baseline is skipped.
* New controller: "Government regains territory" -> the state actor's controller (the mapping's
  ``government`` if the row names none); "Non-state actor overtakes territory" -> the one
  non-state actor (by ``inter1``/``inter2``); "Non-violent transfer of territory" with one actor
  -> a handover to it. Where the row does not say who gained, a ``claim`` flagged for review.
  Actor names match the mapping after normalising case, spaces, hyphens, apostrophes and
  diacritics; an actor the mapping does not name falls back on its ``inter`` code's entry.
* Place: ``location`` naming a place (name, alias, capital, p-code) -> about that place; else
  ``admin1``, else the nearest place within ``near_km`` -> ``scope = "area"`` (context: a town
  near a capital never changes the capital's control). Coordinates outside the globe skip the row.
* Ids are ``acled-<event_id_cnty>-<hash of the row>``: the same row gives the same id, so a
  re-import adds nothing and a changed row adds a correction and its replacement.

Long: one importer, in one place: the CSV reader (streamed, checked line by line), the actor
mapping and its normalised names, the place and window rules, and the planner diffing rows
against the ledger; they share the row's vocabulary and split would only pass it around.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import stat
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from control.ingest.record import report_time_error
from control.model import gazetteer
from control.model.errors import UserError
from control.model.events import Event, Source
from control.model.text import shown  # a value quoted in a message: at most ~200 characters
from control.model.times import ERA_END, ERA_START, Window, iso, local_date_window, parse_instant

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
#: Every column of an ACLED export, in its order (what a full export holds; REQUIRED are read).
EXPORT_COLUMNS = (
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "iso", "region", "country", "admin1", "admin2", "admin3", "location", "latitude",
    "longitude", "geo_precision", "source", "source_scale", "notes", "fatalities", "tags", "timestamp",
)  # fmt: skip
#: ACLED's interaction codes (``inter1``/``inter2``): numeric in older exports, words in newer ones.
INTER_CODES = {
    "1": "state forces", "2": "rebel group", "3": "political militia", "4": "identity militia",
    "5": "rioters", "6": "protesters", "7": "civilians", "8": "external other forces",
}  # fmt: skip
STATE = "1"
PREFIX = "acled:"
#: The zone ACLED's ``event_date`` is read in when none is given: callers pass the gazetteer's
#: time zone (a row's date is a local day of the places it is about).
ZONE: tzinfo = UTC
#: Skipped rows kept for listing (all are counted): a huge export cannot fill memory with them.
MAX_LISTED = 10_000


# --- actor names and the mapping -----------------------------------------------------------------

_APOSTROPHES = str.maketrans("", "", "'`\u00b4\u2018\u2019\u02b9\u02bb\u02bc\u02be\u02bf\u2032")
_NOT_WORD = re.compile(r"[\W_]+")


def normal_name(name: str) -> str:
    """An actor name as matched: case, diacritics and apostrophes dropped, hyphens, punctuation
    and runs of spaces made one space ("Hay'at Tahrir al-Sham" -> "hayat tahrir al sham")."""
    text = unicodedata.normalize("NFKD", name.translate(_APOSTROPHES))
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_APOSTROPHES)
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


@lru_cache(maxsize=4096)
def inter_code(text: str) -> str | None:
    """ACLED's interaction code of an ``inter1``/``inter2`` cell ("1" or "State forces"), or None."""
    key = normal_name(text)
    if key in INTER_CODES:
        return key
    for code, words in INTER_CODES.items():
        if key and (key == words or key.rstrip("s") == words.rstrip("s")):
            return code
    return None


@dataclass(frozen=True)
class InterRule:
    """The controller of actors with one ``inter`` code the mapping does not name: ``before``
    until ``switch`` (a row's ``event_date``), ``after`` from then on (or ``before`` always)."""

    before: str
    switch: date | None = None
    after: str | None = None

    def controller(self, day: date | None) -> str:
        if self.switch is not None and self.after is not None and day is not None and day >= self.switch:
            return self.after
        return self.before


@dataclass(frozen=True)
class ActorMap:
    """Actor names -> controllers, and the government side.

    A name matches an actor when its words occur in the actor's, in order, after
    :func:`normal_name` (so "Syrian National Army" matches "Syrian National Army - Sultan Murad
    Division"); the longest name wins. An actor no name matches falls back on ``inter``: its
    ``inter1``/``inter2`` code's rule."""

    actors: tuple[tuple[str, str], ...]
    government: str = "government"
    inter: tuple[tuple[str, InterRule], ...] = ()
    _patterns: tuple[tuple[str, int, str], ...] = field(default=(), init=False, compare=False, repr=False)
    _memo: dict[str, str | None] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        patterns = [(f" {normal_name(name)} ", -i, ctrl) for i, (name, ctrl) in enumerate(self.actors)]
        patterns = [p for p in patterns if p[0].strip()]
        patterns.sort(key=lambda p: (len(p[0]), p[1]), reverse=True)  # longest first, then file order
        object.__setattr__(self, "_patterns", tuple(patterns))

    def named(self, actor: str) -> str | None:
        """The controller the mapping names ``actor``'s, or None."""
        found = self._memo.get(actor, False)
        if found is not False:
            return found  # type: ignore[return-value]
        name = f" {normal_name(actor)} "
        found = (
            next((ctrl for pattern, _, ctrl in self._patterns if pattern in name), None)
            if name.strip()
            else None
        )
        if len(self._memo) < 100_000:
            self._memo[actor] = found
        return found

    def controller(self, actor: str, inter: str = "", day: date | None = None) -> str | None:
        """``actor``'s controller: by name, else by its ``inter`` code on ``day``, else None."""
        if not actor.strip():
            return None
        found = self.named(actor)
        if found is None and self.inter and inter:
            code = inter_code(inter)
            rule = next((r for c, r in self.inter if c == code), None)
            if rule is not None:
                return rule.controller(day)
        return found


def default_mapping_text() -> str:
    return files("control.ingest").joinpath("acled_actors.toml").read_text("utf-8")


def _inter_rules(table: object, where: str) -> tuple[tuple[str, InterRule], ...]:
    if table is None:
        return ()
    if not isinstance(table, dict):
        raise UserError(f'{where}: [inter] must be a table ("state forces" = "controller")')
    rules = []
    for key, value in table.items():
        code = inter_code(key)
        if code is None:
            raise UserError(
                f"{where}: [inter] {shown(key)} is not an ACLED interaction code (1-8, or words such "
                "as 'State forces', 'Rebel group')"
            )
        if isinstance(value, str) and value:
            rules.append((code, InterRule(value)))
            continue
        if not isinstance(value, dict) or set(value) - {"before", "switch", "after"}:
            raise UserError(
                f'{where}: [inter] {shown(key)}: give a controller, or {{ before = "a", switch = '
                '2024-12-08, after = "b" }'
            )
        before, after, switch = value.get("before"), value.get("after"), value.get("switch")
        if not isinstance(before, str) or not before or not isinstance(after, str) or not after:
            raise UserError(f"{where}: [inter] {shown(key)}: before and after must be controller names")
        if isinstance(switch, str):
            try:
                switch = date.fromisoformat(switch.strip())
            except ValueError:
                switch = None
        if isinstance(switch, datetime) or not isinstance(switch, date):
            raise UserError(f"{where}: [inter] {shown(key)}: switch must be a date (2024-12-08)")
        if not ERA_START.year <= switch.year < ERA_END.year:
            raise UserError(f"{where}: [inter] {shown(key)}: switch {switch} is outside 1900-2099")
        rules.append((code, InterRule(before, switch, after)))
    return tuple(rules)


def load_mapping(text: str, where: str) -> ActorMap:
    """Parse an actor mapping: TOML with ``[settings] government = ...``, ``[actors] "name" =
    "controller"`` and optionally ``[inter] "state forces" = "controller"`` (or ``{ before =
    "a", switch = 2024-12-08, after = "b" }``), the fallback by ACLED's interaction code."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{where}: malformed TOML ({exc})") from None
    actors = data.get("actors")
    if not isinstance(actors, dict) or not actors:
        raise UserError(f'{where}: an [actors] table is required ("ACLED actor name" = "controller")')
    for key, value in actors.items():
        if not isinstance(value, str) or not value or not normal_name(key):
            raise UserError(
                f"{where}: actor {shown(key)}: the controller must be a non-empty string (fill in "
                "a controller of the ledger, or delete the line)"
            )
    settings = data.get("settings") or {}
    government = settings.get("government", "government") if isinstance(settings, dict) else None
    if not isinstance(government, str):
        raise UserError(f"{where}: [settings] government must be a controller name")
    return ActorMap(tuple(actors.items()), government, _inter_rules(data.get("inter"), where))


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL is the one control JSON leaves raw)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def suggested_mapping(mapping: ActorMap, unknown: Mapping[str, int], inters: Mapping[str, str]) -> str:
    """A mapping in :func:`load_mapping`'s format: ``mapping``'s lines, then every actor of
    ``unknown`` (name -> rows) with an empty controller to fill in, most rows first."""
    lines = [
        "# Actor mapping for `control import --mapping`, suggested by `control import --suggest-mapping`.",
        "# Fill in a controller of the ledger for each actor under TO FILL IN (or delete its line):",
        "# the import refuses this file while a controller is empty.",
        "",
        "[settings]",
        f"government = {_toml_string(mapping.government)}",
        "",
        "[actors]",
    ]
    lines += [f"{_toml_string(name)} = {_toml_string(ctrl)}" for name, ctrl in mapping.actors]
    lines += ["", f"# TO FILL IN: {len(unknown)} actor(s) the mapping does not name (rows skipped)"]
    for name, count in sorted(unknown.items(), key=lambda item: (-item[1], item[0])):
        inter = inters.get(name, "")
        about = f", inter {inter.strip()}" if inter.strip() else ""
        lines.append(f'{_toml_string(name)} = ""  # {count} row(s){about}'.replace("\n", " "))
    if mapping.inter:
        lines += ["", "[inter]"]
        for code, rule in mapping.inter:
            key = _toml_string(INTER_CODES[code])
            if rule.switch is None or rule.after is None:
                lines.append(f"{key} = {_toml_string(rule.before)}")
            else:
                lines.append(
                    f"{key} = {{ before = {_toml_string(rule.before)}, switch = {rule.switch.isoformat()}, "
                    f"after = {_toml_string(rule.after)} }}"
                )
    return "\n".join(lines) + "\n"


# --- reading files --------------------------------------------------------------------------------


def _open_checked(path: Path | str, label: str) -> Any:
    """``path`` opened for binary reading if it is a non-empty regular file, else a UserError."""
    name = str(path)
    where = name if label == name else f"{label}: {name!r}"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"{where}: the file does not exist; check the name") from None
    except OSError as exc:
        raise UserError(f"{where}: the file cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{where}: is a folder; give a CSV file")
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{where}: is not a regular file (a device or pipe); give a CSV file")
    if info.st_size == 0:
        raise UserError(f"{where}: the file is empty; give an ACLED export (CSV)")
    try:
        return open(path, "rb")  # closed by the generator that reads it
    except OSError as exc:
        raise UserError(f"{where}: the file cannot be read ({exc.strerror})") from None


def _lines(path: Path | str, label: str, progress: Callable[[int], None] | None) -> Iterator[str]:
    """The UTF-8 text lines of ``path`` (endings kept), checked one by one: a NUL byte or bytes
    that are not UTF-8 are a UserError naming ``path:line``. ``progress``: bytes read, now and
    then."""
    handle = _open_checked(path, label)
    with handle:
        pending = 0
        for number, raw in enumerate(handle, 1):
            if b"\0" in raw:
                raise UserError(f"{path}:{number}: a binary file (NUL byte), not text; give a UTF-8 CSV file")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(
                    f"{path}:{number}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8"
                ) from None
            if number == 1:
                text = text.removeprefix("\ufeff")
            if progress is not None:
                pending += len(raw)
                if pending >= 1 << 20:
                    progress(pending)
                    pending = 0
            yield text
        if progress is not None and pending:
            progress(pending)


def read_rows(
    path: Path | str,
    label: str | None = None,
    required: Sequence[str] = REQUIRED,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV export, streamed; a malformed file is one :class:`UserError`
    naming ``path:line`` (raised when the reader reaches it: :func:`check_file` reads it all)."""
    label = label or str(path)
    lines = _lines(path, label, progress)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise UserError(f"{path}:1: no header row")
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise UserError(f"{path}:1: not an ACLED export: missing column(s) {', '.join(missing)}")
        width = len(header)
        start = reader.line_num + 1
        for record in reader:
            if len(record) != width:
                if not any(cell.strip() for cell in record):
                    start = reader.line_num + 1
                    continue
                raise UserError(f"{path}:{start}: {len(record)} fields where the header has {width}")
            yield start, dict(zip(header, record, strict=True))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UserError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None


def check_file(
    path: Path | str,
    label: str | None = None,
    required: Sequence[str] = REQUIRED,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Read the whole export once, keeping nothing: the number of its rows, or the
    :class:`UserError` of its first malformed line (so an import writes nothing from a bad file)."""
    count = 0
    for _ in read_rows(path, label, required, progress):
        count += 1
    return count


# --- rows -> reports ---------------------------------------------------------------------------------


def row_hash(row: Mapping[str, str]) -> str:
    content = "\x1f".join(f"{c}={(row.get(c) or '').strip()}" for c in HASHED)
    return hashlib.sha256(content.encode()).hexdigest()[:10]


@lru_cache(maxsize=65536)
def _event_day(text: str) -> date:
    raw = text.strip()
    for fmt in ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%d/%m/%Y"):
        try:
            day = datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
        if not ERA_START.year <= day.year < ERA_END.year:
            raise ValueError(f"event_date {shown(text)} is outside the years 1900-2099")
        return day
    raise ValueError(f"event_date {shown(text)} is not a date (2024-12-05 or 05 December 2024)")


@lru_cache(maxsize=65536)
def window_of(event_date: str, precision: str, zone: tzinfo = ZONE) -> Window:
    """The occurrence window an ACLED date and time precision give, in ``zone``."""
    day = _event_day(event_date)
    level = str(precision).strip()
    if level == "1":
        first, last = day, day + timedelta(days=1)
    elif level == "2":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
    elif level == "3":
        first = day.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"time_precision {shown(str(precision))} is not 1, 2 or 3")

    try:
        return local_date_window(first, last - timedelta(days=1), zone)
    except OverflowError:  # 1900-01-01 in a zone east of UTC
        raise ValueError(f"event_date {shown(event_date)} is outside the years 1900-2099") from None


def _instant(text: str, column: str) -> datetime:
    try:
        value = datetime.fromtimestamp(int(text.strip()), UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"{column} {shown(text)} is not unix seconds") from None
    if not ERA_START <= value < ERA_END:
        raise ValueError(f"{column} {shown(text)} is outside 1900-2099")
    return value


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, a)))


def coordinates(row: Mapping[str, str]) -> tuple[float, float] | None:
    """The row's (latitude, longitude), None if both are blank; ValueError if either is not a
    finite number on the globe (latitude -90..90, longitude -180..180)."""
    raw_lat, raw_lon = (row.get("latitude") or "").strip(), (row.get("longitude") or "").strip()
    if not raw_lat and not raw_lon:
        return None
    try:
        lat, lon = float(raw_lat), float(raw_lon)
    except ValueError:
        raise ValueError(f"latitude {shown(raw_lat)}, longitude {shown(raw_lon)}: not numbers") from None
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise ValueError(f"latitude {shown(raw_lat)} is not between -90 and 90")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise ValueError(f"longitude {shown(raw_lon)} is not between -180 and 180")
    return lat, lon


def _lookup(text: str) -> gazetteer.Governorate | None:
    if not text.strip():
        return None
    try:
        return gazetteer.resolve_place(text)
    except UserError:
        return None


def place_of(
    row: Mapping[str, str],
    near_km: float,
    lookup: Callable[[str], gazetteer.Governorate | None] = _lookup,
) -> tuple[gazetteer.Governorate, str, str]:
    """(place, scope, how it was found), or ValueError saying why none. ``lookup``: a place by
    name, alias or p-code (a memo of :func:`_lookup`, for a whole export)."""
    location, admin1 = row.get("location", ""), row.get("admin1", "")
    found = lookup(location)
    if found is not None:
        return found, "city", f"location {location!r}"
    found = lookup(admin1)
    if found is not None:
        return found, "area", f"admin1 {admin1!r} (location {location!r} is not the place itself: context)"
    point = coordinates(row)
    if point is not None:
        lat, lon = point
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
        f"no place named {shown(location)} (location) or {shown(admin1)} (admin1), and none within "
        f"{near_km:g} km"
    )


class UnknownActor(ValueError):
    """A row whose gaining actor (or every actor) the mapping does not name."""

    def __init__(self, message: str, actors: Sequence[tuple[str, str]]) -> None:
        super().__init__(message)
        self.actors = tuple(actors)  # (name, inter)


def _is_state(inter: str) -> bool:
    return inter_code(inter) == STATE


def direction(
    row: Mapping[str, str], mapping: ActorMap, day: date | None = None
) -> tuple[str, str, str | None, str]:
    """(kind, actor, previous, note) for a territorial row; :class:`UnknownActor` if the mapping
    names no controller for the actor that gained (or for any, when the row does not say).
    ``day``: the row's date, for the mapping's ``inter`` rules that switch at a date."""
    sub = row["sub_event_type"].strip()
    a1, a2 = row.get("actor1", "").strip(), row.get("actor2", "").strip()
    i1, i2 = row.get("inter1", ""), row.get("inter2", "")
    actors = [(a, i) for a, i in ((a1, i1), (a2, i2)) if a]

    def ctrl(name: str, inter: str) -> str:
        found = mapping.controller(name, inter, day)
        if found is None:
            raise UnknownActor(f"unknown actor: {shown(name)} is not in the actor mapping", [(name, inter)])
        return found

    def other(gainer: str) -> str | None:
        rest = [mapping.controller(a, i, day) for a, i in actors if a != gainer]
        return next((c for c in rest if c), None)

    gainer: tuple[str, str] | None = None
    kind = "capture"
    if sub == "Government regains territory":
        state = [(a, i) for a, i in actors if _is_state(i)]
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
        non_state = [(a, i) for a, i in actors if not _is_state(i)]
        if len(non_state) == 1:
            gainer = non_state[0]
    elif sub == "Non-violent transfer of territory" and len(actors) == 1:
        gainer, kind = actors[0], "handover"
    if gainer is not None:
        actor = ctrl(*gainer)
        previous = other(gainer[0])
        how = "by name" if mapping.named(gainer[0]) else f"by inter {gainer[1].strip()!r}"
        return kind, actor, previous if previous != actor else None, f"gained by actor {gainer[0]!r} ({how})"
    mapped = [(a, mapping.controller(a, i, day)) for a, i in actors]
    claimant = next(((a, c) for a, c in mapped if c), None)
    if claimant is None:
        names = ", ".join(shown(a) for a, _ in actors) or "(no actors)"
        raise UnknownActor(f"unknown actor: none of {names} is in the actor mapping", actors)
    listed = ", ".join(f"{a!r} -> {c or '?'}" for a, c in mapped)
    return (
        "claim",
        claimant[1],
        None,
        f"REVIEW: the row does not say who gained ({sub}; {listed}): imported as a claim",
    )


def _id_ok(event_id: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", event_id)) and len(event_id) <= 100


# --- the plan -------------------------------------------------------------------------------------


@dataclass
class Skip:
    line: int
    event_id: str
    reason: str
    detail: str
    where: str = ""  # a file other than the export (the deletions list)

    def text(self) -> str:
        at = f"{self.where} line {self.line}" if self.where else f"line {self.line}"
        name = shown(self.event_id)[1:-1] if self.event_id else "(no id)"
        return f"{at}: {name}: {self.reason}: {self.detail}"


class Known(tuple):
    """A report already in the ledger, as the import needs it: (id, kind, place, scope,
    reported_at, ACLED id, targets)."""

    __slots__ = ()

    @classmethod
    def of(cls, event: Event) -> Known:
        return cls((event.id, event.kind, event.place, event.scope, event.reported_at,
                    event.source.file.removeprefix(PREFIX), tuple(event.targets)))  # fmt: skip

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> Known:
        """From a stored report's JSON (the read model's ``report`` column)."""
        return cls((report["id"], report["kind"], report["place"], report.get("scope") or "city",
                    parse_instant(report["reported_at"]), str(report["file"]).removeprefix(PREFIX),
                    tuple(report.get("targets") or ())))  # fmt: skip


@dataclass
class Plan:
    """What an import appends, and what it leaves."""

    events: list[Event] = field(default_factory=list)
    added: int = 0
    corrected: int = 0
    unchanged: int = 0
    #: the skipped rows listed (at most MAX_LISTED; rows "not about territory" are only counted)
    skipped: list[Skip] = field(default_factory=list)
    skip_counts: Counter[str] = field(default_factory=Counter)
    #: actor names the mapping does not name -> rows skipped for them; their inter codes
    unknown_actors: Counter[str] = field(default_factory=Counter)
    unknown_inter: dict[str, str] = field(default_factory=dict)
    #: territorial rows read, and those accepted (added, unchanged or replacing a version)
    territorial: int = 0
    accepted: int = 0
    #: reports added as claims for review (the row does not say who gained)
    claims: int = 0
    #: the latest report time of an accepted row: what dates --retract-missing's corrections
    latest_accepted: datetime | None = None
    #: ACLED ids live in the ledger but absent from this export (not retracted)
    missing: list[str] = field(default_factory=list)
    retracted_missing: list[str] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skip_counts.values())

    def counts(self) -> dict[str, int]:
        return dict(sorted(self.skip_counts.items()))

    def imported_nothing_for_actors(self) -> bool:
        """True if the import did nothing (added, corrected or found unchanged), and rows about
        territory were skipped for want of an actor in the mapping: the mapping is what to fix."""
        return (
            not (self.added or self.corrected or self.unchanged)
            and bool(self.unknown_actors)
            and self.skip_counts["unknown actor"] > 0
        )


class Importer:
    """Plans an import row by row (see the module's rules): :meth:`rows`, then :meth:`deletions`,
    then :meth:`finish` yield the events to append; :attr:`plan` counts and lists the rest.

    ``existing``: the ACLED reports in the ledger (and their corrections); ``now``: the writer's
    clock (report times may be at most a day after it); ``zone``: where ACLED's dates are read."""

    def __init__(
        self,
        mapping: ActorMap,
        existing: Iterable[Known],
        baseline: datetime,
        now: datetime,
        near_km: float = 10.0,
        retract_missing: bool = False,
        zone: tzinfo = ZONE,
        deleting: Iterable[str] | None = None,
    ) -> None:
        self.mapping, self.baseline, self.now = mapping, baseline, now
        #: the ACLED ids the deletions list names (None: any): the reports this import adds are
        #: remembered only for them, so a million-row import keeps no per-report state but ``seen``
        self.deleting = None if deleting is None else set(deleting)
        self.near_km, self.retract_missing, self.zone = near_km, retract_missing, zone
        self.plan = Plan()
        self.controllers = gazetteer.controllers()
        self.known: set[str] = set()
        self.retracted: set[str] = set()
        self.ever: set[str] = set()  # ACLED ids the ledger has held
        self.live: dict[str, list[Known]] = {}
        reports = []
        for k in existing:
            self.known.add(k[0])
            if k[1] == "correction":
                self.retracted.update(k[6])
            else:
                reports.append(k)
        for k in reports:
            self.ever.add(k[5])
            if k[0] not in self.retracted:
                self.live.setdefault(k[5], []).append(k)
        self.seen: dict[str, int] = {}
        self._places: dict[tuple[str, str, str, str], tuple[Any, str, str] | str] = {}
        self._names: dict[str, gazetteer.Governorate | None] = {}

    def skip(self, line: int, eid: str, reason: str, detail: str, where: str = "") -> None:
        self.plan.skip_counts[reason] += 1
        if reason != "not about territory" and len(self.plan.skipped) < MAX_LISTED:
            self.plan.skipped.append(Skip(line, eid, reason, detail, where))

    def _retract(
        self, line: int, eid: str, at: datetime, quote: str, why: str, fix_id: str, where: str = ""
    ) -> list[Event]:
        targets = self.live.get(eid, [])
        if fix_id in self.known:
            self.plan.unchanged += 1
            return []
        late = [t for t in targets if t[4] > at]
        if late:
            self.skip(line, eid, "older than the ledger's version",
                      f"{iso(at)} is before {late[0][0]}'s report time", where)  # fmt: skip
            return []
        out = []
        for target in targets:
            fix = Event(
                id=fix_id if len(targets) == 1 else f"{fix_id}-{target[0].rsplit('-', 1)[-1]}",
                kind="correction",
                place=target[2],
                window=Window(at, at),
                reported_at=at,
                source=Source(f"{PREFIX}{eid}", quote),
                targets=(target[0],),
                scope=target[3],
                note=why,
            )
            out.append(fix)
            self.known.add(fix.id)
            self.plan.corrected += 1
        self.live[eid] = []
        return out

    def _accept(self, reported_at: datetime) -> None:
        self.plan.accepted += 1
        latest = self.plan.latest_accepted
        if latest is None or reported_at > latest:
            self.plan.latest_accepted = reported_at

    def _time(self, line: int, eid: str, text: str, column: str, where: str = "") -> datetime | None:
        """The report time a cell gives, or None (the row skipped) if it is not one or lies
        outside the bounds of ``add``."""
        try:
            value = _instant(text, column)
        except ValueError as exc:
            self.skip(line, eid, "bad timestamp", str(exc), where)
            return None
        problem = report_time_error(value, self.baseline, self.now)
        if problem:
            reason = "before the baseline" if value < self.baseline else "in the future"
            self.skip(line, eid, reason, f"{column} {problem}", where)
            return None
        return value

    def _place(self, row: Mapping[str, str]) -> tuple[Any, str, str] | str:
        key = (
            row.get("location", ""),
            row.get("admin1", ""),
            row.get("latitude", ""),
            row.get("longitude", ""),
        )
        found = self._places.get(key)
        if found is None:
            try:
                found = place_of(row, self.near_km, self._lookup)
            except ValueError as exc:
                found = str(exc)
            if len(self._places) < 200_000:
                self._places[key] = found
        return found

    def _lookup(self, text: str) -> gazetteer.Governorate | None:
        if text not in self._names:
            if len(self._names) >= 100_000:
                self._names.clear()
            self._names[text] = _lookup(text)
        return self._names[text]

    def rows(self, rows: Iterable[tuple[int, Mapping[str, str]]]) -> Iterator[Event]:
        """The events the export's rows give, in order."""
        plan = self.plan
        for line, row in rows:
            eid = row.get("event_id_cnty", "").strip()
            if not eid or not _id_ok(eid):
                self.skip(line, eid, "bad event_id_cnty", f"{shown(eid)} is not an ACLED id")
                continue
            if eid in self.seen:
                self.skip(line, eid, "duplicate event_id_cnty", f"also on line {self.seen[eid]}")
                continue
            self.seen[eid] = line
            sub = row.get("sub_event_type", "").strip()
            territorial = sub in TERRITORY
            plan.territorial += territorial
            if not territorial and not self.live.get(eid):
                self.skip(line, eid, "not about territory", sub or "(empty sub_event_type)")
                continue
            reported_at = self._time(line, eid, row.get("timestamp", ""), "timestamp")
            if reported_at is None:
                continue
            event_id = f"acled-{eid}-{row_hash(row)}"
            quote = row.get("notes", "").strip() or "(no notes)"
            if not territorial:  # revised into a row about something else: the old report is withdrawn
                why = f"ACLED revised {eid} (timestamp) to sub_event_type {sub!r}: not about territory"
                yield from self._retract(line, eid, reported_at, quote, why, f"{event_id}-fix")
                self.skip(line, eid, "not about territory", sub or "(empty sub_event_type)")
                continue
            if event_id in self.known:
                if event_id in self.retracted:
                    self.skip(line, eid, "retracted earlier",
                              f"{event_id} was corrected or deleted; it stays retracted")  # fmt: skip
                else:
                    plan.unchanged += 1
                    self._accept(reported_at)
                continue
            event_date = row.get("event_date", "")
            try:
                window = window_of(event_date, row.get("time_precision", ""), self.zone)
                day = _event_day(event_date)
            except ValueError as exc:
                self.skip(line, eid, "bad date", str(exc))
                continue
            if window.earliest > reported_at:
                self.skip(line, eid, "bad date", f"event_date after its timestamp {iso(reported_at)}")
                continue
            window = Window(window.earliest, min(window.latest, reported_at))
            baseline = self.baseline
            if window.latest < baseline or (window.latest == baseline and window.earliest < baseline):
                self.skip(
                    line, eid, "before the baseline",
                    f"window {iso(window.earliest)}..{iso(window.latest)} ends before the ledger's "
                    f"baseline {iso(baseline)}",
                )  # fmt: skip
                continue
            if window.earliest < baseline:
                window = Window(baseline, window.latest)
            try:
                coordinates(row)
            except ValueError as exc:
                self.skip(line, eid, "bad coordinates", str(exc))
                continue
            found = self._place(row)
            if isinstance(found, str):
                self.skip(line, eid, "unknown place", found)
                continue
            place, scope, where = found
            try:
                kind, actor, previous, how = direction(row, self.mapping, day)
            except UnknownActor as exc:
                self.skip(line, eid, "unknown actor", str(exc).removeprefix("unknown actor: "))
                for name, inter in exc.actors:
                    plan.unknown_actors[name] += 1
                    if name not in plan.unknown_inter and len(plan.unknown_inter) < 100_000:
                        plan.unknown_inter[name] = inter
                continue
            bad = [c for c in (actor, previous) if c and c not in self.controllers]
            if bad:
                self.skip(line, eid, "unknown controller",
                          f"the mapping gives {shown(bad[0])}, not a controller of this ledger")  # fmt: skip
                continue
            note = (
                f"ACLED {eid} ({sub}): {how}; place from {where}; window from event_date "
                f"{event_date.strip()!r}, time_precision {row.get('time_precision', '').strip()}; "
                f"report time = timestamp; quote = notes; source: {row.get('source', '').strip() or '(none)'}"
            )
            if self.live.get(eid):
                why = f"ACLED revised {eid}: replaced by {event_id}"
                yield from self._retract(line, eid, reported_at, quote, why, f"{event_id}-fix")
                if self.live.get(eid):  # the revision was older: nothing replaced
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
            yield event  # its id is never asked again: the export names eid once (``seen``)
            if self.deleting is None or eid in self.deleting:
                self.live[eid] = [Known.of(event)]
            plan.added += 1
            plan.claims += kind == "claim"
            self._accept(reported_at)

    def deletions(self, rows: Iterable[tuple[int, Mapping[str, str]]], where: str = "") -> Iterator[Event]:
        """Corrections for ACLED's deletions list (``where``: its name, for the skipped rows)."""
        for line, row in rows:
            eid = row.get("event_id_cnty", "").strip()
            if not self.live.get(eid):
                if eid in self.ever:
                    self.plan.unchanged += 1
                else:
                    self.skip(line, eid, "deletion of a row not in the ledger", "nothing to retract", where)
                continue
            at = self._time(line, eid, row.get("deleted_timestamp", ""), "deleted_timestamp", where)
            if at is None:
                continue
            fix_id = f"acled-{eid}-deleted-{int(at.timestamp())}"
            quote = f"deleted_timestamp {row.get('deleted_timestamp', '').strip()}"
            why = f"ACLED deleted {eid} (deletions list)"
            yield from self._retract(line, eid, at, quote, why, fix_id, where)

    def finish(self) -> Iterator[Event]:
        """The ids the ledger holds and the export does not: listed, or retracted as of the latest
        report time among the rows this import accepted (``retract_missing``; the caller has
        checked :meth:`can_retract_missing`)."""
        plan = self.plan
        plan.missing = sorted(eid for eid, events in self.live.items() if events and eid not in self.seen)
        if not (self.retract_missing and plan.missing):
            return
        at = plan.latest_accepted
        if at is None:
            raise UserError("--retract-missing: no row of the export was accepted")  # checked before
        for eid in plan.missing:
            yield from self._retract(0, eid, at, "absent from a revised export of the same scope",
                                     f"ACLED {eid} is no longer in the export (--retract-missing)",
                                     f"acled-{eid}-missing-{int(at.timestamp())}")  # fmt: skip
        plan.retracted_missing = list(plan.missing)
        plan.missing = []

    def retract_missing_refusal(self, path: str) -> str | None:
        """Why ``--retract-missing`` cannot apply to this export, or None: it must hold at least
        one territorial row the import accepted (an export without one cannot be a whole export
        of the same scope, and only accepted rows may date the retractions)."""
        if self.plan.accepted:
            return None
        if not self.plan.territorial:
            return (
                f"--retract-missing: {path} holds no row about territory, so it cannot be a whole "
                "export of the same scope; nothing written (import it without --retract-missing)"
            )
        return (
            f"--retract-missing: none of the {self.plan.territorial} row(s) about territory in {path} "
            "was accepted (see `control import --dry-run`), so nothing dates the retractions; nothing written"
        )


def plan_import(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    mapping: ActorMap,
    existing: Iterable[Event],
    baseline: datetime,
    now: datetime,
    near_km: float = 10.0,
    deletions: Iterable[tuple[int, Mapping[str, str]]] = (),
    retract_missing: bool = False,
    zone: tzinfo = ZONE,
) -> Plan:
    """The whole plan in memory (for small exports and tests): the events to append for ``rows``
    (and ``deletions``) given the ACLED ``existing`` events. ``retract_missing``: the file is a
    whole export of the same scope, so an ACLED id in the ledger that it no longer holds is
    retracted, as of the latest report time among the rows accepted (a UserError if none was)."""
    importer = Importer(
        mapping, (Known.of(e) for e in existing), baseline, now, near_km, retract_missing, zone
    )
    events = importer.plan.events
    events.extend(importer.rows(rows))
    events.extend(importer.deletions(deletions))
    if retract_missing:
        refusal = importer.retract_missing_refusal("the export")
        if refusal:
            raise UserError(refusal)
    events.extend(importer.finish())
    return importer.plan

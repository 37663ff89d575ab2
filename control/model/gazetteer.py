"""The places a ledger covers, their names, and who held each when the record begins.

A gazetteer is data: the built-in one (Syria's 14 governorates and their capitals, as of 26 Nov
2024, from ``control/data/governorates.json``, whose "about" lines name the sources) or a file a
user supplies (TOML: ``[gazetteer]``, ``[controllers]`` and ``[[place]]`` tables; see
:func:`load_file`). A ledger is bound to its gazetteer by storing it (``control.store.ledger``); the
module-level functions below answer for the gazetteer *in use* (:func:`use`), the built-in one
unless a store says otherwise. This module resolves the many spellings the news uses to one
canonical place name, and knows the one setting analysts argue about: Rif Dimashq's seat.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from control.model.errors import UserError
from control.model.tomlfile import TomlFile

#: Rif Dimashq is administered from Damascus; its official seat is Douma. Counting it as Damascus
#: (the default) gives the "three of 14" of the reporting; "douma" counts Douma as its own city.
SEAT_SETTINGS = ("damascus", "douma")
DEFAULT_SEAT = "damascus"
GAZETTEER_FILE = "governorates.json"

#: The built-in controller vocabulary (a user gazetteer lists its own).
CONTROLLERS: dict[str, str] = {
    "government": "Syrian government (Syrian Arab Army)",
    "hts": "Hayat Tahrir al-Sham and allies (Military Operations Command)",
    "sna": "Turkish-backed Syrian National Army",
    "sdf": "Syrian Democratic Forces (Kurdish-led)",
    "southern": "Southern Operations Room (local ex-rebel factions of Daraa, Quneitra)",
    "druze": "Local Druze factions of As-Suwayda",
}
#: OCHA p-codes of Syria's governorates (OCHA Common Operational Dataset, admin level 1).
PCODES = {
    "Damascus": "SY01", "Aleppo": "SY02", "Rif Dimashq": "SY03", "Homs": "SY04", "Hama": "SY05",
    "Latakia": "SY06", "Idlib": "SY07", "Al-Hasakah": "SY08", "Deir ez-Zor": "SY09", "Tartus": "SY10",
    "Raqqa": "SY11", "Daraa": "SY12", "As-Suwayda": "SY13", "Quneitra": "SY14",
}  # fmt: skip
NAME_RE = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,120}")
CONTROLLER_RE = re.compile(r"[a-z][a-z0-9_-]{0,39}")


class Governorate(NamedTuple):
    """One place of a gazetteer (for the built-in one: a governorate and its capital city)."""

    name: str
    capital: str
    aliases: tuple[str, ...]
    lat: float
    lon: float
    baseline: str
    administered_from: str | None = None
    note: str = ""
    id: str = ""
    admin_level: int = 1
    parent: str = ""
    pcode: str = ""

    def seat(self, setting: str = DEFAULT_SEAT) -> str:
        """The capital city counted for this governorate under the Rif Dimashq ``setting``."""
        if self.administered_from and setting == "damascus":
            return self.administered_from
        return self.capital

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "capital": self.capital,
            "aliases": list(self.aliases),
            "lat": self.lat,
            "lon": self.lon,
            "baseline": self.baseline,
            "administered_from": self.administered_from,
            "note": self.note,
            "admin_level": self.admin_level,
            "parent": self.parent,
            "pcode": self.pcode,
        }


Place = Governorate


class Gazetteer:
    """A set of places, the controllers that may hold them, and the baseline instant."""

    def __init__(
        self,
        name: str,
        baseline_as_of: datetime,
        controllers: Mapping[str, str],
        places: tuple[Governorate, ...],
        builtin: bool = False,
        version: int = 1,
        about: str = "",
    ) -> None:
        self.name = name
        self.baseline_as_of = baseline_as_of
        self.controllers = dict(controllers)
        self.places = places
        self.builtin = builtin
        self.version = version
        self.about = about
        self._index: dict[str, Governorate] | None = None
        self._by_capital: dict[str, Governorate] | None = None
        self._by_name: dict[str, Governorate] | None = None

    @property
    def title(self) -> str:
        """What the places are, for headings."""
        if self.builtin:
            return f"Syria's {len(self.places)} provincial capitals"
        return f"the {len(self.places)} places of gazetteer {self.name!r}"

    @property
    def source_file(self) -> str:
        """The provenance ``file`` of baseline events."""
        return GAZETTEER_FILE if self.builtin else f"gazetteer:{self.name}"

    def index(self) -> dict[str, Governorate]:
        """Every label (name, capital, alias, p-code, id; case and accents folded) -> its place.
        A place's own name comes first: it is never taken by another place's capital."""
        if self._index is None:
            index: dict[str, Governorate] = {_key(g.name): g for g in reversed(self.places)}
            for g in self.places:
                for label in (g.capital, *g.aliases, g.pcode, g.id):
                    if label:
                        index.setdefault(_key(label), g)
            self._index = index
        return self._index

    def by_name(self) -> dict[str, Governorate]:
        """Exact name -> place (the cheap first try of :func:`resolve_place`), built once."""
        if self._by_name is None:
            self._by_name = {g.name: g for g in reversed(self.places)}
        return self._by_name

    def by_capital(self) -> dict[str, Governorate]:
        """Capital city -> its place (the first in gazetteer order), built once."""
        if self._by_capital is None:
            found: dict[str, Governorate] = {}
            for g in self.places:
                found.setdefault(g.capital, g)
            self._by_capital = found
        return self._by_capital

    def to_dict(self) -> dict[str, Any]:
        """The stored form (JSON-ready, stable)."""
        from control.model.times import iso_exact

        return {
            "name": self.name,
            "version": self.version,
            "baseline_as_of": iso_exact(self.baseline_as_of),
            "controllers": dict(sorted(self.controllers.items())),
            "about": self.about,
            "places": [p.to_dict() for p in self.places],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Gazetteer:
        from control.model.times import parse_instant

        make = Governorate._make  # positional: thousands of places decoded per command
        places = tuple(
            make(
                (
                    p["name"],
                    p.get("capital") or p["name"],
                    tuple(p.get("aliases") or ()),
                    float(p["lat"]),
                    float(p["lon"]),
                    p.get("baseline") or "",
                    p.get("administered_from"),
                    p.get("note") or "",
                    p.get("id") or "",
                    int(p.get("admin_level") or 1),
                    p.get("parent") or "",
                    p.get("pcode") or "",
                )
            )
            for p in data["places"]
        )
        return cls(
            name=data["name"],
            baseline_as_of=parse_instant(data["baseline_as_of"]),
            controllers=data["controllers"],
            places=places,
            version=int(data.get("version", 1)),
            about=data.get("about", ""),
        )


@cache
def raw_builtin_text() -> str:
    return (Path(__file__).parent.parent / "data" / GAZETTEER_FILE).read_text("utf-8")


@cache
def builtin() -> Gazetteer:
    """The built-in gazetteer: Syria's 14 governorates, in the order of the data file."""
    from control.model.times import parse_instant

    data = json.loads(raw_builtin_text())
    places = tuple(
        Governorate(
            name=g["name"],
            capital=g["capital"],
            aliases=tuple(g.get("aliases", ())),
            lat=g["lat"],
            lon=g["lon"],
            baseline=g["controller_2024_11_26"],
            administered_from=g.get("administered_from"),
            note=g.get("note", ""),
            id=PCODES.get(g["name"], ""),
            pcode=PCODES.get(g["name"], ""),
        )
        for g in data["governorate"]
    )
    as_of = parse_instant(data["baseline_as_of"], f"{GAZETTEER_FILE}: baseline_as_of")
    return Gazetteer("syria-2024", as_of, CONTROLLERS, places, builtin=True, about="\n".join(data["about"]))


_CURRENT: list[Gazetteer] = []


def use(gazetteer: Gazetteer | None) -> None:
    """Make ``gazetteer`` the one in use (None, or the built-in one itself: the built-in one; a
    selection of its places is kept as such)."""
    _CURRENT[:] = [gazetteer] if gazetteer is not None and gazetteer is not builtin() else []


@contextmanager
def using(gazetteer: Gazetteer | None) -> Iterator[None]:
    """Use ``gazetteer`` (None: the built-in one) for a while, then restore the one in use."""
    saved = list(_CURRENT)
    use(gazetteer)
    try:
        yield
    finally:
        _CURRENT[:] = saved


def current() -> Gazetteer:
    """The gazetteer in use: the store's, or the built-in one."""
    return _CURRENT[0] if _CURRENT else builtin()


def host_of(governorate: Governorate, seat: str = DEFAULT_SEAT) -> Governorate | None:
    """The place whose capital is the city counted for ``governorate``, when that city is not its
    own (Rif Dimashq counted as Damascus): its changes of control decide. None otherwise."""
    city = governorate.seat(seat)
    return None if city == governorate.capital else current().by_capital().get(city)


def governorates() -> tuple[Governorate, ...]:
    """All places of the gazetteer in use, in its order."""
    return current().places


def controllers() -> dict[str, str]:
    """The controller vocabulary of the gazetteer in use."""
    return current().controllers


def baseline_as_of() -> datetime:
    """The instant the gazetteer's baseline controllers hold as of: where the record begins."""
    return current().baseline_as_of


def raw_text() -> str:
    """The built-in gazetteer's text (baseline events quote it)."""
    return raw_builtin_text()


def _key(text: str) -> str:
    return "".join(filter(str.isalnum, text.casefold()))


def resolve_place(text: str, where: str = "place") -> Governorate:
    """The place a name, alias or p-code refers to; a :class:`UserError` with a suggestion if none."""
    g = current()
    found = g.by_name().get(text) or g.index().get(_key(text))
    if found:
        return found
    import difflib

    labels = sorted({label for p in g.places for label in (p.name, p.capital, *p.aliases)})
    close = difflib.get_close_matches(text, labels, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UserError(f"{where}: unknown place {text!r}{hint}")


def check_controller(text: str, where: str = "controller") -> str:
    """A known controller name, or a :class:`UserError` listing the vocabulary."""
    known = controllers()
    if text in known:
        return text
    import difflib

    close = difflib.get_close_matches(text, list(known), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = ", ".join(sorted(known)[:12]) + (" ..." if len(known) > 12 else "")
    raise UserError(f"{where}: unknown controller {text!r}{hint}; known: {listed}")


PLACE_FIELDS = {
    "id", "name", "capital", "aliases", "lat", "lon", "baseline", "administered_from", "note",
    "admin_level", "parent", "pcode",
}  # fmt: skip


#: The largest gazetteer file read: 100,000 places with ids, p-codes, aliases and notes are
#: about 20 MB (other text files stop at 10 MB, :data:`control.model.textio.MAX_BYTES`).
MAX_BYTES = 64 * 1024 * 1024
#: The baseline may lie at most this far after the loader's clock (time zones, clock skew).
BASELINE_SLACK = timedelta(days=1)


def load_file(path: Path | str, text: str | None = None, now: datetime | None = None) -> Gazetteer:
    """A user gazetteer from a TOML file; every error names ``file:line``.

    ``[gazetteer]``: ``name``, ``baseline_as_of`` (aware ISO 8601), optional ``about`` and
    ``version``. ``[controllers]``: ``name = "description"``. ``[[place]]``: ``name`` (unique),
    ``lat``, ``lon``, ``baseline`` (a controller, or "" if unknown), optional ``id``, ``aliases``,
    ``admin_level``, ``parent`` (another place's name or id), ``pcode``, ``capital`` (the city's
    label if not the name), ``note``.

    ``baseline_as_of`` lies in the ledger's era (1900-2099, :data:`control.model.times.ERA_START`)
    and, given ``now`` (the loader's clock), at most :data:`BASELINE_SLACK` after it; it is kept
    exactly (fractional seconds too). Every label (name, capital, alias, id, p-code) has a letter
    or digit and names one place only.
    """
    from control.model.times import iso, parse_instant

    if text is None:
        from control.model.textio import read_text

        text = read_text(Path(path), "gazetteer", MAX_BYTES)
    source = TomlFile(path, text)
    where = source.where

    head = source.table("gazetteer")
    if head is None:
        raise UserError(f"{path}:1: a gazetteer needs a [gazetteer] table (name, baseline_as_of)")
    name = head.get("name")
    if not isinstance(name, str) or not CONTROLLER_RE.fullmatch(name.replace(".", "-")):
        raise UserError(f"{where('gazetteer', key='name')}: name must be a short lower-case id (a-z, 0-9, -)")
    raw_as_of = head.get("baseline_as_of")
    if isinstance(raw_as_of, datetime):
        raw_as_of = raw_as_of.isoformat()
    if not isinstance(raw_as_of, str):
        raise UserError(
            f"{where('gazetteer', key='baseline_as_of')}: baseline_as_of is required (ISO 8601, with a zone)"
        )
    as_of = parse_instant(raw_as_of, f"{where('gazetteer', key='baseline_as_of')}: baseline_as_of")
    if now is not None and as_of > now + BASELINE_SLACK:
        raise UserError(
            f"{where('gazetteer', key='baseline_as_of')}: baseline_as_of {iso(as_of)} is more than a day "
            "in the future: the record would begin after every report; give when the baseline holds"
        )
    found = source.table("controllers")
    if not found:
        raise UserError(f'{where("controllers")}: a [controllers] table is required (name = "description")')
    for key, value in found.items():
        if not CONTROLLER_RE.fullmatch(key) or not isinstance(value, str):
            raise UserError(
                f"{where('controllers', key=key)}: controller {key!r}: names are lower-case ids, "
                "descriptions are strings"
            )
    places_data = source.items("place")
    if not places_data:
        raise UserError(f"{path}:1: no [[place]] tables")
    places: list[Governorate] = []
    seen: dict[str, int] = {}
    for i, p in enumerate(places_data):
        unknown = sorted(set(p) - PLACE_FIELDS)
        if unknown:
            raise UserError(f"{where('place', i)}: unknown field(s) {', '.join(unknown)}")
        label = p.get("name")
        if not isinstance(label, str) or not NAME_RE.fullmatch(label) or not label.strip():
            raise UserError(f"{where('place', i, 'name')}: name is required: text without control characters")
        for key in ("lat", "lon"):
            value = p.get(key)
            limit = 90 if key == "lat" else 180
            if isinstance(value, bool) or not isinstance(value, int | float) or not -limit <= value <= limit:
                raise UserError(f"{where('place', i, key)}: {key} must be a number in -{limit}..{limit}")
        baseline = p.get("baseline", "")
        if baseline and baseline not in found:
            raise UserError(f"{where('place', i, 'baseline')}: baseline {baseline!r} is not in [controllers]")
        aliases = p.get("aliases", [])
        if not isinstance(aliases, list) or not all(
            isinstance(a, str) and NAME_RE.fullmatch(a) for a in aliases
        ):
            raise UserError(f"{where('place', i, 'aliases')}: aliases must be a list of names")
        for text_key in ("id", "capital", "parent", "pcode", "note", "administered_from"):
            value = p.get(text_key)
            if value is not None and (not isinstance(value, str) or (value and not NAME_RE.fullmatch(value))):
                raise UserError(
                    f"{where('place', i, text_key)}: {text_key} must be text without control characters"
                )
        level = p.get("admin_level", 1)
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
            raise UserError(f"{where('place', i, 'admin_level')}: admin_level must be an integer 0-9")
        labels = dict.fromkeys(
            [label, p.get("capital") or "", *aliases, p.get("pcode") or "", p.get("id") or ""]
        )
        for labelled in (x for x in labels if x):
            key = _key(labelled)
            if not key:
                field = next(
                    k for k in ("name", "capital", "aliases", "pcode", "id") if labelled in _listed(p.get(k))
                )
                raise UserError(
                    f"{where('place', i, field)}: {field} {labelled!r} has no letter or digit: it could "
                    "not be told from other labels, nor give a report id"
                )
            if key in seen and seen[key] != i:
                raise UserError(
                    f"{where('place', i)}: {labelled!r} already names the place at "
                    f"{where('place', seen[key])}; names, capitals, aliases, ids and p-codes must be "
                    "unambiguous"
                )
            seen[key] = i
        places.append(
            Governorate(
                name=label,
                capital=p.get("capital") or label,
                aliases=tuple(aliases),
                lat=float(p["lat"]),
                lon=float(p["lon"]),
                baseline=baseline,
                administered_from=p.get("administered_from") or None,
                note=p.get("note") or "",
                id=p.get("id") or "",
                admin_level=level,
                parent=p.get("parent") or "",
                pcode=p.get("pcode") or "",
            )
        )
    names = {_key(g.name) for g in places} | {_key(g.id) for g in places if g.id}
    for i, g in enumerate(places):
        if g.parent and _key(g.parent) not in names:
            raise UserError(
                f"{where('place', i, 'parent')}: parent {g.parent!r} is not a place of this gazetteer"
            )
    capitals = {g.capital for g in places}
    for i, g in enumerate(places):  # the city counted instead (under the "damascus" seat setting)
        if g.administered_from and (g.administered_from == g.capital or g.administered_from not in capitals):
            raise UserError(
                f"{where('place', i, 'administered_from')}: administered_from {g.administered_from!r} "
                "is not the capital of another place of this gazetteer"
            )
    version = head.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UserError(f"{where('gazetteer', key='version')}: version must be a positive integer")
    about = head.get("about", "")
    if isinstance(about, list):
        about = "\n".join(str(a) for a in about)
    return Gazetteer(name, as_of, found, tuple(places), version=version, about=str(about))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_extension(old: Gazetteer, new: Gazetteer, where: str) -> None:
    """A later version may only add: places, aliases, controllers, and fields a place or the
    gazetteer did not have yet. Any field an earlier version set keeps its value (answers already
    given were folded with it), compared over the stored form (:meth:`Gazetteer.to_dict`), so
    every field, today's and those added later, is covered: a field not set must be stored as
    None, "", [] or {} (then a later version may set it), a table may gain keys, a list of
    names may gain names; anything else keeps its value."""
    if new.name != old.name:
        raise UserError(f"{where}: this store's gazetteer is {old.name!r}, not {new.name!r}")
    if new.baseline_as_of != old.baseline_as_of:
        raise UserError(
            f"{where}: baseline_as_of differs from the stored gazetteer's: history is not rewritten"
        )
    missing = sorted(set(old.controllers) - set(new.controllers))
    if missing:
        raise UserError(
            f"{where}: controller(s) {', '.join(missing)} missing: they may be added, not removed"
        )
    before, after = old.to_dict(), new.to_dict()
    hint = "a later version may only add (README, Gazetteers: superseding a place)"
    for key, value in before.items():
        if key in ("places", "version"):
            continue
        problem = _changed(value, after.get(key))
        if problem:
            raise UserError(f"{where}: the gazetteer's {key} {problem}: {hint}")
    now = {q["name"]: q for q in after["places"]}
    for p in before["places"]:
        q = now.get(p["name"])
        if q is None:
            raise UserError(
                f"{where}: place {p['name']!r} is missing: a later version may add places, not remove them"
            )
        for key, value in p.items():
            problem = _changed(value, q.get(key))
            if problem:
                raise UserError(f"{where}: place {p['name']!r}: {key} {problem}: {hint}")


def _changed(old: Any, new: Any) -> str | None:
    """What a later version did to a stored value, if it did more than add to it: a value an
    earlier version left empty may be set; a table may gain keys; a list of names may gain names."""
    if old is None or old == "" or old == [] or old == {}:
        return None
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return f"was a table, now {_shown(new)}"
        for key, value in old.items():
            problem = _changed(value, new.get(key))
            if problem:
                return f"{key!r} {problem}"
        return None
    if isinstance(old, list) and isinstance(new, list) and all(isinstance(x, str) for x in old):
        lost = [x for x in old if x not in new]
        return f"lost {_shown(lost[0])} (names may be added, not removed)" if lost else None
    if (old == new and type(old) is type(new)) or (_number(old) and _number(new) and old == new):
        return None
    return f"was {_shown(old)}, now {_shown(new)}"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    text = repr(value) if value not in (None, "") else "empty"
    return text if len(text) <= 60 else text[:57] + "..."

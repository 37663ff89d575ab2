"""The places a ledger covers, their names, and who held each when the record begins.

A gazetteer is data: the built-in one (Syria's 14 governorates and their capitals, as of 26 Nov
2024, from ``control/data/governorates.json``, whose "about" lines name the sources) or a file a
user supplies (TOML: ``[gazetteer]``, ``[controllers]`` and ``[[place]]`` tables; see
:func:`load_file`). A ledger is bound to its gazetteer by storing it (``control.service.sync``), and
the gazetteer travels with the ledger as a value (``LedgerApp.gazetteer``, ``control.Ledger``,
every view's ``atlas``). There is no process-wide current gazetteer: the module-level functions
below answer for the one a caller scopes with :func:`using` (a context variable, restored on
exit; the built-in one outside any), which the fold's place lookups read. This module resolves
the many spellings the news uses to one canonical place name.

Long: the gazetteer's values and the checks of a gazetteer file (places, controllers,
display settings, shapes, versions that only add) share one vocabulary; moving the file
loading to ``ingest/`` is listed as left to do in the CHANGELOG.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo
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
COLOUR_RE = re.compile(r"#[0-9a-fA-F]{6}")
#: The built-in gazetteer's display settings and vocabulary (governorates.json is never edited).
SETTINGS_FILE = "syria_settings.json"
#: Colours given by order to controllers without one: Okabe-Ito (colour-blind safe; its yellow and
#: black last, as they read worst on white), then Paul Tol's muted scheme.
PALETTE = (
    "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000",
    "#882255", "#44AA99", "#999933", "#AA4499", "#332288", "#117733", "#661100", "#88CCEE",
)  # fmt: skip
#: Nobody's colour (a vacated place) and name.
NOBODY_COLOUR = "#BBBBBB"
NOBODY_NAME = "Nobody (vacated)"


class Controller(NamedTuple):
    """A controller's display settings and vocabulary: ``name`` (display name, "" if not given),
    ``colour`` (#rrggbb, "" if not given), ``aliases`` (how texts name it: extraction, import)."""

    name: str = ""
    colour: str = ""
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        if self.colour:
            out["colour"] = self.colour
        if self.aliases:
            out["aliases"] = list(self.aliases)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Controller:
        return cls(data.get("name") or "", data.get("colour") or "", tuple(data.get("aliases") or ()))


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
    #: people living in the place (None: not given)
    population: int | None = None
    #: geodesic area of :attr:`shape` in km² (WGS84 ellipsoid), measured once when loaded
    area_km2: float | None = None
    #: a GeoJSON Polygon/MultiPolygon (WGS84, coordinates rounded; see control.model.shapes), or None
    shape: dict[str, Any] | None = None

    def __hash__(self) -> int:  # the shape is a dict: hash by what names the place
        return hash((self.name, self.capital, self.id, self.pcode))

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
        } | self.extras()

    def extras(self) -> dict[str, Any]:
        """The fields a later version may add (population, area, shape): only those given, so a
        place without them keeps the stored form it always had."""
        out: dict[str, Any] = {}
        if self.population is not None:
            out["population"] = self.population
        if self.area_km2 is not None:
            out["area_km2"] = self.area_km2
        if self.shape is not None:
            out["shape"] = self.shape
        return out


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
        *,
        controller_settings: Mapping[str, Controller] | None = None,
        timezone: str = "UTC",
        focus: str | None = None,
        outline: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.baseline_as_of = baseline_as_of
        self.controllers = dict(controllers)
        self.places = places
        self.builtin = builtin
        self.version = version
        self.about = about
        #: controller -> its settings as given (only those with any); see the ``controller_*`` views
        self.controller_settings = {c: s for c, s in (controller_settings or {}).items() if s != Controller()}
        #: IANA time zone name: how words and local dates are read, and times shown
        self.timezone = timezone
        #: the controller the headline counts ("government holds 3 of 14"), or None
        self.focus = focus
        #: a GeoJSON object drawn under the map, or None (the map's extent is the places' bounds)
        self.outline = dict(outline) if outline is not None else None
        #: wording of views: "places" (plural noun for the places), "place" (singular) ...
        self.labels = dict(labels or {})
        self._index: dict[str, Governorate] | None = None
        self._by_capital: dict[str, Governorate] | None = None
        self._by_name: dict[str, Governorate] | None = None

    @property
    def title(self) -> str:
        """What the places are, for headings."""
        if "title" in self.labels:  # "{n}": how many places
            return self.labels["title"].replace("{n}", str(len(self.places)))
        return f"the {len(self.places)} places of gazetteer {self.name!r}"

    def with_places(self, places: tuple[Governorate, ...]) -> Gazetteer:
        """This gazetteer (its settings too) with only ``places``."""
        return Gazetteer(
            self.name, self.baseline_as_of, self.controllers, places, self.builtin, self.version, self.about,
            controller_settings=self.controller_settings, timezone=self.timezone, focus=self.focus,
            outline=self.outline, labels=self.labels,
        )  # fmt: skip

    @property
    def source_file(self) -> str:
        """The provenance ``file`` of baseline events."""
        return GAZETTEER_FILE if self.builtin else f"gazetteer:{self.name}"

    @property
    def zone(self) -> tzinfo:
        """The :attr:`timezone` as a tzinfo (UTC for "UTC")."""
        return zone_of(self.timezone)

    @property
    def controller_names(self) -> dict[str, str]:
        """Controller -> display name: the one given, else its description, else its code."""
        return {
            c: (self.controller_settings.get(c) or Controller()).name or description or c
            for c, description in self.controllers.items()
        }

    @property
    def controller_colours(self) -> dict[str, str]:
        """Controller -> #rrggbb: the one given, else the next :data:`PALETTE` colour not given to
        another controller, in the gazetteer's order of controllers (stable)."""
        given = {
            c: s.colour for c, s in self.controller_settings.items() if s.colour and c in self.controllers
        }
        taken = {v.casefold() for v in given.values()}
        spare = (
            p for p in PALETTE * (1 + len(self.controllers) // len(PALETTE)) if p.casefold() not in taken
        )
        return {c: given.get(c) or next(spare, "#777777") for c in self.controllers}

    @property
    def controller_aliases(self) -> dict[str, tuple[str, ...]]:
        """Controller -> how texts name it (extraction, import), as given (may be empty)."""
        return {c: (self.controller_settings.get(c) or Controller()).aliases for c in self.controllers}

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

    @property
    def has_shapes(self) -> bool:
        """Whether any place carries a shape (views then draw polygons, territory counts km²)."""
        return any(p.shape is not None for p in self.places)

    @property
    def has_populations(self) -> bool:
        """Whether any place has a population (territory then gives the share of people)."""
        return any(p.population is not None for p in self.places)

    def area_km2(self, name: str) -> float | None:
        """The stored geodesic area (km²) of the place named ``name`` (None: no shape)."""
        place = self.by_name().get(name)
        return place.area_km2 if place is not None else None

    def population(self, name: str) -> int | None:
        """The population of the place named ``name`` (None: not given)."""
        place = self.by_name().get(name)
        return place.population if place is not None else None

    @property
    def shading(self) -> str:
        """What a shaded polygon means, for every view that shades: a place counted by its capital
        city (a governorate) is "shaded by the holder of its capital"."""
        if any(p.shape is not None and p.capital != p.name for p in self.places):
            return "shaded by the holder of its capital"
        return "shaded by its holder"

    @property
    def shapes_credit(self) -> str:
        """The credit line of the shapes (their licence asks for it wherever they are shown)."""
        return self.labels.get("shapes_credit", "")

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

        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "baseline_as_of": iso_exact(self.baseline_as_of),
            "controllers": dict(sorted(self.controllers.items())),
            "about": self.about,
            "places": [p.to_dict() for p in self.places],
        }
        # Settings a later version may add: stored only when given, so a gazetteer without them
        # keeps the stored form it always had.
        if self.controller_settings:
            out["controller_settings"] = {c: s.to_dict() for c, s in self.controller_settings.items()}
        if list(self.controllers) != sorted(self.controllers):  # the given order (colours go by it)
            out["controller_order"] = list(self.controllers)
        if self.timezone != "UTC":
            out["timezone"] = self.timezone
        if self.focus:
            out["focus"] = self.focus
        if self.outline is not None:
            out["outline"] = self.outline
        if self.labels:
            out["labels"] = dict(sorted(self.labels.items()))
        return out

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
                    p.get("population"),
                    p.get("area_km2"),
                    p.get("shape"),
                )
            )
            for p in data["places"]
        )
        controllers = data["controllers"]
        order = data.get("controller_order") or ()
        if set(order) == set(controllers):  # the order they were given in (colours go by it)
            controllers = {c: controllers[c] for c in order}
        return cls(
            name=data["name"],
            baseline_as_of=parse_instant(data["baseline_as_of"]),
            controllers=controllers,
            places=places,
            version=int(data.get("version", 1)),
            about=data.get("about", ""),
            controller_settings={
                c: Controller.from_dict(s) for c, s in (data.get("controller_settings") or {}).items()
            },
            timezone=data.get("timezone") or "UTC",
            focus=data.get("focus") or None,
            outline=data.get("outline"),
            labels=data.get("labels"),
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
    places, shapes_credit = _builtin_shapes(places)
    as_of = parse_instant(data["baseline_as_of"], f"{GAZETTEER_FILE}: baseline_as_of")
    settings = json.loads((Path(__file__).parent.parent / "data" / SETTINGS_FILE).read_text("utf-8"))
    outline = json.loads((Path(__file__).parent.parent / "data" / settings["outline"]).read_text("utf-8"))
    return Gazetteer(
        "syria-2024",
        as_of,
        CONTROLLERS,
        places,
        builtin=True,
        about="\n".join(data["about"]),
        controller_settings={c: Controller.from_dict(v) for c, v in settings["controllers"].items()},
        timezone=settings["timezone"],
        focus=settings.get("focus"),
        outline=outline,
        labels=(settings.get("labels") or {}) | {"shapes_credit": shapes_credit},
    )


#: The built-in gazetteer's shapes, matched by p-code, with their precomputed areas.
SHAPES_FILE = "syria_shapes.json"


def _builtin_shapes(places: tuple[Governorate, ...]) -> tuple[tuple[Governorate, ...], str]:
    """The built-in places with their polygons and areas (package data, trusted: not validated
    again, and no geometry library imported), and the credit line the shapes' licence asks for."""
    folder = Path(__file__).parent.parent / "data"
    about = json.loads((folder / SHAPES_FILE).read_text("utf-8"))
    collection = json.loads((folder / about["shapes"]).read_text("utf-8"))
    by_pcode = {f["properties"][about["pcode_property"]]: f["geometry"] for f in collection["features"]}
    areas = about["areas_km2"]
    shaped = tuple(
        p._replace(shape=by_pcode[p.pcode], area_km2=areas[p.pcode]) if p.pcode in by_pcode else p
        for p in places
    )
    return shaped, about["credit"]


def zone_of(name: str) -> tzinfo:
    """The tzinfo of an IANA time zone name ("UTC": :data:`datetime.UTC`); KeyError if unknown."""
    if name == "UTC":
        return UTC
    return _zone(name)


@cache
def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise KeyError(name) from None


#: The gazetteer a caller scoped with :func:`using` (None: the built-in one). A context variable,
#: never set for the process: opening a store leaves no gazetteer behind.
_SCOPED: ContextVar[Gazetteer | None] = ContextVar("control_gazetteer", default=None)


@contextmanager
def using(gazetteer: Gazetteer | None) -> Iterator[None]:
    """Answer for ``gazetteer`` (None: the built-in one) inside the block, then for the one
    before it (a context variable: threads and tasks each have their own)."""
    token = _SCOPED.set(gazetteer)
    try:
        yield
    finally:
        _SCOPED.reset(token)


def current() -> Gazetteer:
    """The gazetteer scoped by :func:`using`, else the built-in one."""
    return _SCOPED.get() or builtin()


def scoped() -> Gazetteer | None:
    """The gazetteer a caller scoped with :func:`using` (None outside any)."""
    return _SCOPED.get()


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
    "admin_level", "parent", "pcode", "population",
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
    found, settings = parse_controllers(path, source.text, found, where)
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
    places = [
        g._replace(population=check_population(p.get("population"), where("place", i, "population")))
        for i, (g, p) in enumerate(zip(places, places_data, strict=True))
    ]
    display = parse_display(path, text, head, found)
    capital = display.get("labels", {}).get("capital")  # what texts mean by "the capital"
    if capital is not None and _key(capital) not in {_key(n) for g in places for n in (g.name, *g.aliases)}:
        at = where("gazetteer", key="capital")
        raise UserError(f"{at}: capital {capital!r} is not a place of this gazetteer")
    shaped = parse_shapes(path, text, head, tuple(places))
    if "shapes_credit" in shaped:
        display["labels"] = display.get("labels", {}) | {"shapes_credit": shaped.pop("shapes_credit")}
    return Gazetteer(
        name, as_of, found, shaped["places"], version=version, about=str(about),
        controller_settings=settings, **display,
    )  # fmt: skip


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_population(value: Any, at: str) -> int | None:
    """A place's population: a whole number >= 0 (a float with no fraction accepted), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**10:
        raise UserError(f"{at}: population must be a whole number of people (0 or more), not {value!r}")
    return value


def parse_shapes(
    path: Path | str, text: str, head: Mapping[str, Any], places: tuple[Governorate, ...]
) -> dict[str, Any]:
    """The shapes of a TOML gazetteer: ``[gazetteer] shapes = "file.geojson"`` (beside the TOML)
    gives places their polygons, matched by p-code: ``shapes_pcode_property`` names the feature
    property holding it (default "pcode"), ``shapes_population_property`` optionally one holding
    the population; ``shapes_credit`` is shown wherever the shapes are. Returns ``places`` and
    the credit, if given. A feature whose p-code names no place is refused."""
    from control.model import shapes as geo

    def at(key: str) -> str:
        return _setting_line(path, text, key)

    out: dict[str, Any] = {"places": places}
    credit = head.get("shapes_credit")
    if credit is not None:
        if not isinstance(credit, str) or not NAME_RE.fullmatch(credit):
            raise UserError(f"{at('shapes_credit')}: shapes_credit must be text without control characters")
        out["shapes_credit"] = credit
    file = head.get("shapes")
    if file is None:
        return out
    if not isinstance(file, str) or not file.strip():
        raise UserError(f"{at('shapes')}: shapes must be the path of a GeoJSON file")
    props = {}
    for key, default in (("shapes_pcode_property", "pcode"), ("shapes_population_property", "")):
        value = head.get(key, default)
        if not isinstance(value, str) or (value and not NAME_RE.fullmatch(value)):
            raise UserError(f"{at(key)}: {key} must be the name of a feature property")
        props[key] = value
    source = Path(path).parent / file
    where = f"{at('shapes')}: {source}"
    features = geo.features_of(geo.read_geojson(source, at("shapes")), where)
    by_pcode = {_key(p.pcode): i for i, p in enumerate(places) if p.pcode}
    shaped = list(places)
    claimed: dict[int, int] = {}
    pcode_key, population_key = props["shapes_pcode_property"], props["shapes_population_property"]
    for n, feature in enumerate(features):
        label = f"{where}: {geo.feature_label(feature, n)}"
        properties = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        code = properties.get(pcode_key)
        i = by_pcode.get(_key(str(code))) if isinstance(code, str | int) else None
        if i is None:
            raise UserError(
                f"{label}: property {pcode_key!r} = {code!r} is not the p-code of a place of this gazetteer"
            )
        if i in claimed:
            raise UserError(f"{label}: p-code {code!r} already matched feature {claimed[i]}")
        claimed[i] = n
        shape = geo.compact(feature.get("geometry"), label)
        area = geo.area_km2(geo.check_valid(shape, label))
        population = places[i].population
        if population_key:
            population = check_population(properties.get(population_key), f"{label}: {population_key}")
        shaped[i] = places[i]._replace(shape=shape, area_km2=area, population=population)
    out["places"] = tuple(shaped)
    return out


def shape_overlaps(atlas: Gazetteer) -> list[tuple[str, str, float]]:
    """The pairs of ``atlas``'s places whose shapes overlap (names, km²); imports shapely."""
    from control.model import shapes as geo

    named = [(p.name, geo.to_shapely(p.shape)) for p in atlas.places if p.shape is not None]
    return geo.overlaps(named) if len(named) > 1 else []


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
    shaped = {p.name: p for p in new.places}
    for p in old.places:  # said first, in their own words: an area differs because a shape does
        q = shaped.get(p.name)
        for field in ("shape", "population"):
            stored = getattr(p, field)
            if q is not None and stored is not None and getattr(q, field) != stored:
                raise UserError(
                    f"{where}: place {p.name!r}: its {field} differs from the stored one; "
                    f"a later version may add a {field}, not change or remove it"
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


#: What a ``[controllers.code]`` table may hold.
CONTROLLER_FIELDS = {"description", "name", "colour", "aliases"}
#: The display settings of a ``[gazetteer]`` table (besides name, baseline_as_of, about, version).
DISPLAY_FIELDS = {"timezone", "focus", "outline", "outline_credit", "title", "capital"}


def _table_line(text: str, table: str) -> int | None:
    """The line of ``[table]`` (a dotted name; its parts may be quoted) in a TOML ``text``."""
    parts = r"\s*\.\s*".join(
        rf"(?:{re.escape(t)}|\"{re.escape(t)}\"|'{re.escape(t)}')" for t in table.split(".")
    )
    pattern = re.compile(rf"\s*\[\s*{parts}\s*\]\s*(?:#.*)?")
    return next((i for i, line in enumerate(text.splitlines(), 1) if pattern.fullmatch(line)), None)


def parse_controllers(
    path: Path | str, text: str, found: Mapping[str, Any], where: Any
) -> tuple[dict[str, str], dict[str, Controller]]:
    """A TOML ``[controllers]`` table: ``code = "description"`` or a table ``[controllers.code]``
    with optional ``description``, ``name`` (display name), ``colour`` (#rrggbb) and ``aliases``
    (how texts name it). Returns code -> description (file order) and code -> settings."""
    descriptions: dict[str, str] = {}
    settings: dict[str, Controller] = {}
    for key, value in found.items():
        line = _table_line(text, f"controllers.{key}")
        at = f"{path}:{line}" if line else where("controllers", key=key)
        if not CONTROLLER_RE.fullmatch(key) or not isinstance(value, str | dict):
            raise UserError(
                f"{at}: controller {key!r}: names are lower-case ids, descriptions are strings "
                "(or a [controllers.<name>] table of description, name, colour, aliases)"
            )
        if isinstance(value, str):
            if not NAME_RE.fullmatch(value) and value:
                raise UserError(f"{at}: controller {key!r}: the description has control characters")
            descriptions[key] = value
            continue

        def field_at(field: str, line: int | None = line, at: str = at) -> str:  # a field's own line
            lines = text.splitlines()
            n = next(
                (i for i, t in enumerate(lines[line:], line + 1) if re.match(rf"\s*{field}\s*=", t)), None
            ) if line else None  # fmt: skip
            return f"{path}:{n}" if n else at

        unknown = sorted(set(value) - CONTROLLER_FIELDS)
        if unknown:
            at = field_at(unknown[0])
            raise UserError(
                f"{at}: controller {key!r}: unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(CONTROLLER_FIELDS))}"
            )
        for field in ("description", "name"):
            given = value.get(field, "")
            if not isinstance(given, str) or (given and not NAME_RE.fullmatch(given)):
                raise UserError(
                    f"{field_at(field)}: controller {key!r}: {field} must be text without control characters"
                )
        colour = value.get("colour", "")
        if not isinstance(colour, str) or (colour and not COLOUR_RE.fullmatch(colour)):
            raise UserError(
                f"{field_at('colour')}: controller {key!r}: colour must be #rrggbb, not {colour!r}"
            )
        aliases = value.get("aliases", [])
        if not isinstance(aliases, list) or not all(
            isinstance(a, str) and a.strip() and NAME_RE.fullmatch(a) for a in aliases
        ):
            raise UserError(f"{field_at('aliases')}: controller {key!r}: aliases must be a list of names")
        descriptions[key] = value.get("description") or value.get("name") or key
        settings[key] = Controller(value.get("name", ""), colour.upper(), tuple(aliases))
    return descriptions, settings


def _setting_line(path: Path | str, text: str, key: str) -> str:
    """``path:line`` of a ``key = ...`` setting of the TOML ``[gazetteer]`` table in ``text`` (its
    header's line if the key is not written there)."""
    lines = text.splitlines()
    start = _table_line(text, "gazetteer") or 1
    found = (i for i, line in enumerate(lines[start - 1 :], start) if re.match(rf"\s*{key}\s*=", line))
    return f"{path}:{next(found, start)}"


def parse_display(
    path: Path | str, text: str, head: Mapping[str, Any], controllers: Mapping[str, str]
) -> dict[str, Any]:
    """The display settings of a TOML ``[gazetteer]`` table, as :class:`Gazetteer` keywords:
    ``timezone`` (IANA name, default UTC), ``focus`` (the controller the headline counts),
    ``outline`` (a GeoJSON file, relative to the gazetteer's folder), ``outline_credit``, ``title``."""

    def at(key: str) -> str:
        return _setting_line(path, text, key)

    out: dict[str, Any] = {}
    labels: dict[str, str] = {}
    zone = head.get("timezone", "UTC")
    if not isinstance(zone, str) or not re.fullmatch(r"[A-Za-z0-9_+/-]{1,60}", zone):
        raise UserError(f'{at("timezone")}: timezone must be an IANA name such as "Africa/Khartoum"')
    try:
        zone_of(zone)
    except KeyError:
        raise UserError(
            f'{at("timezone")}: unknown time zone {zone!r}; give an IANA name such as "Africa/Khartoum"'
        ) from None
    out["timezone"] = zone
    focus = head.get("focus")
    if focus is not None:
        if not isinstance(focus, str) or focus not in controllers:
            raise UserError(f"{at('focus')}: focus {focus!r} is not in [controllers]")
        out["focus"] = focus
    for key in ("title", "outline_credit", "capital"):  # capital: the place "the capital" means
        value = head.get(key)
        if value is not None:
            if not isinstance(value, str) or not NAME_RE.fullmatch(value):
                raise UserError(
                    f"{at(key)}: {key} must be text without control characters (1-120 characters)"
                )
            labels[key] = value
    if labels:
        out["labels"] = labels
    outline = head.get("outline")
    if outline is not None:
        if not isinstance(outline, str) or not outline.strip():
            raise UserError(f"{at('outline')}: outline must be the path of a GeoJSON file")
        out["outline"] = load_outline(Path(path).parent / outline, f"{at('outline')}: outline")
    return out


def load_outline(path: Path, where: str) -> dict[str, Any]:
    """A GeoJSON file of (Multi)Polygons: a FeatureCollection, a Feature or a geometry, checked
    (lon -180..180, lat -90..90, rings of at least 4 points), returned as a FeatureCollection of
    its polygons (what the map draws; each feature's properties kept)."""
    from control.model.textio import read_text

    text = read_text(path, where)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: {path} is not JSON (line {exc.lineno}: {exc.msg})") from None

    def geometries(obj: Any) -> Iterator[tuple[dict[str, Any], Any]]:
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind == "FeatureCollection" and isinstance(obj.get("features"), list):
            for f in obj["features"]:
                yield from geometries(f)
        elif kind == "Feature":
            props = obj.get("properties") if isinstance(obj.get("properties"), dict) else {}
            for _, geometry in geometries(obj.get("geometry")):
                yield props, geometry
        elif kind in ("Polygon", "MultiPolygon"):
            yield {}, obj
        else:
            raise UserError(
                f"{where}: {path} holds a {kind or type(obj).__name__!s}; give (Multi)Polygons in GeoJSON"
            )

    features = []
    for props, geometry in geometries(data):
        polygons = geometry.get("coordinates")
        polygons = [polygons] if geometry["type"] == "Polygon" else polygons
        if not isinstance(polygons, list) or not polygons:
            raise UserError(f"{where}: {path}: a {geometry['type']} without coordinates")
        for polygon in polygons:
            if not isinstance(polygon, list) or not polygon:
                raise UserError(f"{where}: {path}: a polygon without rings")
            for ring in polygon:
                ok = isinstance(ring, list) and len(ring) >= 4 and all(
                    isinstance(pt, list) and len(pt) >= 2
                    and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pt[:2])
                    and -180 <= pt[0] <= 180 and -90 <= pt[1] <= 90
                    for pt in ring
                )  # fmt: skip
                if not ok:
                    raise UserError(
                        f"{where}: {path}: a ring must be 4 or more [lon, lat] points in -180..180, -90..90"
                    )
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    if not features:
        raise UserError(f"{where}: {path} holds no polygons")
    return {"type": "FeatureCollection", "features": features}


def outline_rings(outline: Mapping[str, Any] | None) -> list[list[tuple[float, float]]]:
    """The exterior rings (lon, lat) of an outline's polygons, in order (none without one)."""
    rings: list[list[tuple[float, float]]] = []
    for feature in (outline or {}).get("features", ()):
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        rings.extend([(float(x), float(y)) for x, y, *_ in polygon[0]] for polygon in polygons)
    return rings


#: The feature properties a GeoJSON gazetteer reads by default (``control gazetteer load --*-property``).
GEOJSON_PROPERTIES = {
    "name": "name", "pcode": "pcode", "id": "id", "aliases": "aliases", "baseline": "baseline",
    "population": "population", "capital": "capital",
}  # fmt: skip


def load_geojson(
    path: Path | str,
    baseline_as_of: str | None,
    name: str | None = None,
    properties: Mapping[str, str] | None = None,
    controllers: Iterable[str] = (),
) -> Gazetteer:
    """A gazetteer from a GeoJSON FeatureCollection: one place per feature (a Point, or a
    (Multi)Polygon whose representative point becomes the place's point), its name, p-code, id,
    aliases (a list, or text separated by ";"), baseline controller, population and capital read
    from the properties named in ``properties`` (defaults :data:`GEOJSON_PROPERTIES`). The
    controllers are the baseline values and ``controllers``. Errors name the feature's index/id."""
    from control.model import shapes as geo
    from control.model.times import parse_instant

    keys = GEOJSON_PROPERTIES | dict(properties or {})
    source = str(path)
    if name is None:
        name = re.sub(r"[^a-z0-9-]+", "-", Path(path).stem.casefold()).strip("-") or "gazetteer"
    if not CONTROLLER_RE.fullmatch(name.replace(".", "-")):
        raise UserError(f"--gazetteer-name: {name!r} must be a short lower-case id (a-z, 0-9, -)")
    if not baseline_as_of:
        raise UserError(
            f"{source}: a GeoJSON gazetteer needs --baseline-as-of (when its baseline controllers hold)"
        )
    as_of = parse_instant(baseline_as_of, "--baseline-as-of")
    features = geo.features_of(geo.read_geojson(path, source), source)
    found: dict[str, str] = {}
    for c in controllers:
        if not CONTROLLER_RE.fullmatch(c):
            raise UserError(f"--controller: {c!r} must be a lower-case id")
        found[c] = c
    places: list[Governorate] = []
    seen: dict[str, int] = {}
    for n, feature in enumerate(features):
        at = f"{source}: {geo.feature_label(feature, n)}"
        props = feature.get("properties")
        props = props if isinstance(props, dict) else {}

        def text(field: str, required: bool = False, at: str = at, props: dict[str, Any] = props) -> str:
            value = props.get(keys[field])
            if isinstance(value, int) and not isinstance(value, bool) and field in ("pcode", "id"):
                value = str(value)
            if value is None or value == "":
                if required:
                    raise UserError(f"{at}: property {keys[field]!r} (the {field}) is missing; "
                                    f"name the property with --{field}-property")  # fmt: skip
                return ""
            if not isinstance(value, str) or not NAME_RE.fullmatch(value) or not value.strip():
                raise UserError(f"{at}: property {keys[field]!r} must be text without control characters")
            return value

        label = text("name", required=True)
        raw_aliases = props.get(keys["aliases"]) or []
        if isinstance(raw_aliases, str):
            raw_aliases = [a.strip() for a in raw_aliases.split(";") if a.strip()]
        if not isinstance(raw_aliases, list) or not all(
            isinstance(a, str) and a.strip() and NAME_RE.fullmatch(a) for a in raw_aliases
        ):
            raise UserError(
                f"{at}: property {keys['aliases']!r} must be a list of names (or text, split by ;)"
            )
        baseline = text("baseline")
        if baseline:
            if not CONTROLLER_RE.fullmatch(baseline):
                raise UserError(f"{at}: baseline {baseline!r} must be a controller id (a-z, 0-9, _ or -)")
            found.setdefault(baseline, baseline)
        population = check_population(props.get(keys["population"]), f"{at}: {keys['population']}")
        geometry = feature.get("geometry")
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        shape = area = None
        if kind == "Point":
            lon, lat = geo._position(geometry.get("coordinates"), at)
        elif kind in geo.SHAPE_TYPES:
            shape = geo.compact(geometry, at)
            valid = geo.check_valid(shape, at)
            area = geo.area_km2(valid)
            lat, lon = geo.representative(valid)
        else:
            raise UserError(f"{at}: geometry must be a Point, Polygon or MultiPolygon, not {kind or 'none'}")
        pcode, pid = text("pcode"), text("id")
        for labelled in {label, *raw_aliases, pcode, pid} - {""}:
            key = _key(labelled)
            if key in seen and seen[key] != n:
                raise UserError(
                    f"{at}: {labelled!r} already names feature {seen[key]}; names, aliases, ids and "
                    "p-codes must be unambiguous"
                )
            seen[key] = n
        places.append(
            Governorate(
                name=label, capital=text("capital") or label, aliases=tuple(raw_aliases), lat=lat, lon=lon,
                baseline=baseline, id=pid, pcode=pcode, population=population, area_km2=area, shape=shape,
            )
        )  # fmt: skip
    if not found:
        raise UserError(
            f"{source}: no controllers: give each feature a {keys['baseline']!r} property, or --controller"
        )
    return Gazetteer(name, as_of, dict(sorted(found.items())), tuple(places))

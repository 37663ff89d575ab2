"""The places a ledger covers, their names, and who held each when the record begins.

A gazetteer is data: the built-in one (Syria's 14 governorates and their capitals, as of 26 Nov
2024, from ``control/data/governorates.json``, whose "about" lines name the sources) or a file a
user supplies (TOML: ``[gazetteer]``, ``[controllers]`` and ``[[place]]`` tables, or GeoJSON,
read and checked by :mod:`control.ingest.gazetteers`). A ledger is bound to its gazetteer by
storing it (``control.service.sync``), and the gazetteer travels with the ledger as a value
(``LedgerApp.gazetteer``, ``control.Ledger``, every view's ``atlas``). There is no process-wide
current gazetteer: the module-level functions below answer for the one a caller scopes with
:func:`using` (a context variable, restored on exit; the built-in one outside any), which the
fold's place lookups read. This module resolves the many spellings the news uses to one
canonical place name.

Long: the gazetteer's values (places, controllers and their display settings, shapes) and the
built-in one's, with the lookups every layer makes (a place by any spelling, a controller, the
seat setting); reading a user's file is ``control.ingest.gazetteers``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from control.model.errors import UserError

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


def label_key(text: str) -> str:
    return "".join(filter(str.isalnum, text.casefold()))


_key = label_key


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


def outline_rings(outline: Mapping[str, Any] | None) -> list[list[tuple[float, float]]]:
    """The exterior rings (lon, lat) of an outline's polygons, in order (none without one)."""
    rings: list[list[tuple[float, float]]] = []
    for feature in (outline or {}).get("features", ()):
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        rings.extend([(float(x), float(y)) for x, y, *_ in polygon[0]] for polygon in polygons)
    return rings

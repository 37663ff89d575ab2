"""Gazetteer files read and checked: TOML and GeoJSON gazetteers, their controllers, display
settings, shapes and populations, and the rule that a later version only adds.

The values a gazetteer is made of (:class:`control.model.gazetteer.Gazetteer`, its places and
controllers) are the model's; reading a user's file into them, with every error naming its
``file:line`` or feature, is ingestion, like the record's and ACLED's files.

Long: one file format with its checks in one place: places, controllers, display settings,
shapes (TOML or GeoJSON) and versions share the file's vocabulary and its line finder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from control.model.errors import UserError
from control.model.gazetteer import (
    COLOUR_RE,
    CONTROLLER_RE,
    NAME_RE,
    Controller,
    Gazetteer,
    Governorate,
    label_key,
    zone_of,
)
from control.model.tomlfile import TomlFile

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
    found, settings = parse_controllers(source, found)
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
            key = label_key(labelled)
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
    names = {label_key(g.name) for g in places} | {label_key(g.id) for g in places if g.id}
    for i, g in enumerate(places):
        if g.parent and label_key(g.parent) not in names:
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
    places = [  # a place's line is looked up only for a population to refuse (a search each)
        g if p.get("population") is None else g._replace(population=check_population(
            p.get("population"), lambda i=i: where("place", i, "population")
        ))
        for i, (g, p) in enumerate(zip(places, places_data, strict=True))
    ]  # fmt: skip
    display = parse_display(source, head, found)
    capital = display.get("labels", {}).get("capital")  # what texts mean by "the capital"
    if capital is not None and label_key(capital) not in {
        label_key(n) for g in places for n in (g.name, *g.aliases)
    }:
        at = where("gazetteer", key="capital")
        raise UserError(f"{at}: capital {capital!r} is not a place of this gazetteer")
    shaped = parse_shapes(source, head, tuple(places))
    if "shapes_credit" in shaped:
        display["labels"] = display.get("labels", {}) | {"shapes_credit": shaped.pop("shapes_credit")}
    return Gazetteer(
        name, as_of, found, shaped["places"], version=version, about=str(about),
        controller_settings=settings, **display,
    )  # fmt: skip


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_population(value: Any, at: str | Callable[[], str]) -> int | None:
    """A place's population: a whole number >= 0 (a float with no fraction accepted), or None.
    ``at`` names it in the error (or makes the name: found only when there is an error)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**10:
        where = at() if callable(at) else at
        raise UserError(f"{where}: population must be a whole number of people (0 or more), not {value!r}")
    return value


def parse_shapes(
    source: TomlFile, head: Mapping[str, Any], places: tuple[Governorate, ...]
) -> dict[str, Any]:
    """The shapes of a TOML gazetteer: ``[gazetteer] shapes = "file.geojson"`` (beside the TOML)
    gives places their polygons, matched by p-code: ``shapes_pcode_property`` names the feature
    property holding it (default "pcode"), ``shapes_population_property`` optionally one holding
    the population; ``shapes_credit`` is shown wherever the shapes are. Returns ``places`` and
    the credit, if given. A feature whose p-code names no place is refused."""
    from control.model import shapes as geo

    path = source.path

    def at(key: str) -> str:
        return source.where("gazetteer", key=key)

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
    shapes_file = Path(path).parent / file
    where = f"{at('shapes')}: {shapes_file}"
    features = geo.features_of(geo.read_geojson(shapes_file, at("shapes")), where)
    by_pcode = {label_key(p.pcode): i for i, p in enumerate(places) if p.pcode}
    shaped = list(places)
    claimed: dict[int, int] = {}
    pcode_key, population_key = props["shapes_pcode_property"], props["shapes_population_property"]
    for n, feature in enumerate(features):
        label = f"{where}: {geo.feature_label(feature, n)}"
        properties = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        code = properties.get(pcode_key)
        i = by_pcode.get(label_key(str(code))) if isinstance(code, str | int) else None
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


def parse_controllers(
    source: TomlFile, found: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, Controller]]:
    """A TOML ``[controllers]`` table: ``code = "description"`` or a table ``[controllers.code]``
    with optional ``description``, ``name`` (display name), ``colour`` (#rrggbb) and ``aliases``
    (how texts name it). Returns code -> description (file order) and code -> settings."""
    descriptions: dict[str, str] = {}
    settings: dict[str, Controller] = {}
    for key, value in found.items():
        table = f"controllers.{key}"
        header = source.header(table)  # None: `code = "..."` or an inline table
        at = source.where(table) if header else source.where("controllers", key=key)
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

        def field_at(field: str, table: str = table, header: int | None = header, at: str = at) -> str:
            return source.where(table, key=field) if header else at  # a field's own line

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


def parse_display(
    source: TomlFile, head: Mapping[str, Any], controllers: Mapping[str, str]
) -> dict[str, Any]:
    """The display settings of a TOML ``[gazetteer]`` table, as :class:`Gazetteer` keywords:
    ``timezone`` (IANA name, default UTC), ``focus`` (the controller the headline counts),
    ``outline`` (a GeoJSON file, relative to the gazetteer's folder), ``outline_credit``, ``title``."""

    path = source.path

    def at(key: str) -> str:
        return source.where("gazetteer", key=key)

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
            key = label_key(labelled)
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

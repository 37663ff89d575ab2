"""Syria's 14 governorates and their capitals: names, aliases, coordinates, 26 Nov 2024 baseline.

Facts live in ``control/data/governorates.json`` (converted from the team's reference TOML; its
"about" lines name the sources). JSON, because the json module is loaded anyway and a TOML parser
would cost every command a few milliseconds. This module resolves the many spellings the news
uses to one canonical governorate name, and knows the one setting analysts argue about: Rif
Dimashq's seat.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import NamedTuple

from control.errors import UserError

#: Rif Dimashq is administered from Damascus; its official seat is Douma. Counting it as Damascus
#: (the default) gives the "three of 14" of the reporting; "douma" counts Douma as its own city.
SEAT_SETTINGS = ("damascus", "douma")
DEFAULT_SEAT = "damascus"
GAZETTEER_FILE = "governorates.json"

CONTROLLERS: dict[str, str] = {
    "government": "Syrian government (Syrian Arab Army)",
    "hts": "Hayat Tahrir al-Sham and allies (Military Operations Command)",
    "sna": "Turkish-backed Syrian National Army",
    "sdf": "Syrian Democratic Forces (Kurdish-led)",
    "southern": "Southern Operations Room (local ex-rebel factions of Daraa, Quneitra)",
    "druze": "Local Druze factions of As-Suwayda",
}


class Governorate(NamedTuple):
    name: str
    capital: str
    aliases: tuple[str, ...]
    lat: float
    lon: float
    baseline: str
    administered_from: str | None = None
    note: str = ""

    def seat(self, setting: str = DEFAULT_SEAT) -> str:
        """The capital city counted for this governorate under the Rif Dimashq ``setting``."""
        if self.administered_from and setting == "damascus":
            return self.administered_from
        return self.capital


@cache
def raw_text() -> str:
    return (Path(__file__).parent / "data" / GAZETTEER_FILE).read_text("utf-8")


@cache
def governorates() -> tuple[Governorate, ...]:
    """All 14 governorates, in the order of the data file."""
    data = json.loads(raw_text())
    return tuple(
        Governorate(
            name=g["name"],
            capital=g["capital"],
            aliases=tuple(g.get("aliases", ())),
            lat=g["lat"],
            lon=g["lon"],
            baseline=g["controller_2024_11_26"],
            administered_from=g.get("administered_from"),
            note=g.get("note", ""),
        )
        for g in data["governorate"]
    )


@cache
def baseline_as_of() -> datetime:
    """The instant the gazetteer's baseline controllers hold as of: where the record begins."""
    from control.times import parse_instant

    return parse_instant(json.loads(raw_text())["baseline_as_of"], f"{GAZETTEER_FILE}: baseline_as_of")


def _key(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


@cache
def _index() -> dict[str, Governorate]:
    index: dict[str, Governorate] = {}
    for g in governorates():
        for label in (g.name, g.capital, *g.aliases):
            index.setdefault(_key(label), g)
    return index


def resolve_place(text: str, where: str = "place") -> Governorate:
    """The governorate a name or alias refers to; a :class:`UserError` with a suggestion if none."""
    found = _index().get(_key(text))
    if found:
        return found
    labels = sorted({label for g in governorates() for label in (g.name, g.capital, *g.aliases)})
    import difflib

    close = difflib.get_close_matches(text, labels, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UserError(f"{where}: unknown place {text!r}{hint}")


def check_controller(text: str, where: str = "controller") -> str:
    """A known controller name, or a :class:`UserError` listing the vocabulary."""
    if text in CONTROLLERS:
        return text
    import difflib

    close = difflib.get_close_matches(text, list(CONTROLLERS), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UserError(f"{where}: unknown controller {text!r}{hint}; known: {', '.join(sorted(CONTROLLERS))}")


def check_seat(setting: str) -> str:
    if setting not in SEAT_SETTINGS:
        raise UserError(f"--seat: unknown setting {setting!r}; choose {' or '.join(SEAT_SETTINGS)}")
    return setting

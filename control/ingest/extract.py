"""Assisted extraction: candidate events from an article's text, by rules over its sentences.

Pure functions, no network, no model: the text is split into sentences; in each, the places are
found with the gazetteer's names and aliases (spellings differ: "Deir al-Zor", "Deir Ez Zor",
"Sweida", "Suweida", "Hassaka"), plus a few towns, suburbs and phrases ("the outskirts of
Damascus", "much of the south") that stand for a governorate's surroundings (``scope = "area"``).
Each place takes the nearest cue of an event kind (verbs and phrases: "seized", "withdrew",
"denied", "encircling", ...), the actor named nearest to that cue (or the region's usual actor
where the article says only "the rebels"), and the date phrase nearest to the cue, resolved
against the publication time in Syrian time (:func:`control.model.times.window_from_words`). The quote
is the whole sentence, an exact substring of the text.

:func:`mark` compares candidates with the events of a store (duplicates and corroborations);
:func:`score` measures candidates against curated events (recall, precision, actor accuracy).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import PurePath
from typing import Any

from control.model import gazetteer
from control.model.errors import UserError
from control.model.times import Window, bounded, iso, window_from_words

#: Where an article names no actor for a capture or claim ("the rebels"), the force that the
#: reporting identifies in that region (the record's attribution rule; README "Attribution").
REGIONAL_ACTOR = {
    "Daraa": "southern",
    "Quneitra": "southern",
    "As-Suwayda": "druze",
    "Deir ez-Zor": "sdf",
    "Raqqa": "sdf",
    "Al-Hasakah": "sdf",
}
DEFAULT_REBEL = "hts"

#: Towns and landmarks that stand for a governorate's surroundings (scope "area"): well-known
#: places of the 2024 offensive. A user's own places can be added by the gazetteer in use.
AREA_PLACES: dict[str, tuple[str, ...]] = {
    "Rif Dimashq": (
        "Jaramana", "Maadamiyah", "Moadamiyeh", "Muadamiyah", "Daraya", "Darayya", "Zakiah",
        "Sednaya", "Saydnaya", "Harasta", "Qudsaya", "Kiswah", "Yabroud", "Qatana",
    ),
    "Homs": ("Palmyra", "Tadmur", "Rastan", "Talbiseh", "Qusayr"),
    "Hama": ("Suran", "Morek", "Mhardeh", "Salamiyah"),
    "Idlib": ("Saraqeb", "Maarat al-Numan", "Khan Sheikhoun"),
    "Deir ez-Zor": ("Albukamal", "Al-Bukamal", "Mayadin"),
    "Al-Hasakah": ("Qamishli",),
}  # fmt: skip

#: Surroundings of a capital: "the outskirts of Damascus" is Rif Dimashq (area); of another city,
#: that city's governorate (area).
SURROUNDINGS = (
    r"(?:southern |northern |eastern |western )?(?:outskirts|suburbs?|countryside|rural areas|"
    r"towns|edge|positions)(?: (?:around|of|near|outside|in))?(?: the)?"
)

#: "took down a statue", "took to the streets", "taken positions": not a capture.
NOT_TAKING = r"(?! (?:down|to|part|place|positions|up|refuge|over)\b)"
#: A capture cue right after these words is a claim: "on the verge of capturing Damascus".
CLAIM_BEFORE = re.compile(
    r"(?:verge of|ready to|poised to|about to|attempting to|trying to|close to)\s*$", re.IGNORECASE
)

#: "20 km from the southern gate of the capital": the capital's surroundings.
DISTANCE_FROM = (
    r"(?:km|miles|kilometers|kilometres)\)?\s+from\s+(?:the\s+)?(?:\w+\s+)?(?:gates?\s+of\s+)?"
    r"(?:the\s+)?(?:capital\s+)?$"
)

#: Cues that yield to any other cue near the same place ("withdrew ... 10km from the capital").
WEAK = re.compile(r"(?:km|miles|kilomet\w+)\)? from$", re.IGNORECASE)

#: Event kinds and their cues (case-insensitive regular expressions on word boundaries).
CUES: dict[str, tuple[str, ...]] = {
    "denial": (
        r"den(?:y|ied|ies|ying|ial)", r"no truth", r"not true", r"false news", r"rejected reports",
        r"dismissed reports",
    ),
    "handover": (r"hand(?:ed|s|ing)? over", r"handover", r"surrender(?:ed|s)? to"),
    "withdrawal": (
        r"withdr(?:ew|awn|aw|aws|awal|awing)", r"retreat(?:ed|ing|s)?", r"abandon(?:ed|ing|s)?",
        r"redeployed", r"evacuat(?:e|ed|ing|ion)", r"fled positions", r"pull(?:ed|ing|s)? (?:out|back)",
        r"rout(?:ed|ing)", r"repositioned", r"crumbled",
    ),
    "capture": (
        r"seiz(?:e|ed|es|ing)", r"captur(?:e|ed|es|ing)", r"(?:took|taken|take|taking|takes) control",
        r"(?:gained|gain|gains|gaining|in|under|declared(?: full)?) control",
        r"fell to", r"fall(?:en)? (?:of|from)", r"fall", r"loss of", r"lost",
        r"liberat(?:e|ed|ing|ion)(?! (?:\w+ ){0,2}(?:prisoners|detainees|people))",
        r"entered", r"(?:swept|stormed|pushed) into", r"storm(?:ed|s)?", r"overr(?:an|un)",
        r"victory", r"(?<!-)controlled", r"rule in", r"taking of",
        rf"took{NOT_TAKING}", rf"taken{NOT_TAKING}",
        r"fell",
    ),
    "claim": (
        r"encircl(?:e|ed|es|ing|ement)", r"surround(?:ed|ing|s)?", r"siege", r"besieg(?:e|ed|ing)",
        r"reach(?:ed|es|ing)?", r"closing in", r"clos(?:e|es|ed) in", r"verge of",
        r"push(?:es|ed)? into", r"imminent entry", r"awaits", r"advanc(?:e|es|ed|ing) (?:in|on|into)",
        r"security ring", r"fortif(?:y|ying|ied|ies)", r"\d+\s?(?:km|miles|kilometers|kilometres)\)? from",
        r"ready to (?:enter|launch)", r"final (?:phase|stage|assault)", r"remain(?:s|ed)? in",
        r"staying put", r"returned to", r"on the outskirts", r"gates of", r"converg(?:e|ed|ing) on",
    ),
}  # fmt: skip
#: Claims made by the government (that it holds, fortifies, that Assad stays).
GOVERNMENT_CLAIMS = re.compile(
    r"security ring|fortif|remain|staying put|returned to|stable and secured", re.IGNORECASE
)
#: Statements about a person: Assad fled, stays, returned (scope "person").
PERSON = re.compile(
    r"\b(?:assad|president|he|the leader)\b\s+(?:\w+\s+){0,3}?(?:fled|left|flee|remain(?:s|ed)?|"
    r"staying put|stays|returned|continu(?:e|ed|es|ing) (?:to govern|his duties|to perform))\b",
    re.IGNORECASE,
)
#: Words that make a clause hypothetical, an intent or a forecast: no event.
MODAL = re.compile(
    r"\b(?:if|could|would|might|may|will|unless|whether|next target|plan(?:s|ning)? to|"
    r"preparing|aim(?:s|ing)? to|intend(?:s|ing)? to|threat to|likely to|expected to|looks like|possib\w*)\b",
    re.IGNORECASE,
)

ACTORS: dict[str, tuple[str, ...]] = {
    "hts": (
        r"HTS", r"Hay[’'`]?[ae]?[ty]+(?:at|et) Tahrir(?: al-Sham)?", r"Tahrir al-Sham", r"Jolani",
        r"Julani", r"Golani", r"Sharaa", r"Islamist", r"Military Operations Command",
    ),
    "sdf": (r"Syrian Democratic Forces", r"SDF", r"Kurdish-led", r"YPG", r"Kurdish forces"),
    "sna": (r"Syrian National Army", r"National Syrian Army", r"SNA", r"Turkish-backed"),
    "southern": (r"Southern Operations Room", r"Free Syrian Army", r"southern factions", r"FSA"),
    "druze": (r"Druze",),
    "government": (
        r"(?:Syrian )?army", r"military", r"government(?! control)", r"govt", r"regime", r"Assad[’']s forces",
        r"SAA", r"troops", r"security forces", r"defen[cs]e ministry",
        r"state (?:television|media|news agency|TV)",
        r"officials", r"Assad[’']s office", r"Sham FM", r"loyalist",
    ),
    "rebel": (
        r"rebels?", r"insurgents?", r"opposition", r"fighters", r"anti-government", r"anti-regime",
        r"armed groups", r"militants?", r"factions",
    ),
}  # fmt: skip

WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
MONTH = r"(?:january|february|march|april|may|june|july|august|september|october|november|december)"
DATE_PHRASES = (
    (rf"\bby {MONTH} \d{{1,2}}(?:st|nd|rd|th)?\b", None),
    (rf"\b{MONTH} \d{{1,2}}(?:st|nd|rd|th)?\b", None),
    (rf"\b\d{{1,2}} {MONTH}\b", None),
    (rf"\b{WEEKDAY}\b", None),
    (r"\blast week\b", "last week"),
    (r"\b(?:today|this (?:morning|afternoon|evening)|tonight)\b", "today"),
    (r"\b(?:yesterday|last night)\b", "yesterday"),
)
#: A date right after these words dates something else (the offensive's start, a past event).
DATE_OF_OTHER = re.compile(
    r"\b(?:began|beginning|begun|since|erupted|launched|started|in)\s+(?:on\s+)?\w*\s*$", re.IGNORECASE
)
RELATIVE = ("today", "yesterday", "last week", "by report", *WEEKDAY[3:-1].split("|"))


@dataclass(frozen=True)
class Candidate:
    """A proposed event: what a person reviews before ``control add --toml``."""

    kind: str
    place: str  # governorate name
    capital: str
    actor: str
    actor_named: bool  # False: the region's usual actor (the text says only "the rebels")
    scope: str
    quote: str  # the sentence, exactly as in the text
    line: int
    when: str  # the words resolved ("Saturday", "December 6", "by report")
    window: Window | None  # None when no publication time is known and the words are relative
    file: str = ""
    previous: str | None = None
    cue: str = ""
    status: str = "new"  # new, duplicate, corroborates
    matches: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "place": self.place,
            "capital": self.capital,
            "actor": self.actor,
            "actor_named": self.actor_named,
            "from": self.previous,
            "scope": self.scope,
            "when": self.when,
            "window": self.window.to_dict() if self.window else None,
            "quote": self.quote,
            "file": self.file,
            "line": self.line,
            "cue": self.cue,
            "status": self.status,
            "matches": list(self.matches),
        }


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offset in the article
    line: int


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    place: str
    scope: str
    text: str


# --- sentences --------------------------------------------------------------------------------

_ABBREV = re.compile(r"(?:\b(?:U\.S|U\.N|Mr|Mrs|Dr|St|Gen|Lt|Col|Sgt|No|vs|approx|e\.g|i\.e)|\b[A-Z])\.$")
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’')\]]*\s+(?=[\"“‘'(\[]*[A-Z0-9])")


def sentences(text: str) -> list[Sentence]:
    """The article's sentences: each line split at sentence ends (abbreviations kept whole)."""
    out: list[Sentence] = []
    offset = 0
    for line_no, line in enumerate(text.splitlines(keepends=True), 1):
        start = 0
        body = line.rstrip("\r\n")
        for m in _BOUNDARY.finditer(body):
            if _ABBREV.search(body[: m.start()].rstrip("\"”’')]")):
                continue
            _add(out, body, start, m.start(), offset, line_no)
            start = m.end()
        _add(out, body, start, len(body), offset, line_no)
        offset += len(line)
    return out


def _add(out: list[Sentence], body: str, start: int, end: int, offset: int, line: int) -> None:
    piece = body[start:end]
    stripped = piece.strip()
    if len(re.findall(r"\w+", stripped)) >= 3:
        lead = len(piece) - len(piece.lstrip())
        out.append(Sentence(stripped, offset + start + lead, line))


# --- places -----------------------------------------------------------------------------------


def _label_pattern(label: str) -> str:
    chunks = re.findall(r"[^\W_]+", label)
    return r"[\s\-‐’'`]*".join(re.escape(c) for c in chunks)


@cache
def _place_patterns(labels: tuple[tuple[str, str, str], ...]) -> list[tuple[re.Pattern[str], str, str]]:
    ordered = sorted(labels, key=lambda x: -len(x[0]))
    return [
        (re.compile(rf"(?<![\w\-])(?:{_label_pattern(label)})(?![\w\-])", re.IGNORECASE), place, scope)
        for label, place, scope in ordered
    ]


def place_labels() -> tuple[tuple[str, str, str], ...]:
    """(label, governorate, scope) for every name, capital, alias and area place in use."""
    labels: list[tuple[str, str, str]] = []
    for g in gazetteer.governorates():
        for label in (g.name, g.capital, *g.aliases):
            scope = "area" if g.administered_from and label != g.capital else "city"
            labels.append((label, g.name, scope))
    known = {g.name for g in gazetteer.governorates()}
    for place, towns in AREA_PLACES.items():
        if place in known:
            labels += [(town, place, "area") for town in towns]
    return tuple(labels)


def _fuzzy_place(word: str) -> str | None:
    """A capital misspelled by one letter ("Quneitrea"): close matches of long words only."""
    import difflib

    names = {g.capital: g.name for g in gazetteer.governorates() if len(g.capital) >= 6}
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=0.9)
    return names[close[0]] if close else None


def find_places(sentence: str) -> list[Mention]:
    """Every place the sentence names, with its governorate and scope, in order of the text."""
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for pattern, place, scope in _place_patterns(place_labels()):
        for m in pattern.finditer(sentence):
            if free(m.start(), m.end()):
                taken.append((m.start(), m.end()))
                found.append(Mention(m.start(), m.end(), place, scope, m.group(0)))
    for m in re.finditer(r"\bthe (?:Syrian |country[’']s )?capital\b", sentence, re.IGNORECASE):
        if free(m.start(), m.end()):
            taken.append((m.start(), m.end()))
            found.append(Mention(m.start(), m.end(), "Damascus", "city", m.group(0)))
    for m in re.finditer(
        r"\b(?:much of|large portions of|parts of) the "
        r"(?:country[’']s south|southern part of the country|south)\b",
        sentence,
        re.IGNORECASE,
    ):
        if "south" in m.group(0).casefold() and free(m.start(), m.end()):
            taken.append((m.start(), m.end()))
            found.append(Mention(m.start(), m.end(), "Daraa", "area", m.group(0)))
    for m in re.finditer(r"\b[A-Z][a-z]{5,}\b", sentence):
        if free(m.start(), m.end()):
            place = _fuzzy_place(m.group(0))
            if place:
                taken.append((m.start(), m.end()))
                found.append(Mention(m.start(), m.end(), place, "city", m.group(0)))
    found.sort(key=lambda x: x.start)
    return [_surroundings(sentence, m) for m in found]


def _surroundings(sentence: str, m: Mention) -> Mention:
    """ "the outskirts of Damascus", "Damascus suburbs": the capital's surroundings (area)."""
    before = sentence[: m.start]
    after = sentence[m.end :]
    around = (
        re.search(rf"\b{SURROUNDINGS}\s*$", before, re.IGNORECASE)
        or re.search(DISTANCE_FROM, before, re.IGNORECASE)
        or re.match(r"^[’']?s? ?(?:suburbs?|outskirts|countryside)\b", after, re.IGNORECASE)
    )
    if not around or m.scope == "area":
        return m
    place = "Rif Dimashq" if m.place == "Damascus" else m.place
    return replace(m, place=place, scope="area")


# --- cues, actors, dates ----------------------------------------------------------------------


@cache
def _compiled(
    table: tuple[tuple[str, tuple[str, ...]], ...], flags: int
) -> list[tuple[str, re.Pattern[str]]]:
    return [(key, re.compile(rf"\b(?:{'|'.join(pats)})\b", flags)) for key, pats in table]


def _find(
    table: Mapping[str, tuple[str, ...]], text: str, flags: int = re.IGNORECASE
) -> list[tuple[int, int, str, str]]:
    hits: list[tuple[int, int, str, str]] = []
    for key, pattern in _compiled(tuple(table.items()), flags):
        for m in pattern.finditer(text):
            if not any(s <= m.start() < e for s, e, _, _ in hits):
                hits.append((m.start(), m.end(), key, m.group(0)))
    return sorted(hits)


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def _actor_hits(sentence: str) -> list[tuple[int, int, str, str]]:
    named = {k: v for k, v in ACTORS.items() if k not in ("government", "rebel", "hts", "sdf", "sna")}
    hits = _find({k: ACTORS[k] for k in ("hts", "sdf", "sna")}, sentence, 0)  # acronyms: case matters
    hits += [h for h in _find(named, sentence) if not any(s <= h[0] < e for s, e, _, _ in hits)]
    for h in _find({"government": ACTORS["government"], "rebel": ACTORS["rebel"]}, sentence):
        if not any(s <= h[0] < e for s, e, _, _ in hits):
            hits.append(h)
    return sorted(hits)


def _choose_actor(
    kind: str, place: str, scope: str, sentence: str, cue_at: int, person: bool
) -> tuple[str, bool, str | None]:
    """(actor, named, previous controller) for a candidate."""
    hits = _actor_hits(sentence)
    rebels = [h for h in hits if h[2] not in ("government", "rebel")]
    government = [h for h in hits if h[2] == "government"]
    by_government = kind == "denial" or (kind == "claim" and (person or GOVERNMENT_CLAIMS.search(sentence)))
    if by_government or (kind == "withdrawal" and (not rebels or government)):
        return "government", bool(government), None
    if not rebels and government and not any(h[2] == "rebel" for h in hits):
        return "government", True, None  # the government retakes a city
    if rebels:
        best = min(rebels, key=lambda h: abs(h[0] - cue_at))
        actor = best[2]
        previous = "government" if kind in ("capture", "handover") and actor != "government" else None
        if actor == "sna" and re.search(r"\bKurdish\b", sentence):
            previous = "sdf"
        return actor, True, previous
    actor = REGIONAL_ACTOR.get(place, DEFAULT_REBEL)
    previous = "government" if kind in ("capture", "handover") else None
    return actor, False, previous


def _date_phrase(sentence: str, cue_at: int) -> str:
    """The words dating the event: the date phrase nearest the cue, else 'by report'."""
    found: list[tuple[int, str]] = []
    for pattern, words in DATE_PHRASES:
        for m in re.finditer(pattern, sentence, re.IGNORECASE):
            if any(s <= m.start() < s + len(w) for s, w in found):
                continue
            if DATE_OF_OTHER.search(sentence[: m.start()]):
                continue
            found.append((m.start(), words or m.group(0)))
    if not found:
        return "by report"
    return min(found, key=lambda f: abs(f[0] - cue_at))[1]


def resolve_when(
    words: str, published: datetime | None, campaign_start: datetime, where: str = "when"
) -> Window | None:
    """The window of ``words`` against the publication time; None if relative and none is known.

    Absolute dates ("December 6") resolve without a publication time; a window never ends after
    its report, and never starts before the ledger's baseline."""
    key = words.casefold().removeprefix("on ").strip()
    if published is None:
        if key in RELATIVE:
            return None
        from datetime import UTC

        # an absolute date: in the campaign's year (the window is not capped by any report)
        year_end = datetime(campaign_start.year, 12, 31, 12, tzinfo=UTC)
        return window_from_words(words, year_end, campaign_start, where, gazetteer.current().zone)
    window = window_from_words(words, published, campaign_start, where, gazetteer.current().zone)
    window = bounded(window, published, None, where)
    baseline = gazetteer.baseline_as_of()
    if window.latest <= baseline:
        raise UserError(f"{where}: {words!r} lies before the record begins ({iso(baseline)})")
    return Window(max(window.earliest, baseline), window.latest)


# --- extraction -------------------------------------------------------------------------------


def _anaphora(sentence: str, previous: Sequence[Mention], here: Sequence[Mention] = ()) -> list[Mention]:
    """ "the city" refers to the last capital named before it, in the sentence or the ones before."""
    out = []
    for m in re.finditer(r"\bthe (?:city(?: cent(?:er|re))?|central city)\b(?! of)", sentence, re.IGNORECASE):
        before = [p for p in previous if p.end <= m.start() or p not in here]
        if before:
            last = before[-1]
            place = "Damascus" if last.place == "Rif Dimashq" else last.place
            out.append(_surroundings(sentence, Mention(m.start(), m.end(), place, "city", m.group(0))))
    return out


def _cue_for(
    mention: Mention, cues: Sequence[tuple[int, int, str, str]], sentence: str, others: Sequence[Mention]
) -> tuple[int, int, str, str] | None:
    """The cue that governs a place: a denial before it; else the nearest cue before it (at most
    8 words, 12 through "including", no other place between), else after it (at most 6 words)."""
    denials = [c for c in cues if c[2] == "denial" and c[0] < mention.start]
    if denials:
        return denials[-1]

    def near(a: int, b: int, limit: int) -> bool:
        gap = sentence[a:b]
        if re.search(r"\b(?:including|such as|namely|like)\b", gap):
            limit += 4
        return _words(gap) <= limit and not any(a <= o.start and o.end <= b for o in others)

    before = [c for c in cues if c[1] <= mention.start and near(c[1], mention.start, 8)]
    after = [c for c in cues if c[0] >= mention.end and _words(sentence[mention.end : c[0]]) <= 6]
    strong_before = [c for c in before if not WEAK.search(c[3])]
    strong_after = [c for c in after if not WEAK.search(c[3])]
    if strong_before or strong_after:
        before, after = strong_before, strong_after
    if before:
        return before[-1]
    if after:
        return after[0]
    return None


_LISTY = re.compile(
    r"^(?:[\s,;]|and|or|as well as|in|the|of|north|south|east|west|centre|center|city|province|"
    r"northern|southern|eastern|western|\(|\)|[A-Z][\w\-’']*)*$"
)


def extract(
    text: str,
    published: datetime | None,
    campaign_start: datetime,
    file: str = "",
) -> list[Candidate]:
    """Candidate events of an article, in the order of its text (pure: text in, candidates out)."""
    out: list[Candidate] = []
    seen: set[tuple[str, str, str, str]] = set()
    context: list[Mention] = []
    for s in sentences(text):
        mentions = find_places(s.text)
        mentions = sorted(
            [*mentions, *_anaphora(s.text, [*context, *mentions], mentions)], key=lambda m: m.start
        )
        cues = _find(CUES, s.text)
        said = PERSON.search(s.text)
        person = bool(said)
        if said and not any(m.place == "Damascus" for m in mentions):
            kinds = {c[2] for c in cues}
            kind = "denial" if "denial" in kinds else "claim" if "claim" in kinds else None
            if kind:
                cue = next(c for c in cues if c[2] == kind)
                at = said.start()
                mentions.append(Mention(at, at, "Damascus", "city", ""))
                cues = [*cues, (at, at, kind, cue[3])]
                mentions.sort(key=lambda m: m.start)
        previous_cue: tuple[int, int, str, str] | None = None
        previous_place = ""
        previous_end = -1
        for m in mentions:
            cue = _cue_for(m, cues, s.text, mentions)
            gap = s.text[previous_end : m.start] if previous_end >= 0 else ""
            listed = previous_cue and previous_end >= 0 and _words(gap) <= 6 and _LISTY.match(gap.strip())
            if listed and (cue is None or cue[0] < previous_end or previous_place == m.place):
                cue = previous_cue
            previous_cue, previous_end, previous_place = cue, m.end, m.place
            if cue is None:
                continue
            kind = cue[2]
            if kind == "capture" and CLAIM_BEFORE.search(s.text[: cue[0]]):
                kind = "claim"
            end = max(cue[1], m.end)
            comma = s.text.find(",", end)
            clause = s.text[
                max(0, min(cue[0], m.start) - 40) : min(end + 40, comma if comma >= 0 else len(s.text))
            ]
            if kind != "denial" and MODAL.search(clause):
                continue
            scope = m.scope
            if person and m.place == "Damascus" and (kind == "denial" or GOVERNMENT_CLAIMS.search(cue[3])):
                scope = "person"
            actor, named, prev = _choose_actor(kind, m.place, scope, s.text, cue[0], scope == "person")
            key = (kind, m.place, scope, s.text)
            if key in seen:
                continue
            seen.add(key)
            words = _date_phrase(s.text, cue[0])
            where = f"line {s.line}"
            try:
                window = resolve_when(words, published, campaign_start, where)
            except UserError:
                words = "by report"
                window = resolve_when(words, published, campaign_start, where)
            capital = next(g.capital for g in gazetteer.governorates() if g.name == m.place)
            out.append(
                Candidate(
                    kind=kind,
                    place=m.place,
                    capital=capital,
                    actor=actor,
                    actor_named=named,
                    scope=scope,
                    quote=s.text,
                    line=s.line,
                    when=words,
                    window=window,
                    file=file,
                    previous=prev,
                    cue=cue[3],
                )
            )
        mine = [c for c in out if c.quote == s.text and c.line == s.line]
        weak = {id(c) for c in mine if WEAK.search(c.cue) and any(
            o.place == c.place and o.scope == c.scope and not WEAK.search(o.cue) for o in mine
        )}  # fmt: skip
        out = [c for c in out if id(c) not in weak]
        context = [*context, *[m for m in mentions if m.scope == "city"]][-3:]
    return out


# --- the store: duplicates and corroborations -------------------------------------------------


def live(events: Iterable[Any]) -> list[Any]:
    """Events minus corrections and what the corrections in force retract."""
    events = list(events)
    corrections = {e.id: e for e in events if e.kind == "correction"}
    in_force = dict.fromkeys(corrections, True)
    for _ in range(len(corrections) + 1):  # a correction of a correction restores its target
        changed = False
        for cid in corrections:
            retracted = any(in_force.get(o) and cid in corrections[o].targets for o in corrections)
            if in_force[cid] == retracted:
                in_force[cid] = not retracted
                changed = True
        if not changed:
            break
    dropped = {t for cid, c in corrections.items() if in_force[cid] for t in c.targets}
    return [e for e in events if e.kind not in ("correction", "baseline") and e.id not in dropped]


def quotes_match(a: str, b: str) -> bool:
    """One quote contains the other, or they share most of their words (of the shorter one)."""
    if a in b or b in a:
        return True
    wa, wb = set(_tokens(a)), set(_tokens(b))
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) >= 0.6


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold().replace("’", "'"))


def _same_file(a: str, b: str) -> bool:
    """The same source file: paths in the store are relative to the TOML file that added them."""
    return a == b or PurePath(a).name == PurePath(b).name


def mark(candidates: Sequence[Candidate], events: Iterable[Any]) -> list[Candidate]:
    """Each candidate marked against the store: ``duplicate`` (the same report is already there:
    same file and quote, place, kind, actor, overlapping window), ``corroborates`` (another report
    of the same change or statement: same place, kind, new controller, overlapping window), else
    ``new``."""
    stored = live(events)
    out = []
    for c in candidates:
        same = [
            e
            for e in stored
            if e.place == c.place
            and e.kind == c.kind
            and e.actor == c.actor
            and (c.window is None or e.window.overlaps(c.window) or e.window == c.window)
        ]
        dupes = [
            e.id for e in same if _same_file(e.source.file, c.file) and quotes_match(e.source.quote, c.quote)
        ]
        if dupes:
            out.append(replace(c, status="duplicate", matches=tuple(sorted(dupes))))
            continue
        corro = [e.id for e in same if e.scope == c.scope]
        if corro:
            out.append(replace(c, status="corroborates", matches=tuple(sorted(corro))))
        else:
            out.append(c)
    return out


# --- measurement ------------------------------------------------------------------------------


@dataclass
class Score:
    """Recall, precision and actor accuracy of candidates against curated events."""

    events: int = 0
    found: int = 0  # events matched by some candidate
    candidates: int = 0
    correct: int = 0  # candidates matching some event
    actor_pairs: int = 0
    actor_right: int = 0
    missed: list[Any] = field(default_factory=list)
    wrong: list[Candidate] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.events if self.events else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.candidates if self.candidates else 0.0

    @property
    def actor_accuracy(self) -> float:
        return self.actor_right / self.actor_pairs if self.actor_pairs else 0.0

    def add(self, other: Score) -> Score:
        return Score(
            self.events + other.events,
            self.found + other.found,
            self.candidates + other.candidates,
            self.correct + other.correct,
            self.actor_pairs + other.actor_pairs,
            self.actor_right + other.actor_right,
            self.missed + other.missed,
            self.wrong + other.wrong,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "found": self.found,
            "candidates": self.candidates,
            "correct": self.correct,
            "recall": round(self.recall, 3),
            "precision": round(self.precision, 3),
            "actor_accuracy": round(self.actor_accuracy, 3),
            "actor_pairs": self.actor_pairs,
        }


def matches(c: Candidate, e: Any) -> bool:
    """A candidate matches an event when file, place and kind agree and the quotes match (one
    contains the other or they share most words). Area-scope events count by their place."""
    return (
        c.file == e.source.file
        and c.place == e.place
        and c.kind == e.kind
        and quotes_match(c.quote, e.source.quote)
    )


def score(candidates: Sequence[Candidate], events: Sequence[Any]) -> Score:
    """Measure candidates of some files against the live events quoting those files."""
    result = Score(events=len(events), candidates=len(candidates))
    hit: set[int] = set()
    for c in candidates:
        matched = [i for i, e in enumerate(events) if matches(c, e)]
        if matched:
            result.correct += 1
            hit.update(matched)
            result.actor_pairs += 1
            result.actor_right += any(events[i].actor == c.actor for i in matched)
        else:
            result.wrong.append(c)
    result.found = len(hit)
    result.missed = [e for i, e in enumerate(events) if i not in hit]
    return result


def evaluate(
    texts: Mapping[str, str],
    published: Mapping[str, datetime],
    events: Iterable[Any],
    campaign_start: datetime,
) -> dict[str, Score]:
    """Per file: extract from its text and score against the live events quoting it."""
    truth = live(events)
    return {
        name: score(
            extract(text, published.get(name), campaign_start, name),
            [e for e in truth if e.source.file == name],
        )
        for name, text in texts.items()
    }

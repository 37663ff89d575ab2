"""Assisted extraction: candidate events from an article's text, by rules over its sentences.

Pure functions, no network, no model: the text is split into sentences; in each, the places are
found with the gazetteer's names, capitals and aliases (spellings differ: "Deir al-Zor", "Deir Ez
Zor", "Sweida", "Suweida", "Hassaka"), plus phrases ("the outskirts of Damascus", "the capital")
and, for the built-in gazetteer, a few towns that stand for a governorate's surroundings (``scope =
"area"``). Each place takes the nearest cue of an event kind (verbs and phrases: "seized",
"withdrew", "denied", "encircling", ...), the actor named nearest to that cue (or the region's usual
actor where the article says only "the rebels"), and the date phrase nearest to the cue, resolved
against the publication time in the gazetteer's time zone
(:func:`control.model.times.window_from_words`). The quote is the whole sentence, an exact
substring of the text.

What the places and actors are called comes from the gazetteer, passed as a value
(:func:`vocabulary`): a user gazetteer's place names and aliases, its controllers' names and
aliases, its ``capital`` and ``focus``; the built-in gazetteer's vocabulary (Syria's actors, towns,
"the capital" = Damascus) is data, ``control/data/extract_vocabulary.json``. The English of the
rules (cues, modal words, dates) is the code's.

Every step is linear in the sentence: places are found by one pass over its words (a dictionary of
the gazetteer's labels, not a regular expression per label), and each place looks for its cue,
actor and date among a few neighbours found by bisection, so a long article, a long sentence or a
sentence naming a place thousands of times takes time in proportion to its length.

:func:`mark` compares candidates with the events of a store (duplicates and corroborations);
:func:`score` measures candidates against curated events (recall, precision, actor accuracy).

Long: the extraction rules are one grammar over a sentence (places, actors, cues, dates,
negation), read together; the vocabulary is data (the gazetteer and
``control/data/extract_vocabulary.json``), the rules are code, and each rule is pinned by a test.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from functools import cache
from itertools import pairwise
from pathlib import Path, PurePath
from typing import Any

from control.model import gazetteer as gazetteers
from control.model.errors import UserError
from control.model.gazetteer import Gazetteer
from control.model.times import Window, bounded, iso, window_from_words

#: The vocabulary's data file, beside the built-in gazetteer's.
VOCABULARY_FILE = "extract_vocabulary.json"
#: How far back (characters) a phrase before a place or cue is looked for ("the outskirts of",
#: "on the verge of", "began on"): bounded, so each look is constant work in a long sentence.
WINDOW = 300
#: The key of an armed side the sentence does not name ("the rebels"); never a controller's code.
OPPONENT = ""
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
        r"fell", r"re-?(?:took|taken|take|takes|taking)", r"re-?captur(?:e|ed|es|ing)",
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
#: Claims made by the side that holds a place (that it holds, fortifies, that its leader stays).
GOVERNMENT_CLAIMS = re.compile(
    r"security ring|fortif|remain|staying put|returned to|stable and secured", re.IGNORECASE
)
#: What a leader does in a statement about a person (scope "person"): fled, stays, returned.
PERSON_VERBS = (
    r"\s+(?:\w+\s+){0,3}?(?:fled|left|flee|remain(?:s|ed)?|"
    r"staying put|stays|returned|continu(?:e|ed|es|ing) (?:to govern|his duties|to perform))\b"
)
#: Words that make a clause hypothetical, an intent or a forecast: no event.
MODAL = re.compile(
    r"\b(?:if|could|would|might|(?-i:may)|will|unless|whether|next target|plan(?:s|ning)? to|"
    r"preparing|aim(?:s|ing)? to|intend(?:s|ing)? to|threat to|likely to|expected to|looks like|possib\w*)\b",
    re.IGNORECASE,
)
#: "the capital of West Darfur" names another place's capital, not the country's.
NOT_OF = r"(?!\s+(?:city\s+)?of\b)"

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
_WORD = re.compile(r"\w+")


#: A text whose lines are all this short, some ending mid-sentence, is wrapped: its paragraphs
#: (lines up to a blank one) are read whole, so a sentence may run across lines.
WRAPPED = 120
_ENDS = re.compile(r"[.!?:;\"”’)\]]\s*$")


def sentences(text: str) -> list[Sentence]:
    """The article's sentences: each line (each paragraph, in a text wrapped at a fixed width)
    split at sentence ends (abbreviations kept whole)."""
    lines = text.splitlines(keepends=True)
    if _wrapped(lines):
        return _paragraph_sentences(text, lines)
    out: list[Sentence] = []
    offset = 0
    for line_no, line in enumerate(lines, 1):
        _split(out, line.rstrip("\r\n"), offset, line_no)
        offset += len(line)
    return out


def _split(out: list[Sentence], body: str, offset: int, line_no: int) -> None:
    start = 0
    for m in _BOUNDARY.finditer(body):
        end = m.start()
        while end > 0 and body[end - 1] in "\"”’')]":
            end -= 1
        if _ABBREV.search(body, max(0, end - 12), end):  # an abbreviation ends there: no end
            continue
        _add(out, body, start, m.start(), offset, line_no)
        start = m.end()
    _add(out, body, start, len(body), offset, line_no)


def _wrapped(lines: Sequence[str]) -> bool:
    bodies = [line.rstrip("\r\n") for line in lines]
    if not bodies or max(len(b) for b in bodies) > WRAPPED:
        return False
    return any(a.strip() and b.strip() and not _ENDS.search(a) for a, b in pairwise(bodies))


def _paragraph_sentences(text: str, lines: Sequence[str]) -> list[Sentence]:
    starts: list[int] = []  # each line's offset
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line)
    out: list[Sentence] = []
    first: int | None = None
    for n, line in enumerate([*lines, ""]):
        if line.strip() and first is None:
            first = n
        elif not line.strip() and first is not None:
            last = lines[n - 1].rstrip("\r\n")
            body = text[starts[first] : starts[n - 1] + len(last)]
            _split(out, body, starts[first], first + 1)
            first = None
    # a sentence's line is the line it starts on
    return [replace(s, line=bisect_right(starts, s.start)) for s in out]


def _add(out: list[Sentence], body: str, start: int, end: int, offset: int, line: int) -> None:
    piece = body[start:end]
    stripped = piece.strip()
    words = _WORD.finditer(stripped)
    if next(words, None) and next(words, None) and next(words, None):  # three words or more
        lead = len(piece) - len(piece.lstrip())
        out.append(Sentence(stripped, offset + start + lead, line))


# --- the vocabulary: what the gazetteer's places and actors are called --------------------------


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (Path(__file__).parent.parent / "data" / VOCABULARY_FILE).read_text("utf-8")
    )
    return data


_CHUNK = re.compile(r"[^\W_]+")
_SEPARATORS = re.compile(r"[\s\-‐’'`]*")


class PlaceIndex:
    """The gazetteer's labels, found in a sentence in one pass over its words.

    A label matches where the regular expression of its words joined by optional separators
    (spaces, hyphens, apostrophes) would, case-insensitively, not inside a longer word: the
    sentence's words from a word start, joined across separator-only gaps, spell the label's
    words, and split only where the label's words split ("Deir Ez Zor", "Deirez-Zor", "Deir
    ez-Zor"). Longer labels win where matches overlap ("Deir ez-Zor" before "Zor")."""

    def __init__(self, labels: Sequence[tuple[str, str, str]]) -> None:
        self.labels = tuple(labels)
        ordered = sorted(labels, key=lambda x: -len(x[0]))  # stable: the gazetteer's order
        self.keys: dict[str, list[tuple[int, frozenset[int], str, str]]] = {}
        self.most_words = 1
        self.longest = 0
        self.prefixes: set[str] = set()  # a label's first words, joined: where a match may go on
        for rank, (label, place, scope) in enumerate(ordered):
            chunks = [c.casefold() for c in _CHUNK.findall(label)]
            if not chunks:
                continue
            key, bounds = "", set()
            for c in chunks:
                key += c
                bounds.add(len(key))
                self.prefixes.add(key)
            self.keys.setdefault(key, []).append((rank, frozenset(bounds), place, scope))
            self.most_words = max(self.most_words, len(chunks))
            self.longest = max(self.longest, len(key))

    def find(self, sentence: str) -> list[tuple[int, int, int, str, str]]:
        """(rank, start, end, place, scope) of every label match (overlapping ones included)."""
        folded = sentence.casefold()
        if len(folded) == len(sentence):  # (almost always) fold once, cut the words from it
            runs = [(m.start(), m.end(), folded[m.start() : m.end()]) for m in _CHUNK.finditer(sentence)]
        else:
            runs = [(m.start(), m.end(), m.group(0).casefold()) for m in _CHUNK.finditer(sentence)]
        found: list[tuple[int, int, int, str, str]] = []
        size = len(sentence)
        for i, (start, _, _) in enumerate(runs):
            if start > 0 and sentence[start - 1] in "_-":  # inside a longer word or name
                continue
            key = ""
            splits: list[int] = []
            if runs[i][2] not in self.prefixes:
                continue
            for j in range(i, min(i + self.most_words, len(runs))):
                if j > i:
                    gap_start = runs[j - 1][1]
                    if _SEPARATORS.fullmatch(sentence, gap_start, runs[j][0]) is None:
                        break
                    splits.append(len(key))
                key += runs[j][2]
                if key not in self.prefixes:
                    break
                entries = self.keys.get(key)
                if not entries:
                    continue
                end = runs[j][1]
                if end < size and sentence[end] in "_-":
                    continue
                for rank, bounds, place, scope in entries:
                    if bounds.issuperset(splits):
                        found.append((rank, start, end, place, scope))
        return found


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """What extraction needs of a gazetteer, built once per gazetteer (:func:`vocabulary`)."""

    gazetteer: Gazetteer
    places: PlaceIndex
    capital: str | None  # the place "the capital" means, if the gazetteer says
    capital_re: re.Pattern[str] | None
    phrases: tuple[tuple[re.Pattern[str], str, str], ...]
    focus: str | None  # the state's side: generic words for a state's forces name it
    actor_groups: tuple[tuple[tuple[str, re.Pattern[str]], ...], ...]
    regional: Mapping[str, str]
    default_opponent: str | None
    previous: tuple[tuple[str, re.Pattern[str], str], ...]
    person_re: re.Pattern[str]
    capitals: Mapping[str, str]  # place -> its capital (the city's label)
    area_of: Mapping[str, str]  # place -> the place administered from its capital (its surroundings)
    city_of: Mapping[str, str]  # an area place -> the place whose capital it is administered from
    fuzzy_names: Mapping[str, str]  # capital -> place, for capitals of 6 letters or more
    fuzzy_by_length: Mapping[int, tuple[str, ...]]
    fuzzy_cache: dict[str, str | None] = field(default_factory=dict)

    @property
    def baseline_as_of(self) -> datetime:
        return self.gazetteer.baseline_as_of

    @property
    def zone(self) -> tzinfo:
        """The time zone words are read in: the gazetteer's."""
        return self.gazetteer.zone

    def unnamed(self, place: str) -> str:
        """The actor of a capture or claim whose sentence names no armed side: the region's usual
        actor, else the gazetteer's default, else the one controller besides the focus (or
        besides the place's baseline holder), else the first such in the gazetteer's order."""
        found = self.regional.get(place) or self.default_opponent
        if found:
            return found
        g = self.gazetteer
        holder = self.focus or next((p.baseline for p in g.places if p.name == place), "")
        others = [c for c in g.controllers if c != holder]
        return others[0] if others else ""

    def fuzzy(self, word: str) -> str | None:
        """A capital misspelled by one letter ("Quneitrea"): close matches of long words only."""
        if word not in self.fuzzy_cache:
            import difflib

            names = self.fuzzy_names
            # a ratio of 0.9 needs lengths within a factor of 1.23: fewer names to compare
            size = len(word)
            pool = [
                n
                for length in range(int(size * 0.8), int(size * 1.25) + 2)
                for n in self.fuzzy_by_length.get(length, ())
                if size * 0.8 <= len(n) <= size * 1.25
            ]
            close = difflib.get_close_matches(word, pool, n=1, cutoff=0.9)
            if len(self.fuzzy_cache) > 100_000:
                self.fuzzy_cache.clear()
            self.fuzzy_cache[word] = names[close[0]] if close else None
        return self.fuzzy_cache[word]


def _alias_pattern(alias: str) -> str:
    """A literal alias as a pattern: its words joined by any spaces or hyphens."""
    return r"[\s\-‐]+".join(re.escape(w) for w in re.split(r"[\s\-‐]+", alias.strip()) if w)


def _group(table: Mapping[str, Sequence[str]], flags: int) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (key, re.compile(rf"\b(?:{'|'.join(pats)})\b", flags)) for key, pats in table.items() if pats
    )


_VOCABULARIES: dict[int, tuple[Gazetteer, Vocabulary]] = {}


def vocabulary(gazetteer: Gazetteer | None = None) -> Vocabulary:
    """The vocabulary of ``gazetteer`` (None: the built-in one), built once per gazetteer value."""
    g = gazetteer if gazetteer is not None else gazetteers.builtin()
    held = _VOCABULARIES.get(id(g))
    if held is not None and held[0] is g:
        return held[1]
    made = _build(g)
    if len(_VOCABULARIES) > 16:
        _VOCABULARIES.clear()
    _VOCABULARIES[id(g)] = (g, made)
    return made


def _build(g: Gazetteer) -> Vocabulary:
    data = _data()
    english: dict[str, Any] = data["english"]
    own: dict[str, Any] = data["builtin"] if g.builtin else {}
    names = {p.name for p in g.places}
    labels: list[tuple[str, str, str]] = []
    for p in g.places:
        for label in (p.name, p.capital, *p.aliases):
            scope = "area" if p.administered_from and label != p.capital else "city"
            labels.append((label, p.name, scope))
    for place, towns in own.get("area_places", {}).items():
        if place in names and isinstance(towns, list):
            labels += [(town, place, "area") for town in towns]
    capital_label = getattr(g, "labels", {}).get("capital") or own.get("capital")
    capital = None
    if capital_label:
        found = g.by_name().get(capital_label) or g.index().get(gazetteers._key(capital_label))
        capital = found.name if found else None
    capital_re = None
    if capital:
        words = own.get("capital_words") or english["capital_words"]
        capital_re = re.compile(rf"\b(?:{'|'.join(words)})\b{NOT_OF}", re.IGNORECASE)
    phrases = tuple(
        (re.compile(p["pattern"], re.IGNORECASE), p["place"], p.get("scope", "area"))
        for p in own.get("phrases", ())
        if p["place"] in names
    )
    focus = getattr(g, "focus", None)
    focus = focus if focus in g.controllers else None
    aliases = getattr(g, "controller_aliases", {})
    settings = getattr(g, "controller_settings", {})
    exact: dict[str, list[str]] = {}  # acronyms and the built-in names: case matters
    folded: dict[str, list[str]] = {}
    for code, spec in own.get("actors", {}).items():
        if code in g.controllers:
            (exact if spec.get("case_sensitive") else folded).setdefault(code, []).extend(spec["patterns"])
    for code in g.controllers:
        given = settings.get(code)
        for alias in (*((given.name,) if given and given.name else ()), *aliases.get(code, ())):
            acronym = alias.isupper() and len(alias) <= 6
            (exact if acronym else folded).setdefault(code, []).append(_alias_pattern(alias))
    generic: dict[str, list[str]] = {}
    if focus:
        generic[focus] = list(own.get("state_words") or english["state_words"])
    generic[OPPONENT] = list(english["opponent_words"])
    leaders = own.get("leader_words") or english["leader_words"]
    host = {p.name: p for p in g.places}
    by_capital = g.by_capital()
    area_of: dict[str, str] = {}
    city_of: dict[str, str] = {}
    for p in g.places:
        if p.administered_from and p.administered_from in by_capital:
            city = by_capital[p.administered_from].name
            area_of.setdefault(city, p.name)
            city_of[p.name] = city
    fuzzy = {p.capital: p.name for p in g.places if len(p.capital) >= 6}
    return Vocabulary(
        gazetteer=g,
        places=PlaceIndex(labels),
        capital=capital,
        capital_re=capital_re,
        phrases=phrases,
        focus=focus,
        actor_groups=(_group(exact, 0), _group(folded, re.IGNORECASE), _group(generic, re.IGNORECASE)),
        regional={
            k: v for k, v in own.get("regional_actor", {}).items() if k in names and v in g.controllers
        },
        default_opponent=own.get("default_opponent")
        if own.get("default_opponent") in g.controllers
        else None,
        previous=tuple(
            (r["actor"], re.compile(r["pattern"]), r["from"])
            for r in own.get("previous", ())
            if r["actor"] in g.controllers and r["from"] in g.controllers
        ),
        person_re=re.compile(rf"\b(?:{'|'.join(leaders)})\b{PERSON_VERBS}", re.IGNORECASE),
        capitals={name: p.capital for name, p in host.items()},
        area_of=area_of,
        city_of=city_of,
        fuzzy_names=fuzzy,
        fuzzy_by_length={n: tuple(c for c in fuzzy if len(c) == n) for n in {len(c) for c in fuzzy}},
    )


# --- places -----------------------------------------------------------------------------------


def place_labels(gazetteer: Gazetteer | None = None) -> tuple[tuple[str, str, str], ...]:
    """(label, place, scope) for every name, capital, alias and area town of the gazetteer."""
    return vocabulary(gazetteer).places.labels


class _Taken:
    """The characters of a sentence already taken by a mention (constant work per check)."""

    def __init__(self, size: int) -> None:
        self.marks = bytearray(size + 1)

    def free(self, a: int, b: int) -> bool:
        return a == b or self.marks.find(1, a, b) < 0

    def take(self, a: int, b: int) -> None:
        self.marks[a:b] = b"\x01" * (b - a)


_FUZZY_WORD = re.compile(r"\b[A-Z][a-z]{5,}\b")


def find_places(sentence: str, gazetteer: Gazetteer | None = None) -> list[Mention]:
    """Every place the sentence names, with its place and scope, in order of the text."""
    return _find_places(sentence, vocabulary(gazetteer))


def _find_places(sentence: str, v: Vocabulary) -> list[Mention]:
    found: list[Mention] = []
    taken = _Taken(len(sentence))
    for _, start, end, place, scope in sorted(v.places.find(sentence), key=lambda x: (x[0], x[1])):
        if taken.free(start, end):
            taken.take(start, end)
            found.append(Mention(start, end, place, scope, sentence[start:end]))
    if v.capital_re is not None and v.capital:
        for m in v.capital_re.finditer(sentence):
            if taken.free(m.start(), m.end()):
                taken.take(m.start(), m.end())
                found.append(Mention(m.start(), m.end(), v.capital, "city", m.group(0)))
    for pattern, place, scope in v.phrases:
        for m in pattern.finditer(sentence):
            if taken.free(m.start(), m.end()):
                taken.take(m.start(), m.end())
                found.append(Mention(m.start(), m.end(), place, scope, m.group(0)))
    if v.fuzzy_names:
        for m in _FUZZY_WORD.finditer(sentence):
            if taken.free(m.start(), m.end()):
                place = v.fuzzy(m.group(0))
                if place:
                    taken.take(m.start(), m.end())
                    found.append(Mention(m.start(), m.end(), place, "city", m.group(0)))
    found.sort(key=lambda x: x.start)
    return [_surroundings(sentence, m, v) for m in found]


_AROUND_BEFORE = re.compile(rf"\b{SURROUNDINGS}\s*$", re.IGNORECASE)
_DISTANCE_BEFORE = re.compile(DISTANCE_FROM, re.IGNORECASE)
_AROUND_AFTER = re.compile(r"[’']?s? ?(?:suburbs?|outskirts|countryside)\b", re.IGNORECASE)


def _surroundings(sentence: str, m: Mention, v: Vocabulary) -> Mention:
    """ "the outskirts of Damascus", "Damascus suburbs": the capital's surroundings (area)."""
    lo = max(0, m.start - WINDOW)
    around = (
        _AROUND_BEFORE.search(sentence, lo, m.start)
        or _DISTANCE_BEFORE.search(sentence, lo, m.start)
        or _AROUND_AFTER.match(sentence, m.end)
    )
    if not around or m.scope == "area":
        return m
    return replace(m, place=v.area_of.get(m.place, m.place), scope="area")


# --- cues, actors, dates ----------------------------------------------------------------------

Hit = tuple[int, int, str, str]  # start, end, key, the words


@cache
def _compiled(
    table: tuple[tuple[str, tuple[str, ...]], ...], flags: int
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return _group(dict(table), flags)


def _find_all(patterns: Sequence[tuple[str, re.Pattern[str]]], text: str) -> list[Hit]:
    """Every match of each key's pattern, in key order; a match starting inside an earlier one
    (of an earlier key) is dropped. Sorted by position."""
    hits: list[Hit] = []
    covered = bytearray(len(text) + 1)
    for key, pattern in patterns:
        mine = []
        for m in pattern.finditer(text):
            if not covered[m.start()]:
                mine.append((m.start(), m.end(), key, m.group(0)))
        for start, end, _, _ in mine:
            covered[start:end] = b"\x01" * (end - start)
        hits += mine
    return sorted(hits)


def _find(table: Mapping[str, tuple[str, ...]], text: str, flags: int = re.IGNORECASE) -> list[Hit]:
    return _find_all(_compiled(tuple(table.items()), flags), text)


def _words(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))


_DATE_PATTERNS = [(re.compile(p, re.IGNORECASE), words) for p, words in DATE_PHRASES]
_CLAIM_TAIL = CLAIM_BEFORE
_LIST_WORDS = re.compile(r"\b(?:including|such as|namely|like)\b")


class _Analysis:
    """One sentence, read once: its words, cues, actors, dates and modal words, with the lookups
    a place needs (bisection over positions), so each place costs constant work."""

    def __init__(self, text: str, v: Vocabulary) -> None:
        self.text = text
        self.v = v
        runs = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        self.run_starts = [a for a, _ in runs]
        self.run_ends = [b for _, b in runs]
        self._actors: list[Hit] | None = None
        self._dates: list[tuple[int, int, str]] | None = None  # (start, order found, words)
        self._date_starts: list[int] = []
        self._modal: list[tuple[int, int]] | None = None
        self._claims: bool | None = None
        self._claim_before: dict[int, bool] = {}

    def words(self, a: int, b: int) -> int:
        """How many words ``text[a:b]`` holds (a word cut at either edge counts)."""
        if b <= a:
            return 0
        return bisect_left(self.run_starts, b) - bisect_right(self.run_ends, a)

    def actor_hits(self) -> list[Hit]:
        if self._actors is None:
            hits: list[Hit] = []
            covered = bytearray(len(self.text) + 1)
            last = len(self.v.actor_groups) - 1
            for n, group in enumerate(self.v.actor_groups):
                # names first (acronyms, then others), then the generic words; a generic word
                # inside a name or another generic word ("government" in "anti-government") is
                # not a second actor
                kept = [h for h in _find_all(group, self.text) if not covered[h[0]]]
                for h in kept:
                    if n == last and covered[h[0]]:
                        continue
                    hits.append(h)
                    if n == last:
                        covered[h[0] : h[1]] = b"\x01" * (h[1] - h[0])
                if n != last:
                    for h in kept:
                        covered[h[0] : h[1]] = b"\x01" * (h[1] - h[0])
            self._actors = sorted(hits)
        return self._actors

    def claims(self) -> bool:
        if self._claims is None:
            self._claims = bool(GOVERNMENT_CLAIMS.search(self.text))
        return self._claims

    def claim_before(self, at: int) -> bool:
        if at not in self._claim_before:
            self._claim_before[at] = bool(_CLAIM_TAIL.search(self.text, max(0, at - WINDOW), at))
        return self._claim_before[at]

    def modal(self, a: int, b: int) -> bool:
        """Does a modal word lie in ``text[a:b]``?"""
        if self._modal is None:
            self._modal = [(m.start(), m.end()) for m in MODAL.finditer(self.text)]
            self._modal_starts = [s for s, _ in self._modal]
        i = bisect_left(self._modal_starts, a)
        return i < len(self._modal) and self._modal[i][1] <= b

    def date_phrase(self, cue_at: int) -> str:
        """The words dating the event: the date phrase nearest the cue, else 'by report'."""
        if self._dates is None:
            found: list[tuple[int, int, str]] = []
            covered = bytearray(len(self.text) + 1)
            for pattern, words in _DATE_PATTERNS:
                for m in pattern.finditer(self.text):
                    if covered[m.start()]:
                        continue
                    if DATE_OF_OTHER.search(self.text, max(0, m.start() - WINDOW), m.start()):
                        continue
                    said = words or m.group(0)
                    found.append((m.start(), len(found), said))
                    covered[m.start() : m.start() + len(said)] = b"\x01" * len(said)
            self._dates = sorted(found)
            self._date_starts = [d[0] for d in self._dates]
        if not self._dates:
            return "by report"
        i = bisect_left(self._date_starts, cue_at)
        near = self._dates[max(0, i - 1) : i + 1]
        # the nearest; between equals, the one found first (the earlier pattern, then position)
        return min(near, key=lambda d: (abs(d[0] - cue_at), d[1]))[2]


_FROM_BEFORE = re.compile(r"\bfrom\s+(?:the\s+)?$", re.IGNORECASE)


def _choose_actor(
    kind: str, place: str, a: _Analysis, cue_at: int, person: bool
) -> tuple[str, bool, str | None]:
    """(actor, named, previous controller) for a candidate."""
    v = a.v
    state = v.focus
    hits = a.actor_hits()
    taken_from: str | None = None
    if kind in ("capture", "handover"):  # "recaptured Sinja from the RSF": the RSF held it
        held = [h for h in hits if h[2] != OPPONENT and _FROM_BEFORE.search(a.text, max(0, h[0] - 20), h[0])]
        if held:
            taken_from = held[0][2]
            hits = [h for h in hits if h not in held]
    rebels = [h for h in hits if h[2] not in (state, OPPONENT)]
    government = [h for h in hits if state and h[2] == state]
    by_government = kind == "denial" or (kind == "claim" and (person or a.claims()))
    if state and (by_government or (kind == "withdrawal" and (not rebels or government))):
        return state, bool(government), None
    if state and not rebels and government and not any(h[2] == OPPONENT for h in hits):
        return state, True, taken_from  # the state's side retakes a city
    if rebels:
        best = min(rebels, key=lambda h: abs(h[0] - cue_at))
        actor = best[2]
        previous = state if kind in ("capture", "handover") and state and actor != state else None
        for who, pattern, before in v.previous:
            if actor == who and pattern.search(a.text):
                previous = before
        if taken_from and taken_from != actor:
            previous = taken_from
        return actor, True, previous
    actor = v.unnamed(place)
    previous = state if kind in ("capture", "handover") and state and actor != state else None
    return actor, False, previous


def resolve_when(
    words: str,
    published: datetime | None,
    campaign_start: datetime,
    where: str = "when",
    gazetteer: Gazetteer | None = None,
) -> Window | None:
    """The window of ``words`` against the publication time; None if relative and none is known.

    Absolute dates ("December 6") resolve without a publication time; a window never ends after
    its report, and never starts before the ledger's baseline (``gazetteer``'s: None, the
    built-in one). Words are read in the gazetteer's time zone."""
    v = vocabulary(gazetteer)
    return _resolve(words, published, campaign_start, where, v)


def _resolve(
    words: str, published: datetime | None, campaign_start: datetime, where: str, v: Vocabulary
) -> Window | None:
    key = words.casefold().removeprefix("on ").strip()
    if published is None:
        if key in RELATIVE:
            return None
        # an absolute date: in the campaign's year (the window is not capped by any report)
        year_end = datetime(campaign_start.year, 12, 31, 12, tzinfo=UTC)
        return window_from_words(words, year_end, campaign_start, where, v.zone)
    window = window_from_words(words, published, campaign_start, where, v.zone)
    window = bounded(window, published, None, where)
    baseline = v.baseline_as_of
    if window.latest <= baseline:
        raise UserError(f"{where}: {words!r} lies before the record begins ({iso(baseline)})")
    return Window(max(window.earliest, baseline), window.latest)


# --- extraction -------------------------------------------------------------------------------

_THE_CITY = re.compile(r"\bthe (?:city(?: cent(?:er|re))?|central city)\b(?! of)", re.IGNORECASE)


def _anaphora(
    sentence: str, context: Sequence[Mention], here: Sequence[Mention], v: Vocabulary
) -> list[Mention]:
    """ "the city" refers to the last capital named before it, in the sentence or the ones before."""
    out = []
    here_set = set(here)
    ends = [p.end for p in here]  # mentions of a sentence do not overlap: ends are in order
    for m in _THE_CITY.finditer(sentence):
        i = bisect_right(ends, m.start())
        last = here[i - 1] if i else None
        if last is None:
            last = next((p for p in reversed(context) if p.end <= m.start() or p not in here_set), None)
        if last is not None:
            place = v.city_of.get(last.place, last.place)
            out.append(_surroundings(sentence, Mention(m.start(), m.end(), place, "city", m.group(0)), v))
    return out


class _Cues:
    """A sentence's cues, for the lookups of :func:`_cue_for` by bisection."""

    def __init__(self, cues: Sequence[Hit], extra: Hit | None = None) -> None:
        self.extra = extra  # the cue of a statement about a person: after the others in order
        self.cues = list(cues)  # in order of position
        self.starts = [c[0] for c in self.cues]
        by_end = sorted(range(len(self.cues)), key=lambda i: self.cues[i][1])
        self.by_end = by_end
        self.ends = [self.cues[i][1] for i in by_end]
        self.denials = [i for i, c in enumerate(self.cues) if c[2] == "denial"]
        self.denial_starts = [self.cues[i][0] for i in self.denials]


def _cue_for(mention: Mention, cues: _Cues, a: _Analysis, others: _Others) -> Hit | None:
    """The cue that governs a place: a denial before it; else the nearest cue before it (at most
    8 words, 12 through "including", no other place between), else after it (at most 6 words)."""
    extra = cues.extra
    if extra and extra[2] == "denial" and extra[0] < mention.start:
        return extra
    d = bisect_left(cues.denial_starts, mention.start)
    if d:
        return cues.cues[cues.denials[d - 1]]
    sentence = a.text

    def near(x: int, y: int, limit: int) -> bool:
        count = a.words(x, y)
        if count > limit + 4:
            return False
        if _LIST_WORDS.search(sentence, x, y):
            limit += 4
        return count <= limit and not others.inside(x, y)

    # cues ending at most 12 words before the place (a gap of more words is never near)
    k = bisect_left(a.run_starts, mention.start)
    lo = a.run_ends[k - 13] if k > 12 else 0
    window = sorted(cues.by_end[bisect_left(cues.ends, lo) : bisect_right(cues.ends, mention.start)])
    before = [cues.cues[i] for i in window if near(cues.cues[i][1], mention.start, 8)]
    # cues starting at most 6 words after it
    j = bisect_right(a.run_ends, mention.end)
    hi = a.run_starts[j + 6] if j + 6 < len(a.run_starts) else len(sentence)
    after = [
        c
        for c in cues.cues[bisect_left(cues.starts, mention.end) : bisect_right(cues.starts, hi)]
        if a.words(mention.end, c[0]) <= 6
    ]
    if extra:
        if extra[1] <= mention.start and near(extra[1], mention.start, 8):
            before.append(extra)
        if extra[0] >= mention.end and a.words(mention.end, extra[0]) <= 6:
            after.append(extra)
    strong_before = [c for c in before if not WEAK.search(c[3])]
    strong_after = [c for c in after if not WEAK.search(c[3])]
    if strong_before or strong_after:
        before, after = strong_before, strong_after
    if before:
        return before[-1]
    if after:
        return after[0]
    return None


class _Others:
    """A sentence's mentions, to ask whether one lies wholly inside a stretch of it."""

    def __init__(self, mentions: Sequence[Mention]) -> None:
        self.starts = [m.start for m in mentions]  # sorted
        ends = [m.end for m in mentions]
        # smallest end among the mentions from index i on
        self.min_end = ends[:]
        for i in range(len(ends) - 2, -1, -1):
            self.min_end[i] = min(ends[i], self.min_end[i + 1])

    def inside(self, a: int, b: int) -> bool:
        i = bisect_left(self.starts, a)
        return i < len(self.starts) and self.min_end[i] <= b


_LISTY = re.compile(
    r"^(?:[\s,;]|and|or|as well as|in|the|of|north|south|east|west|centre|center|city|province|"
    r"northern|southern|eastern|western|\(|\)|[A-Z][\w\-’']*+)*$"
)


def extract(
    text: str,
    published: datetime | None,
    campaign_start: datetime,
    file: str = "",
    gazetteer: Gazetteer | None = None,
) -> list[Candidate]:
    """Candidate events of an article, in the order of its text (pure: text and gazetteer in,
    candidates out; None: the built-in gazetteer)."""
    v = vocabulary(gazetteer)
    out: list[Candidate] = []
    seen: set[tuple[str, str, str, str]] = set()
    context: list[Mention] = []
    for s in sentences(text):
        a = _Analysis(s.text, v)
        found = _find_places(s.text, v)
        mentions = sorted([*found, *_anaphora(s.text, context, found, v)], key=lambda m: m.start)
        cue_list = _find(CUES, s.text)
        said = v.person_re.search(s.text) if v.capital else None
        person = bool(said)
        extra: Hit | None = None
        if said and not any(m.place == v.capital for m in mentions):
            kinds = {c[2] for c in cue_list}
            kind = "denial" if "denial" in kinds else "claim" if "claim" in kinds else None
            if kind:
                cue = next(c for c in cue_list if c[2] == kind)
                at = said.start()
                mentions.append(Mention(at, at, v.capital or "", "city", ""))
                extra = (at, at, kind, cue[3])
                mentions.sort(key=lambda m: m.start)
        cues = _Cues(cue_list, extra)
        others = _Others(mentions)
        mine: list[Candidate] = []
        previous_cue: Hit | None = None
        previous_place = ""
        previous_end = -1
        for m in mentions:
            cue = _cue_for(m, cues, a, others)
            listed = False
            if previous_cue and previous_end >= 0 and a.words(previous_end, m.start) <= 6:
                gap = s.text[previous_end : m.start]
                listed = bool(_LISTY.match(gap.strip()))
            if listed and (cue is None or cue[0] < previous_end or previous_place == m.place):
                cue = previous_cue
            previous_cue, previous_end, previous_place = cue, m.end, m.place
            if cue is None:
                continue
            kind = cue[2]
            if kind == "capture" and a.claim_before(cue[0]):
                kind = "claim"
            end = max(cue[1], m.end)
            comma = s.text.find(",", end, end + 40)
            if kind != "denial" and a.modal(
                max(0, min(cue[0], m.start) - 40), min(end + 40, comma if comma >= 0 else len(s.text))
            ):
                continue
            scope = m.scope
            if person and m.place == v.capital and (kind == "denial" or GOVERNMENT_CLAIMS.search(cue[3])):
                scope = "person"
            actor, named, prev = _choose_actor(kind, m.place, a, cue[0], scope == "person")
            key = (kind, m.place, scope, s.text)
            if key in seen:
                continue
            seen.add(key)
            words = a.date_phrase(cue[0])
            where = f"line {s.line}"
            try:
                window = _resolve(words, published, campaign_start, where, v)
            except UserError:
                words = "by report"
                window = _resolve(words, published, campaign_start, where, v)
            mine.append(
                Candidate(
                    kind=kind,
                    place=m.place,
                    capital=v.capitals[m.place],
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
        # a weak cue ("10 km from") yields to another cue of the same place in the sentence
        strong = {(c.place, c.scope) for c in mine if not WEAK.search(c.cue)}
        out += [c for c in mine if not (WEAK.search(c.cue) and (c.place, c.scope) in strong)]
        context = [*context, *[m for m in mentions if m.scope == "city"]][-3:]
    return out


# --- the store: duplicates and corroborations -------------------------------------------------


def live(events: Iterable[Any]) -> list[Any]:
    """Events minus corrections and what the corrections in force retract."""
    events = list(events)
    corrections = {e.id: e for e in events if e.kind == "correction"}
    in_force = dict.fromkeys(corrections, True)
    retractors: dict[str, list[str]] = {}  # a correction -> the corrections retracting it
    for o, c in corrections.items():
        for target in dict.fromkeys(c.targets):
            if target in corrections:
                retractors.setdefault(target, []).append(o)
    for _ in range(len(corrections) + 1):  # a correction of a correction restores its target
        changed = False
        for cid in corrections:
            retracted = any(in_force[o] for o in retractors.get(cid, ()))
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
    stored: dict[tuple[str, str, str], list[Any]] = {}
    for e in live(events):
        stored.setdefault((e.place, e.kind, e.actor), []).append(e)
    out = []
    for c in candidates:
        same = [
            e
            for e in stored.get((c.place, c.kind, c.actor), ())
            if c.window is None or e.window.overlaps(c.window) or e.window == c.window
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
    by_key: dict[tuple[str, str, str], list[int]] = {}
    for i, e in enumerate(events):
        by_key.setdefault((e.source.file, e.place, e.kind), []).append(i)
    for c in candidates:
        matched = [i for i in by_key.get((c.file, c.place, c.kind), ()) if matches(c, events[i])]
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
    gazetteer: Gazetteer | None = None,
) -> dict[str, Score]:
    """Per file: extract from its text and score against the live events quoting it."""
    truth = live(events)
    return {
        name: score(
            extract(text, published.get(name), campaign_start, name, gazetteer),
            [e for e in truth if e.source.file == name],
        )
        for name, text in texts.items()
    }

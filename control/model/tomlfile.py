"""The one reader of the TOML files users write: the seed record, scenarios, ``add --toml`` files
and gazetteers.

``tomllib`` parses but says nothing of where a value came from, and every error must name
``file:line``. :class:`TomlFile` parses once and finds the lines of table headers
(``[table]``), array-of-tables items (``[[place]]``) and top-level keys in ONE scan of the text,
made the first time a line is asked for: finding the line of the 100,000th place costs what
finding the first does (a scan per item made a 100,000-place gazetteer take hours). The line of
a key inside an item is found by scanning that item's lines only.

The scan follows TOML's lexical structure far enough not to be fooled: text inside strings
(multi-line ones included) and lines of a multi-line array or inline table are never taken for
headers or keys. It also checks the shape of the top level (:meth:`TomlFile.items`,
:meth:`TomlFile.table`): ``place = [1]`` where ``[[place]]`` tables belong is one line naming
``file:line``, never a ``TypeError``.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from control.model.errors import UserError

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]\[#]*?)\s*(\]\]?)\s*(?:#.*)?$")
_KEY = re.compile(r"""\s*([A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')\s*(?:\.[^=]*)?=""")
#: what changes the scanner's state in a value: strings, comments, brackets
_TOKEN = re.compile(r'"""|\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#|[\[\]{}]')
_END_BASIC = re.compile(r'(?<!\\)(?:\\\\)*"""')


def _name(raw: str) -> str:
    """``a . "b c"`` -> ``a.b c`` (a header's dotted name, quotes removed)."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s]+)', raw)
    return ".".join(next(p for p in part if p) if any(part) else "" for part in parts)


def _key(raw: str) -> str:
    return raw[1:-1] if raw[:1] in "\"'" else raw


class _State:
    """Where the scan is: inside a multi-line string (its delimiter), and how deep in brackets."""

    __slots__ = ("depth", "string")

    def __init__(self) -> None:
        self.string = ""
        self.depth = 0

    def feed(self, line: str, start: int = 0) -> None:
        pos = start
        while pos <= len(line):
            if self.string:
                if self.string == "'''":
                    end = line.find("'''", pos)
                    end = -1 if end < 0 else end + 3
                else:
                    m = _END_BASIC.search(line, pos)
                    end = m.end() if m else -1
                if end < 0:
                    return
                self.string, pos = "", end
                continue
            m = _TOKEN.search(line, pos)
            if m is None:
                return
            token = m.group()
            if token == "#":
                return
            if token in ('"""', "'''"):
                self.string = token
            elif token in "[{":
                self.depth += 1
            elif token in "]}":
                self.depth = max(0, self.depth - 1)
            pos = m.end()


class TomlFile:
    """A parsed TOML file (``data``) that can say on which line each item is."""

    def __init__(self, path: Path | str, text: str | None = None) -> None:
        if text is None:
            from control.model.textio import read_text  # size cap, binary and non-UTF-8 refused

            text = read_text(path, str(path))
        self.path = str(path)
        self.text = text
        self.data: dict[str, Any] = _parse(self.path, text)
        self._lines: list[str] | None = None
        self._headers: list[int] = []  # the line of every header, in order
        self._arrays: dict[str, list[int]] = {}  # [[name]] -> its items' header lines
        self._tables: dict[str, int] = {}  # [name] -> its header line
        self._top: dict[str, int] = {}  # top-level key -> its line

    # --- the scan --------------------------------------------------------------------------

    def _scan(self) -> list[str]:
        if self._lines is not None:
            return self._lines
        lines = self.text.splitlines()
        state = _State()
        in_top = True
        for n, line in enumerate(lines, 1):
            if state.string or state.depth:
                state.feed(line)
                continue
            if "[" not in line and "{" not in line and '"""' not in line and "'''" not in line:
                if in_top:  # a plain key = value line: nothing that opens what spans lines
                    k = _KEY.match(line)
                    if k:
                        self._top.setdefault(_key(k.group(1)), n)
                continue
            m = _HEADER.match(line)
            if m and (m.group(1) == "[[") == (m.group(3) == "]]"):
                name = _name(m.group(2))
                self._headers.append(n)
                in_top = False
                if m.group(1) == "[[":
                    self._arrays.setdefault(name, []).append(n)
                else:
                    self._tables.setdefault(name, n)
                continue
            k = _KEY.match(line)
            if k:
                if in_top:
                    self._top.setdefault(_key(k.group(1)), n)
                state.feed(line, k.end())
        self._lines = lines
        return lines

    def _key_line(self, header: int, key: str) -> int | None:
        """The line of ``key`` between the header on line ``header`` (0: the top) and the next."""
        lines = self._scan()
        after = bisect_right(self._headers, header)
        end = self._headers[after] if after < len(self._headers) else len(lines) + 1
        state = _State()
        for n in range(header + 1, end):
            line = lines[n - 1]
            if state.string or state.depth:
                state.feed(line)
                continue
            k = _KEY.match(line)
            if k:
                if _key(k.group(1)) == key:
                    return n
                state.feed(line, k.end())
        return None

    # --- lines -------------------------------------------------------------------------------

    def header(self, table: str) -> int | None:
        """1-based line of the ``[table]`` header (a dotted name), or None if the file has none
        (the table is inline, implied by a deeper header, or absent)."""
        self._scan()
        return self._tables.get(table)

    def line(self, table: str | None = None, index: int | None = None, key: str | None = None) -> int:
        """1-based line of ``key`` (or of the header) of table ``table`` (``[table]``) or of its
        ``index``-th item (``[[table]]``); of a top-level ``key`` if no table. 1 if not found."""
        self._scan()
        if table is None:
            return self._top.get(key or "", 1)
        if index is None:
            header = self._tables.get(table)
            if header is None:  # [table.key] headers only, or table = {...} inline
                sub = self._tables.get(f"{table}.{key}") if key else None
                return sub or self._top.get(table, 1)
            if key:
                found = self._key_line(header, key) or self._tables.get(f"{table}.{key}")
                return found or header
            return header
        items = self._arrays.get(table, [])
        if index >= len(items) or len(items) != self._count(table):  # inline: table = [{...}]
            return self._top.get(table, 1)
        header = items[index]
        return (self._key_line(header, key) if key else None) or header

    def _count(self, table: str) -> int:
        found = self.data.get(table)
        return len(found) if isinstance(found, list) else -1

    def where(self, table: str | None = None, index: int | None = None, key: str | None = None) -> str:
        """``file:line`` of what :meth:`line` finds."""
        return f"{self.path}:{self.line(table, index, key)}"

    # --- shapes ------------------------------------------------------------------------------

    def items(self, name: str) -> list[dict[str, Any]]:
        """The ``[[name]]`` tables (none: an empty list); any other value of ``name`` is refused,
        naming its line."""
        found = self.data.get(name)
        if found is None:
            return []
        if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
            where = self._shape_line(name)
            raise UserError(
                f"{self.path}:{where}: {name} must be [[{name}]] tables (an array of tables), "
                f"not {describe(found)}"
            )
        return found

    def table(self, name: str) -> dict[str, Any] | None:
        """The ``[name]`` table, or None if absent; any other value is refused, naming its line."""
        found = self.data.get(name)
        if found is None or isinstance(found, dict):
            return found
        raise UserError(
            f"{self.path}:{self._shape_line(name)}: {name} must be a [{name}] table, not {describe(found)}"
        )

    def _shape_line(self, name: str) -> int:
        self._scan()
        for line in (self._top.get(name), self._tables.get(name), *self._arrays.get(name, ())[:1]):
            if line:
                return line
        return 1


def describe(value: Any) -> str:
    """What a TOML value is, for messages: ``a [place] table``, ``a list of integers``."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        kinds = sorted({_kind(v) for v in value})
        return "an empty list" if not kinds else f"a list of {' and '.join(k + 's' for k in kinds)}"
    kind = _kind(value)
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} ({str(value)[:40]})"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime | date | time):
        return "date-time"
    if isinstance(value, Mapping):
        return "table"
    return "list"


def _parse(path: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError:  # tomllib recurses once per level of [ or {
        raise UserError(
            f"{path}:1: malformed TOML (nested too deeply); flatten the arrays or tables"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = f":{m.group(1)}" if m else f":{max(1, len(text.splitlines()))}"
        raise UserError(f"{path}{line}: malformed TOML ({exc})") from None


def load(path: Path | str, text: str | None = None) -> dict[str, Any]:
    """The parsed data of a TOML file (a syntax error is ``file:line: malformed TOML ...``)."""
    return TomlFile(path, text).data

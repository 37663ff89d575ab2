"""Text shown to a person: ledger text and user input are data, never terminal commands.

One escaping for every terminal output (text listings and the CLI's error line), and one cap on
how much of a value a message echoes (a 100 KB place name is not worth 100 KB of error).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: How many characters of one value a message echoes at most.
ECHOED = 200


def terminal_safe(text: str) -> str:
    """Text from the ledger is data: escape control characters (ESC, BEL, CR, C1 ...) so a quote
    or note cannot move the cursor, retitle the terminal or hide lines. Newlines stay; tabs and
    every other control character become visible ``\\xNN`` / ``\\uNNNN`` escapes."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def shortened(text: str, limit: int = ECHOED) -> str:
    """``text`` if at most ``limit`` characters, else its start and end around an ellipsis that
    says how many characters were left out."""
    if len(text) <= limit:
        return text
    keep = max(limit - 30, 20)
    head, tail = text[: keep * 2 // 3], text[-(keep - keep * 2 // 3) :]
    return f"{head}...({len(text) - len(head) - len(tail):,} characters)...{tail}"


def shown(value: object, limit: int = ECHOED) -> str:
    """A value as a message quotes it (``repr``: control characters escaped), at most about
    ``limit`` characters."""
    return shortened(repr(str(value)), limit)


#: A quoted value (a quote mark not inside a word, as ``repr`` writes it) or a run without spaces.
_QUOTED = re.compile(r"(?<!\w)'(?:[^'\\]|\\.)*'(?!\w)|(?<!\w)\"(?:[^\"\\]|\\.)*\"(?!\w)|\S+")


def one_line(message: str, limit: int = ECHOED) -> str:
    """An error message as the CLI prints it: one line (newlines escaped too), control characters
    escaped, and each quoted value or unbroken run of characters longer than ``limit`` shortened
    (a message echoing a huge input stays readable), the whole at most ``8 * limit``."""
    text = terminal_safe(message).replace("\n", "\\n")
    if len(text) > limit:
        text = _QUOTED.sub(lambda m: shortened(m.group(0), limit), text)
    return shortened(text, 8 * limit)

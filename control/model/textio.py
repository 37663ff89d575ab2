"""Safe reading of the text files users give (``add --toml``, ``add --file``, scenario files).

A user's file is read only if it is a regular file of at most :data:`MAX_BYTES` (a FIFO would
block forever, a device never ends, a huge file would take minutes), is not binary and is UTF-8.
Every refusal is a :class:`UserError` naming the file and what to do.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from control.model.errors import UserError

#: The largest text file read (the whole seed record is about 40 kB).
MAX_BYTES = 10 * 1024 * 1024


def read_text(path: Path | str, label: str | None = None, limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of ``path``; a :class:`UserError` starting with ``label`` (default: the path)."""
    name = str(path)
    where = label or name
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _fail(where, name, "does not exist; check the name") from None
    except OSError as exc:
        raise _fail(where, name, f"cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise _fail(where, name, "is a folder; give a text file")
    if not stat.S_ISREG(info.st_mode):
        raise _fail(where, name, "is not a regular file (a device or pipe); give a text file")
    if info.st_size > limit:
        size = f"{info.st_size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit for a text file"
        raise _fail(where, name, f"is {size}; give a smaller file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise _fail(where, name, f"cannot be read ({exc.strerror})") from None
    if len(data) > limit:
        raise _fail(
            where, name, f"is over the {limit / 1e6:.0f} MB limit for a text file; give a smaller file"
        )
    return decode(data, where, name)


def decode(data: bytes, where: str, name: str) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped), or a :class:`UserError`."""
    if not data.strip():
        raise _fail(where, name, "is empty; give a file with text in it")
    if b"\0" in data:
        raise _fail(where, name, "is a binary file, not text; give a UTF-8 text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        what = f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8"
        raise _fail(where, name, what) from None
    return text.removeprefix("\ufeff")


def _fail(where: str, name: str, what: str) -> UserError:
    """``--toml: 'x.toml' is empty; ...``, or ``x.toml: the file is empty; ...`` when they are one."""
    if where == name:
        return UserError(f"{name}: the file {what}")
    return UserError(f"{where}: {name!r} {what}")

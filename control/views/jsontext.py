"""Indented JSON text, byte for byte ``json.dumps(value, sort_keys=True, indent=2,
ensure_ascii=False)``, in about half the time.

Why it exists: with ``indent`` the standard library encodes in pure Python, passing every token
up a chain of generators, one per level; an answer over thousands of places (``replay --json``)
spent as long encoding as reading its states. This writes each container's parts into one list
with the C string encoder. Anything it does not know exactly (a subclass, a non-text key, a
reference cycle, a very deep value) is left to the standard encoder, whose text or error it then
is: the two cannot differ (tested on generated values).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring as _quoted  # the C function where there is one
from typing import Any

_repr_int = int.__repr__
_repr_float = float.__repr__
_INFINITY = float("inf")
_WORDS = {None: "null", True: "true", False: "false"}


class _Unknown(Exception):
    """A value this encoder leaves to the standard one."""


def _float(value: float) -> str:
    """What ``json.dumps`` writes for a float (``allow_nan``: NaN and the infinities as words)."""
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return _repr_float(value)


def dumps(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)``: the same text, or the
    same error."""
    try:
        return _dumps(value)
    except (_Unknown, RecursionError):
        return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)


def _dumps(value: Any) -> str:
    parts: list[str] = []
    add = parts.append
    keys: dict[str, dict[str, str]] = {}  # indent -> key -> '  "key": ' (keys recur in every item)

    def scalar(v: Any, t: type) -> str:
        if t is str:
            return _quoted(v)
        if v is None or v is True or v is False:
            return _WORDS[v]
        if t is int:
            return _repr_int(v)
        if t is float:
            return _float(v)
        raise _Unknown

    def walk(v: Any, pad: str) -> None:
        t = type(v)
        if t is dict:
            if not v:
                add("{}")
                return
            inner = pad + "  "
            lead = "{\n"
            known = keys.get(inner)
            if known is None:
                known = keys[inner] = {}
            try:
                ordered = sorted(v)
            except TypeError:  # keys of mixed types: json's own error
                raise _Unknown from None
            for k in ordered:
                key = known.get(k)
                if key is None:
                    if type(k) is not str:
                        raise _Unknown
                    key = known[k] = inner + _quoted(k) + ": "
                item = v[k]
                kind = type(item)
                if kind is dict or kind is list or kind is tuple:
                    add(lead + key)
                    walk(item, inner)
                else:
                    add(lead + key + scalar(item, kind))
                lead = ",\n"
            add("\n" + pad + "}")
        elif t is list or t is tuple:
            if not v:
                add("[]")
                return
            inner = pad + "  "
            lead = "[\n" + inner
            for item in v:
                kind = type(item)
                if kind is dict or kind is list or kind is tuple:
                    add(lead)
                    walk(item, inner)
                else:
                    add(lead + scalar(item, kind))
                lead = ",\n" + inner
            add("\n" + pad + "]")
        else:
            add(scalar(v, t))

    walk(value, "")
    return "".join(parts)

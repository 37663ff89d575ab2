"""The source texts behind every event: the seed articles, the curated record, the gazetteer.

Seeds live in the top-level ``seeds/`` folder, installed as the package ``control.seeds``, so the
project never reads ../shared at run time and a quote can always be checked against its file.
"""

from __future__ import annotations

import zlib
from functools import cache
from pathlib import Path

from control.model import gazetteer
from control.model.errors import UserError

RECORD_FILE = "record.toml"
GAZETTEER_FILE = gazetteer.GAZETTEER_FILE


@cache
def seed_dir() -> Path:
    """Where the seed articles are: the top-level seeds/ folder, installed as ``control.seeds``."""
    import control.seeds

    return Path(control.seeds.__file__).parent


@cache
def seed_names() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in seed_dir().iterdir() if p.name.endswith(".txt")))


@cache
def seed_text(name: str) -> str:
    return (seed_dir() / name).read_text("utf-8")


@cache
def record_text() -> str:
    return seed_text(RECORD_FILE)


def record_digest() -> str:
    """A checksum of everything the record is built from: record.toml, the gazetteer, the seeds.

    Change detection only (CRC-32 and length per file), cheap enough for every command.
    """
    parts = []
    for name in (RECORD_FILE, *seed_names(), GAZETTEER_FILE):
        data = (gazetteer.raw_text() if name == GAZETTEER_FILE else seed_text(name)).encode()
        parts.append(f"{name}:{len(data)}:{zlib.crc32(data):08x}")
    return ";".join(parts)


def source_text(name: str, base: Path | None = None) -> str:
    """The text a provenance ``file`` names: a seed article, the gazetteer, or a local file."""
    if name in seed_names():
        return seed_text(name)
    if name == GAZETTEER_FILE:
        return gazetteer.raw_text()
    path = Path(name) if base is None else base / name
    if path.exists():
        from control.model.textio import read_text  # size cap, binary and non-UTF-8 files refused

        return read_text(path, "source file")
    raise UserError(f"source file {name!r} not found: name a seed ({', '.join(seed_names())}) or a text file")

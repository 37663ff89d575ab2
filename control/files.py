"""Atomic file output: a chart or export appears whole or not at all (no partial file on error)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from control.errors import UserError


def writable_target(path: Path, option: str = "--out") -> Path:
    """Check that ``path`` can be written (its folder exists and is writable, it is no folder)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"{option}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"{option}: folder {str(folder)!r} is not writable")
    if path.is_dir():
        raise UserError(f"{option}: {str(path)!r} is a folder")
    return folder


def write_atomically(path: Path, write: Callable[[str], None], option: str = "--out") -> Path:
    """Call ``write(temp_path)``, then rename the temporary file onto ``path``."""
    folder = writable_target(path, option)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=folder)
    os.close(handle)
    try:
        write(temp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path

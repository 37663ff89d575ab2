"""Atomic file output: a chart or export appears whole or not at all (no partial file on error).

Only regular files are ever written or replaced: an ``--out`` naming a device (``/dev/null``), a
FIFO, a socket or a symbolic link to one is refused, because renaming a new file over it would
replace the device node itself (or writing into it would block). A missing output folder is
created when its parent exists, as ``control demo`` does; a deeper missing path is refused.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from control.model.errors import UserError


def writable_target(path: Path, option: str = "--out") -> Path:
    """Check that ``path`` can be written; return its folder (which may be created on writing).

    The folder must exist and be writable, or be missing with an existing, writable parent; the
    target must be missing or a regular file (never a folder, device, FIFO or socket).
    """
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists():
        if not folder.is_dir():
            raise UserError(f"{option}: {str(folder)!r} is not a folder; give a path inside a folder")
        if not os.access(folder, os.W_OK):
            raise UserError(f"{option}: folder {str(folder)!r} is not writable; choose another folder")
    else:
        parent = folder.parent
        if not parent.is_dir():
            raise UserError(
                f"{option}: folder {str(folder)!r} does not exist, nor does {str(parent)!r}; "
                "create the folders first"
            )
        if not os.access(parent, os.W_OK):
            raise UserError(
                f"{option}: cannot create folder {str(folder)!r} ({str(parent)!r} is not writable)"
            )
    try:
        info = os.stat(path)  # follows a symbolic link: its target is what would be overwritten
    except FileNotFoundError:
        return folder
    except OSError as exc:
        raise UserError(
            f"{option}: cannot use {str(path)!r} ({exc.strerror}); give another file name"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{option}: {str(path)!r} is a folder; give a file name inside it")
    if not stat.S_ISREG(info.st_mode):
        kind = "a link to a device or pipe" if path.is_symlink() else "a device or pipe"
        raise UserError(
            f"{option}: {str(path)!r} is not a regular file ({kind}); only files are written: "
            "give a file name"
        )
    return folder


def write_atomically(path: Path, write: Callable[[str], None], option: str = "--out") -> Path:
    """Call ``write(temp_path)``, then rename the temporary file onto ``path``.

    A missing folder (whose parent exists) is created first, and removed again if writing fails.
    """
    folder = writable_target(path, option)
    created = not folder.exists()
    if created:
        folder.mkdir()
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=folder)
    except BaseException:
        _remove_folder(folder, created)
        raise
    os.close(handle)
    try:
        write(temp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        writable_target(path, option)  # nothing became a device or folder meanwhile
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        _remove_folder(folder, created)
        raise
    return path


def _remove_folder(folder: Path, created: bool) -> None:
    if created:
        with contextlib.suppress(OSError):
            folder.rmdir()

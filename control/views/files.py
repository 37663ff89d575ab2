"""Atomic file output: a chart or export appears whole or not at all (no partial file on error),
and never where it would destroy data.

Only regular files are ever written or replaced: an ``--out`` naming a device (``/dev/null``), a
FIFO, a socket or a symbolic link to one is refused, because renaming a new file over it would
replace the device node itself (or writing into it would block); so is a symbolic link to a
missing file (the link would be replaced, not followed). A missing output folder is created when
its parent exists, as ``control demo`` does; a deeper missing path is refused.

An output may never be a file the command depends on: :func:`check_output` refuses a path that
is (through symbolic or hard links) the store, SQLite's ``-wal``/``-shm``/``-journal`` beside it,
the writers' lock file (:func:`store_files`), or any file the same command reads. Every command
that writes a file calls it with those paths, before any work; a new writer does the same::

    from control.cli import guarded  # the store's files and the command's inputs
    check_output(out, "--suggest-mapping", guarded(store, ("FILE", file), ("--mapping", mapping)))
    ...  # the work
    write_atomically(out, write, "--suggest-mapping", guarded(store, ("FILE", file), ...))
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from control.model.errors import UserError
from control.model.text import shown

#: A file an output must never replace: (what it is, as a message says it; its path). A path of
#: None (an input not given) is skipped.
Protected = tuple[str, "str | os.PathLike[str] | None"]

#: Longest name of one folder or file, and longest path, in bytes (Linux: NAME_MAX, PATH_MAX).
NAME_MAX = 255
PATH_MAX = 4096


def store_files(store: str) -> list[Protected]:
    """The files of a SQLite store (a path, as ``resolve_store`` gives it) that no output may
    replace: the store, SQLite's ``-wal``, ``-shm`` and ``-journal`` files, and the writers' lock
    file, present or not. None for a PostgreSQL URL (no file)."""
    if store.startswith(("postgresql://", "postgres://")) or store == ":memory:" or store.startswith("file:"):
        return []
    from control.store.writelock import LOCK_SUFFIX

    found: list[Protected] = []
    # a store named through a symbolic link: SQLite keeps its sidecars beside the file it opens
    for name in dict.fromkeys([store, os.path.realpath(store)]):
        found += [
            ("the event store (--store)", name),
            ("the event store's -wal file", f"{name}-wal"),
            ("the event store's -shm file", f"{name}-shm"),
            ("the event store's -journal file", f"{name}-journal"),
            ("the event store's writer-lock file", f"{name}{LOCK_SUFFIX}"),
        ]
    return found


def input_file(option: str, path: str | os.PathLike[str] | None) -> Protected:
    """A file the command reads, named by ``option`` (``ARTICLE``, ``--mapping``), as protected."""
    return (f"{option}, which this command reads", path)


def check_output(path: Path, option: str = "--out", protected: Iterable[Protected] = ()) -> Path:
    """Check, before any work, that ``path`` may be written; return its folder (which may be
    created on writing). One line (a :class:`UserError` naming ``option``) if not.

    The folder must exist and be writable, or be missing with an existing, writable parent; the
    target must be missing or a regular file (never a folder, device, FIFO, socket or a symbolic
    link to a missing file); no name in it may be too long; and it must not be any of
    ``protected`` (:func:`store_files`, :func:`input_file`): the same file by its real path or
    its inode (symbolic and hard links included).
    """
    try:
        folder = _check(Path(path), option)
        _not_protected(Path(path), option, protected)
    except UserError:
        raise
    except (OSError, ValueError) as exc:  # a name the system refuses (NUL byte, ELOOP, EACCES ...)
        why = getattr(exc, "strerror", None) or str(exc)
        raise UserError(f"{option}: cannot use {shown(path)} ({why}); give another file name") from None
    return folder


def writable_target(path: Path, option: str = "--out", protected: Iterable[Protected] = ()) -> Path:
    """:func:`check_output` (its earlier name)."""
    return check_output(path, option, protected)


def _check(path: Path, option: str) -> Path:
    raw = os.fsencode(path)
    longest = max((len(part) for part in raw.split(b"/")), default=0)
    if longest > NAME_MAX:
        raise UserError(
            f"{option}: a name in {shown(path)} is {longest} bytes long, more than the {NAME_MAX} a "
            "file system allows; give a shorter name"
        )
    if len(os.fsencode(os.path.abspath(path))) >= PATH_MAX:
        raise UserError(
            f"{option}: the path {shown(path)} is longer than the {PATH_MAX - 1} bytes a path may have; "
            "give a shorter one"
        )
    folder = path.parent if str(path.parent) else Path(".")
    if os.path.lexists(folder) and not os.path.exists(folder):
        raise UserError(
            f"{option}: folder {shown(folder)} is a symbolic link to something missing "
            f"({shown(os.readlink(folder)) if folder.is_symlink() else 'a broken link'}); "
            "give a path inside an existing folder"
        )
    if folder.exists():
        if not folder.is_dir():
            raise UserError(f"{option}: {shown(folder)} is not a folder; give a path inside a folder")
        if not os.access(folder, os.W_OK):
            raise UserError(f"{option}: folder {shown(folder)} is not writable; choose another folder")
    else:
        parent = folder.parent
        if not parent.is_dir():
            raise UserError(
                f"{option}: folder {shown(folder)} does not exist, nor does {shown(parent)}; "
                "create the folders first"
            )
        if not os.access(parent, os.W_OK):
            raise UserError(
                f"{option}: cannot create folder {shown(folder)} ({shown(parent)} is not writable)"
            )
    try:
        info = os.stat(path)  # follows a symbolic link: its target is what would be overwritten
    except FileNotFoundError:
        if os.path.islink(path):  # renaming onto it would replace the link, not write its target
            raise UserError(
                f"{option}: {shown(path)} is a symbolic link to a missing file "
                f"({shown(os.readlink(path))}); only regular files are written: give a file name"
            ) from None
        return folder
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{option}: {shown(path)} is a folder; give a file name inside it")
    if not stat.S_ISREG(info.st_mode):
        kind = "a link to a device or pipe" if path.is_symlink() else "a device or pipe"
        raise UserError(
            f"{option}: {shown(path)} is not a regular file ({kind}); only files are written: "
            "give a file name"
        )
    return folder


def _not_protected(path: Path, option: str, protected: Iterable[Protected]) -> None:
    """Refuse ``path`` if it is one of ``protected``: the same real path (through symbolic links,
    present or not), or the same inode (a hard link)."""
    real = os.path.realpath(path)
    try:
        info: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        info = None
    for what, other in protected:
        if other is None or not str(other):
            continue
        same = os.path.realpath(other) == real
        if not same and info is not None:
            try:
                theirs = os.stat(other)
            except (OSError, ValueError):
                continue
            same = (theirs.st_dev, theirs.st_ino) == (info.st_dev, info.st_ino)
        if same:
            how = "" if os.path.realpath(other) == real else "a link to "
            raise UserError(
                f"{option}: {shown(path)} is {how}{what}; writing there would destroy it, so nothing "
                "was written: give another file name"
            )


def write_atomically(
    path: Path, write: Callable[[str], None], option: str = "--out", protected: Iterable[Protected] = ()
) -> Path:
    """Call ``write(temp_path)``, then rename the temporary file onto ``path`` (checked by
    :func:`check_output` against ``protected`` before and again just before the rename).

    A missing folder (whose parent exists) is created first, and removed again if writing fails.
    """
    protected = list(protected)
    folder = check_output(path, option, protected)
    created = not folder.exists()
    try:
        if created:
            folder.mkdir()
        # the temporary name stays short whatever the file's name (NAME_MAX)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name[:64]}.", suffix=path.suffix[:16], dir=folder)
    except OSError as exc:
        _remove_folder(folder, created)
        raise UserError(f"{option}: cannot write in {shown(folder)} ({exc.strerror or exc})") from None
    except BaseException:
        _remove_folder(folder, created)
        raise
    os.close(handle)
    try:
        write(temp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        check_output(path, option, protected)  # nothing became a device, folder or link meanwhile
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

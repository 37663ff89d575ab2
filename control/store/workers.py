"""What a worker process (:mod:`control.store.pool`) does with a task: fold a chunk of places
(:func:`fold`) or insert a batch of a bulk append (:func:`insert`), on the worker's own
connection to the store (:func:`worker_app`). The pool names these functions by
``"module:function"`` strings in its tasks, so it imports nothing of the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from control.model import gazetteer
from control.store import states
from control.store.ledger import LedgerApp
from control.store.readmodel import fewer_collections

_WORKER_APPS: dict[tuple[tuple[str, str], ...], LedgerApp] = {}


def worker_app(env: Mapping[str, str]) -> LedgerApp:
    """A worker process's app on the store ``env`` names: its own connection, made at its first
    task and kept for the next (fold workers, :func:`fold`, and the bulk append's writer,
    :func:`insert`)."""
    key = tuple(sorted(env.items()))
    if key not in _WORKER_APPS:
        _WORKER_APPS[key] = LedgerApp(env=env)
    return _WORKER_APPS[key]


def insert(task: tuple[Any, ...]) -> int:
    """One batch of :meth:`LedgerApp.append_batches` inserted in a writer process (on its
    :func:`worker_app`): its stored events and their rows, in one transaction. Returns the
    number of stored events."""
    _, env, originator, stored, rows = task
    sid = UUID(originator)
    events = [StoredEvent(sid, version, topic, state) for version, topic, state in stored]
    with fewer_collections():
        worker_app(env).recorder.insert_events(events, read_rows=rows)
    return len(events)


def fold(task: tuple[Any, ...]) -> Any:
    """One chunk of places worked on in a worker process, on its own connection to the store
    (one per store, kept for the worker's next chunks): ``(FOLD, env, stream, names, work,
    args)`` and optionally the gazetteer version the answer is given with (the one in force at
    ``--recorded-at``; default: the latest)."""
    _, env, stream, names, work, args, *rest = task
    version = rest[0] if rest else None
    app = worker_app(env)
    atlas = app.bound_gazetteer()
    if atlas is not None and version is not None and atlas.version != version:
        atlas = app.stored_gazetteer(version=version)
    with gazetteer.using(atlas), fewer_collections():
        by_name = gazetteer.current().by_name()
        return states.CHUNK_WORK[work](app, stream, [by_name[n] for n in names], *args)

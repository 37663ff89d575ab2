"""Dated control maps in and out of the store: the store keeps each map as the dict it was given
(:mod:`control.store.snapshots`); these are the maps themselves
(:class:`control.ingest.snapshots.Map`), as the snapshot commands use them.
"""

from __future__ import annotations

from collections.abc import Sequence

from control.ingest.snapshots import Map
from control.store import snapshots
from control.store.ledger import LedgerApp
from control.store.snapshots import stored_digests as stored_digests


def stored_maps(app: LedgerApp) -> list[Map]:
    """Every stored map, in the order stored (a corrected map after the one it corrects)."""
    return [Map.from_dict(m) for m in snapshots.stored_maps(app)]


def store_maps(app: LedgerApp, maps: Sequence[Map]) -> int:
    """Append ``maps`` to the store's stream of maps (see :func:`control.store.snapshots.store_maps`)."""
    return snapshots.store_maps(app, [m.to_dict() for m in maps])

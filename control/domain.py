"""Stored events name their classes by topic, and the topics written before control/ was grouped
into parts say ``control.domain:...``. This module keeps those topics resolving: the classes live
in :mod:`control.store.domain`. It is imported only when such an event is decoded."""

from control.store.domain import EVENT_CLASSES, Atlas, Branch, Ledger

__all__ = ["EVENT_CLASSES", "Atlas", "Branch", "Ledger"]

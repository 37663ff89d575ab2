"""Stream ids: each named ledger (the record, a scenario branch) has one fixed UUID."""

from uuid import NAMESPACE_URL, UUID, uuid5

STREAM_NAMESPACE = uuid5(NAMESPACE_URL, "https://territorial-control/ledger")


def stream_id(name: str) -> UUID:
    """The fixed id of the ledger called ``name`` ("record", "scenario:homs-holds", ...)."""
    return uuid5(STREAM_NAMESPACE, name)

"""Stream ids: each named ledger (the record, a scenario branch) has one fixed UUID."""

from uuid import NAMESPACE_URL, UUID, uuid5

#: uuid5(NAMESPACE_URL, "https://territorial-control/ledger"); a test pins the derivation.
STREAM_NAMESPACE = UUID("adf664cf-dd0e-5e4b-84e8-d412e44cb763")
#: stream_id("record"), precomputed: uuid5 pulls in hashlib, which read-only commands can skip.
RECORD_STREAM = UUID("c471bb0b-c35b-5488-a88c-725f39f21699")
#: stream_id("gazetteer"), precomputed for the same reason (every command reads it).
GAZETTEER_STREAM = UUID("827426ce-2367-5ca5-896e-7bfe7821c81c")


def stream_id(name: str) -> UUID:
    """The fixed id of the ledger called ``name`` ("record", "scenario:homs-holds", ...)."""
    if name == "record":
        return RECORD_STREAM
    if name == "gazetteer":
        return GAZETTEER_STREAM
    return uuid5(STREAM_NAMESPACE, name)


def derived_namespace() -> UUID:
    return uuid5(NAMESPACE_URL, "https://territorial-control/ledger")

"""The ledger's store: the eventsourcing application (ledger: appends checked events; its bases
reports and questions: what it answers, by index or place by place), where the store is and how
writes retry (config, retry), its event classes (domain), stream ids (streams), the read model
kept in the events' transaction (readmodel, recorder, readmodel_pg), each place's stored states
(states: the refresh; statecodec: as JSON; placereads: reads by place; answers: answers read or
folded place by place), worker processes (pool, workers), the writer lock (writelock) and the
checks of a store address before it is opened (storecheck). Validation and the seed record's sync
live above, in control.service.
"""

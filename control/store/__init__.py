"""The ledger's store: the eventsourcing application (ledger), its event classes (domain), stream ids
(streams), the read model kept in the events' transaction (readmodel, readmodel_pg), the writer lock
(writelock) and the checks of a store address before it is opened (storecheck).
"""

"""The ledger's store: the eventsourcing application (ledger), its event classes (domain), stream ids
(streams), the read model kept in the events' transaction (readmodel, readmodel_pg), each place's
stored states and the answers read or folded place by place from them (states), the writer lock
(writelock) and the checks of a store address before it is opened (storecheck).
"""

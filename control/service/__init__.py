"""Above the store: what is checked before anything is appended, and what keeps the store in
step with the files it is fed from. The store (:mod:`control.store`) appends already-validated
events only; this layer validates reports against the ledger as stored (validation), brings the
seed record into a store and binds a gazetteer to it after checking it (sync), and opens a store
with both done (``open_app``). It imports the store and ingest; views, whatif and the CLI import it.
"""

"""The vocabulary every part shares: instants and windows (times), the places a ledger covers
(gazetteer), the event schema (events) and the one exception for user mistakes (errors). Nothing
here reads a store or draws anything.
"""

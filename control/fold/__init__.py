"""The pure fold: events -> who held each place at T, as known at K, as recorded by R (projection), and
one place's history with remarks (history). No store, no I/O: the definition of every answer.
"""

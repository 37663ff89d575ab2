"""The pure fold: events -> who held each place at T, as known at K, as recorded by R. No store, no
I/O: the definition of every answer. ``rules`` holds the rules (one public module), ``records`` the
answers' types, ``merging`` groups reports into changes, ``projection`` folds at an instant
(``replay``), ``transitions`` lists changes of control, ``phases`` sweeps a place along time, and
``history`` remarks on one place's events.
"""

"""Where events come from: the seed texts and the curated record (sources, record), safe reading of
user files (textio), assisted extraction from article text (extract) and synthetic ledgers (synth).
Everything here ends as validated Event objects with provenance.
"""

"""The seed articles and the curated record, shipped as package data `control.seeds`."""

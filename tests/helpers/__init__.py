"""Helpers and strategies shared by several test files (a test file never imports another)."""

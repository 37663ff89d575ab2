"""Shared fixtures: a fresh SQLite store per test, a CLI runner bound to it, the seed record, a
PostgreSQL store (when CONTROL_TEST_POSTGRES is set) and a headless browser (tests/helpers/browser.py)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from control import record_events
from control.cli import cli
from control.model.events import Event


@pytest.fixture(autouse=True)
def builtin_gazetteer() -> Iterator[None]:
    """Every test starts and ends on the built-in gazetteer (a command on a store with its own
    gazetteer makes that one current in the process, as it would for a user's session)."""
    from control.model import gazetteer

    with gazetteer.using(None):
        yield


@pytest.fixture
def store(tmp_path: Path) -> str:
    """Path of a fresh SQLite store (created and loaded with the record on first use)."""
    return str(tmp_path / "control.db")


@pytest.fixture
def events() -> list[Event]:
    """The seed record's events, read from seeds/record.toml without any store."""
    return record_events()


@pytest.fixture
def run(store: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    """Invoke the CLI as a user would, e.g. ``run("replay", "--at", "2024-12-08")``.

    The store is the test's own SQLite file (via CONTROL_STORE); the working directory is the
    test's tmp_path, so relative --out paths land there.
    """
    monkeypatch.setenv("CONTROL_STORE", store)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), prog_name="control")

    return invoke


def store_fingerprint(path: str) -> tuple[int, str]:
    """(rows stored, hash of every stored row): equal before and after = nothing written."""
    if not Path(path).exists():
        return (0, "")
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        rows: list[tuple] = []
        for table in sorted(tables):
            rows += [(table, *r) for r in con.execute(f"select * from {table} order by 1, 2")]
    finally:
        con.close()
    return (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())


@pytest.fixture
def fingerprint() -> Callable[[str], tuple[int, str]]:
    return store_fingerprint


@pytest.fixture
def pg_store() -> Iterator[str]:
    """A PostgreSQL store in a schema of its own, dropped afterwards (skipped without
    CONTROL_TEST_POSTGRES, which .ci/run sets)."""
    url = os.environ.get("CONTROL_TEST_POSTGRES")
    if not url:
        pytest.skip("CONTROL_TEST_POSTGRES is not set (.ci/run sets it)")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"create schema {schema}")
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}schema={schema}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"drop schema {schema} cascade")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium, one per test file: skipped when it is missing, failing then in CI."""
    from helpers.browser import chrome, in_ci, missing_browser

    reason = missing_browser()
    if reason is not None:
        if in_ci():
            pytest.fail(f"CI=true: the page's browser tests must run, but there is {reason}", pytrace=False)
        pytest.skip(f"{reason}; with CI=true this fails")
    driver = chrome()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("CONTROL_TEST_ARTIFACTS") or tmp_path_factory.getbasetemp() / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder

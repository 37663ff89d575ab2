"""Writers at once: real processes adding reports to one store at the same moment.

Every one must succeed: first use loads the record once, a writer that loses the optimistic-
concurrency race re-reads, re-validates (a fresh id if its first choice was taken) and retries.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from control import open_ledger

WRITERS = 16
PG_URL = os.environ.get("CONTROL_TEST_POSTGRES")
CHILD = """
import os, sys, time
from control.cli import main
go = os.environ["GO_FILE"]
while not os.path.exists(go):
    time.sleep(0.002)
main(sys.argv[1:])
"""


def _writers_at_once(store: str, folder: Path) -> list[subprocess.CompletedProcess[str]]:
    go = folder / "go"
    procs = []
    for n in range(WRITERS):
        (folder / f"note-{n}.txt").write_text(f"Witness {n} said HTS fighters were seen near Tartus.\n")
        args = [
            sys.executable, "-c", CHILD, "add", "--store", store, "--kind", "claim", "--place", "Tartus",
            "--actor", "hts", "--when", "by report", "--reported-at", "2024-12-08T00:00Z",
            "--file", str(folder / f"note-{n}.txt"), "--quote", f"Witness {n} said HTS fighters",
        ]  # fmt: skip
        env = os.environ | {"GO_FILE": str(go)}
        procs.append(
            subprocess.Popen(args, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        )
    time.sleep(1.5)  # let every process import and wait at the line
    go.write_text("go")
    done = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def _check(store: str, done: list[subprocess.CompletedProcess[str]]) -> None:
    for result in done:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    events = open_ledger(store).events()
    ids = [e.id for e in events]
    assert len(ids) == len(set(ids)), "duplicate ids"
    claims = [e for e in events if e.source.quote.startswith("Witness ")]
    assert sorted(e.source.quote for e in claims) == sorted(
        f"Witness {n} said HTS fighters" for n in range(WRITERS)
    )
    assert sum(1 for e in events if e.id == "baseline-damascus") == 1  # the record loaded once
    stamps = [e.recorded_at for e in events]
    assert stamps == sorted(stamps)  # never decreasing in commit order


def test_sixteen_writers_on_a_fresh_sqlite_store(tmp_path):
    store = str(tmp_path / "shared.db")
    _check(store, _writers_at_once(store, tmp_path))


@pytest.mark.skipif(not PG_URL, reason="CONTROL_TEST_POSTGRES is not set (.ci/run sets it)")
def test_sixteen_writers_on_a_fresh_postgres_store(tmp_path):
    import psycopg

    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"create schema {schema}")
    store = f"{PG_URL}?schema={schema}"
    try:
        _check(store, _writers_at_once(store, tmp_path))
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as con:
            con.execute(f"drop schema {schema} cascade")


HOLD = """
import sqlite3, sys, time
from control.store.config import store_env
from control.store.writelock import writer_lock
kind, store = sys.argv[1], sys.argv[2]
if kind == "foreign":  # another program holding a write transaction on the SQLite file
    con = sqlite3.connect(store, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    time.sleep(30)
else:  # another control writer, in the middle of its write
    with writer_lock(store_env(store), time.monotonic() + 5, store):
        print("locked", flush=True)
        time.sleep(30)
"""


@pytest.mark.parametrize("holder", ["foreign", "control"])
def test_a_locked_store_is_a_clear_message_within_the_deadline(tmp_path, holder, fingerprint):
    store = str(tmp_path / "busy.db")
    open_ledger(store)
    (tmp_path / "a.txt").write_text("HTS claimed Tartus.\n")
    before = fingerprint(store)
    lock = subprocess.Popen([sys.executable, "-c", HOLD, holder, store], stdout=subprocess.PIPE, text=True)
    try:
        assert lock.stdout is not None and lock.stdout.readline().strip() == "locked"
        start = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "control",
                "add",
                "--store",
                store,
                "--kind",
                "claim",
                "--place",
                "Tartus",
                "--actor",
                "hts",
                "--when",
                "by report",
                "--reported-at",
                "2024-12-08T00:00Z",
                "--file",
                str(tmp_path / "a.txt"),
                "--quote",
                "HTS claimed Tartus",
            ],
            env=os.environ | {"CONTROL_WRITE_DEADLINE": "1"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        took = time.monotonic() - start
    finally:
        lock.kill()
        lock.wait()
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "nothing was written" in line and "try again" in line
    if holder == "control":
        assert f"control (pid {lock.pid} on" in line  # says who holds it
    else:
        assert "locked" in line
    assert took < 8
    assert fingerprint(store) == before


def test_a_new_connection_met_by_a_locked_store_is_retried(tmp_path, monkeypatch):
    """eventsourcing lets SQLite's own "database is locked" out of a new connection's first
    PRAGMA, unwrapped: one writer of sixteen on a fresh store once failed so. First use retries
    it like any busy store."""
    import sqlite3

    from control.service.sync import open_app
    from control.store import ledger

    real, calls = ledger.LedgerApp.__init__, []

    def busy_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode = 5  # SQLITE_BUSY, as sqlite3 sets it: the code is what counts
            raise busy
        real(self, *args, **kwargs)

    monkeypatch.setattr(ledger.LedgerApp, "__init__", busy_once)
    app = open_app(str(tmp_path / "fresh.db"))
    assert len(calls) == 2 and len(app.read()) > 0

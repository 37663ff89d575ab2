"""Bad input, every command: one line on stderr naming the input, exit 2, nothing written.

One table of cases. Each case sets up its files in the test's folder (which is also the working
directory, holding the store ``control.db`` already loaded with the record), runs the CLI, and
checks: exit status 2; exactly one line, on stderr, starting ``control: error:`` and naming the
input; no traceback; the store's rows unchanged; no file in the folder created, changed or
replaced (``/dev/null`` still a device); all within a few seconds.
"""

# ruff: noqa: E501  (the table keeps one case per line)

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

SEED = "000_0dae3e58c82ba531.txt"
QUOTE = "the rebels have seized Hama in the centre"
END = "2024-12-08T00:00Z"
PG_URL = os.environ.get("CONTROL_TEST_POSTGRES")
SECONDS = 5.0


def add(*extra: str, when: str = "Saturday", reported: str = "2024-12-08T00:00Z") -> tuple[str, ...]:
    """``control add`` of a valid report (a capture of Homs quoting a seed), with ``extra`` options
    overriding or adding to it."""
    options = {
        "--kind": "capture", "--place": "Homs", "--actor": "hts", "--from": "government",
        "--when": when, "--reported-at": reported, "--file": SEED, "--quote": QUOTE,
    }  # fmt: skip
    pairs = dict(zip(extra[::2], extra[1::2], strict=True))
    options.update(pairs)
    if "--earliest" in pairs:
        del options["--when"]
    return ("add", *(item for pair in options.items() for item in pair if pair[1] is not None))


# --- setups: each gets the test's folder ------------------------------------------------------


def write(name: str, data: bytes) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).write_bytes(data)

    return setup


def huge(name: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        with open(tmp / name, "wb") as handle:
            handle.truncate(11 * 1024 * 1024)  # sparse: instant, and over the 10 MB cap

    return setup


def fifo(name: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        os.mkfifo(tmp / name)

    return setup


def folder(name: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).mkdir()

    return setup


def link_to_device(name: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).symlink_to("/dev/null")

    return setup


def truncated_store(tmp: Path) -> None:
    data = (tmp / "control.db").read_bytes()
    (tmp / "copy.db").write_bytes(data[: len(data) // 2 + 100])


def foreign_sqlite(tmp: Path) -> None:
    con = sqlite3.connect(tmp / "theirs.db")
    con.execute("create table customers (id integer primary key, name text)")
    con.execute("insert into customers (name) values ('someone')")
    con.commit()
    con.close()


NESTED = b"a = " + b"[" * 50_000
NOT_UTF8 = '[[event]]\nkind = "claim"\nnote = "caf\xe9"\n'.encode("latin-1")
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
SCENARIO_TOP = b'[scenario]\nname = "x"\ndescription = "d'
MALFORMED = b"[[event]]\nkind = \n"


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    says: str  # in the error line: names the input (and what is wrong)
    setup: Callable[[Path], None] | None = None
    postgres: bool = False


def pg(password: str | None = None, port: str | None = None) -> str:
    """A URL to the test server with a wrong password or port ({pg} is filled in at run time)."""
    return "{pg:" + (password or "") + ":" + (port or "") + "}"


CASES = [
    # --- times -------------------------------------------------------------------------------
    Case("add-when-february-30", add(when="February 30"), "'February 30' is not a date"),
    Case("add-when-december-32", add(when="December 32"), "'December 32' is not a date"),
    Case("add-when-by-february-30", add(when="by February 30"), "'by February 30' is not a date"),
    Case("add-when-banana", add(when="banana"), "cannot read 'banana'"),
    Case("add-reported-1899", add(reported="1899-01-01T00:00Z"), "1899-01-01T00:00Z"),
    Case("add-reported-year-1", add(reported="0001-01-01T00:00Z"), "0001-01-01T00:00Z"),
    Case("add-reported-naive", add(reported="2024-12-08T00:00"), "no time zone"),
    Case("add-earliest-9999", add("--earliest", "9999-12-31T23:59Z", "--latest", END), "9999-12-31"),
    Case("replay-at-naive", ("replay", "--at", "2024-12-08T00:00"), "--at"),
    Case("replay-at-year-1-offset", ("replay", "--at", "0001-01-01T00:00+03:00"), "0001-01-01"),
    Case("replay-at-9999", ("replay", "--at", "9999-12-31T23:59Z"), "9999-12-31"),
    Case("replay-known-at-year-1", ("replay", "--known-at", "0001-01-01T00:00Z"), "--known-at"),
    Case("replay-known-at-banana", ("replay", "--known-at", "banana"), "'banana'"),
    Case("events-known-at-9999-offset", ("events", "--known-at", "9999-12-31T23:59:59-05:00"), "9999"),
    Case("changes-until-before-since", ("changes", "--since", END, "--until", "2024-12-01"), "--until"),
    Case("changes-since-naive", ("changes", "--since", "2024-12-01T00:00"), "--since"),
    Case("export-at-year-1", ("export", "--format", "csv", "--at", "0001-01-01T00:00Z"), "--at"),
    Case("chart-map-at-9999", ("chart", "map", "--at", "9999-12-31T23:59Z", "--out", "m.png"), "--at"),
    Case("chart-known-at-year-1", ("chart", "map", "--known-at", "0001-01-01", "--out", "m.png"), "--known-at"),
    Case("scenario-compare-at-9999", ("scenario", "compare", "homs-holds", "--at", "9999-01-01"), "--at"),
    Case("scenario-new-at-year-1", ("scenario", "new", "mine", "--at", "0001-01-01T00:00Z"), "--at"),
    # --- names -------------------------------------------------------------------------------
    Case("add-unknown-place", add("--place", "Atlantis"), "unknown place 'Atlantis'"),
    Case("add-unknown-controller", add("--actor", "rebels"), "unknown controller 'rebels'"),
    Case("add-unknown-kind", add("--kind", "conquest"), "'conquest'"),
    Case("add-quote-not-in-file", add("--quote", "no such words"), "quote is not in"),
    Case("add-missing-source", add("--file", "nowhere.txt"), "'nowhere.txt' not found"),
    Case("events-unknown-place", ("events", "--place", "Atlantis"), "unknown place 'Atlantis'"),
    Case("history-unknown-place", ("history", "Atlantis"), "unknown place 'Atlantis'"),
    Case("replay-unknown-seat", ("replay", "--seat", "aleppo"), "'aleppo'"),
    Case("scenario-show-unknown", ("scenario", "show", "homs-held"), "unknown scenario 'homs-held'"),
    # --- files given as input ----------------------------------------------------------------
    Case("add-toml-not-utf8", ("add", "--toml", "bad.toml"), "not UTF-8", write("bad.toml", NOT_UTF8)),
    Case("add-toml-binary", ("add", "--toml", "bad.toml"), "binary", write("bad.toml", BINARY)),
    Case("add-toml-empty", ("add", "--toml", "bad.toml"), "'bad.toml' is empty", write("bad.toml", b"")),
    Case("add-toml-nested", ("add", "--toml", "bad.toml"), "nested too deeply", write("bad.toml", NESTED)),
    Case("add-toml-huge", ("add", "--toml", "big.toml"), "10 MB limit", huge("big.toml")),
    Case("add-toml-fifo", ("add", "--toml", "pipe.toml"), "not a regular file", fifo("pipe.toml")),
    Case("add-toml-device", ("add", "--toml", "/dev/zero"), "not a regular file"),
    Case("add-toml-malformed", ("add", "--toml", "bad.toml"), "bad.toml:2: malformed TOML", write("bad.toml", MALFORMED)),
    Case("add-toml-missing", ("add", "--toml", "absent.toml"), "'absent.toml' does not exist"),
    Case("add-file-not-utf8", add("--file", "src.txt"), "not UTF-8", write("src.txt", b"caf\xe9 " + QUOTE.encode())),
    Case("add-file-binary", add("--file", "src.txt"), "binary", write("src.txt", BINARY + QUOTE.encode())),
    Case("add-file-empty", add("--file", "src.txt"), "'src.txt' is empty", write("src.txt", b"")),
    Case("add-file-huge", add("--file", "src.txt"), "10 MB limit", huge("src.txt")),
    Case("add-file-fifo", add("--file", "src.txt"), "not a regular file", fifo("src.txt")),
    Case("scenario-not-utf8", ("scenario", "show", "s.toml"), "not UTF-8", write("s.toml", SCENARIO_TOP + b'\xff"\n')),
    Case("scenario-binary", ("scenario", "show", "s.toml"), "binary", write("s.toml", BINARY)),
    Case("scenario-empty", ("scenario", "show", "s.toml"), "s.toml: the file is empty", write("s.toml", b"\n\n")),
    Case("scenario-nested", ("scenario", "show", "s.toml"), "nested too deeply", write("s.toml", NESTED)),
    Case("scenario-huge", ("scenario", "run", "s.toml", "--at", END), "10 MB limit", huge("s.toml")),
    Case("scenario-fifo", ("scenario", "compare", "s.toml", "--at", END), "not a regular file", fifo("s.toml")),
    # --- stores ------------------------------------------------------------------------------
    Case("store-random-bytes", ("replay", "--store", "r.db"), "not a SQLite database", write("r.db", os.urandom(4096))),
    Case("store-truncated", ("replay", "--store", "copy.db"), "truncated", truncated_store),
    Case("store-foreign-sqlite", ("events", "--store", "theirs.db"), "another program", foreign_sqlite),
    Case("store-foreign-sqlite-add", (*add(), "--store", "theirs.db"), "another program", foreign_sqlite),
    Case("store-directory", ("replay", "--store", "adir"), "'adir' is a folder", folder("adir")),
    Case("store-fifo", ("history", "Homs", "--store", "pipe.db"), "not a regular file", fifo("pipe.db")),
    Case("store-character-device", ("replay", "--store", "/dev/null"), "not a regular file"),
    Case("store-missing-folder", ("replay", "--store", "no/where/c.db"), "does not exist"),
    Case("store-pg-port-99999", ("replay", "--store", pg(port="99999")), "port '99999'"),
    Case("store-pg-port-abc", ("replay", "--store", pg(port="abc")), "port 'abc'"),
    Case("store-pg-bad-url", ("replay", "--store", "postgresql://[::1/x"), "malformed PostgreSQL URL"),
    Case("store-pg-wrong-password", ("replay", "--store", pg(password="wrong")), "authentication failed", postgres=True),
    # --- outputs -----------------------------------------------------------------------------
    Case("export-out-dev-null", ("export", "--format", "csv", "--out", "/dev/null"), "not a regular file"),
    Case("chart-out-dev-null", ("chart", "holdings", "--out", "/dev/null", "--format", "png"), "not a regular file"),
    Case("chart-out-link-to-device", ("chart", "holdings", "--out", "null.png"), "link to a device", link_to_device("null.png")),
    Case("export-out-fifo", ("export", "--format", "json", "--out", "pipe.json"), "not a regular file", fifo("pipe.json")),
    Case("chart-gif-out-fifo", ("chart", "map", "--gif", "--out", "pipe.gif"), "not a regular file", fifo("pipe.gif")),
    Case("chart-out-folder", ("chart", "timeline", "--out", "adir"), "--out", folder("adir")),
    Case("chart-out-missing-grandparent", ("chart", "holdings", "--out", "a/b/h.png"), "does not exist"),
    Case("export-out-missing-grandparent", ("export", "--format", "csv", "--out", "a/b/x.csv"), "does not exist"),
    Case("scenario-new-missing-grandparent", ("scenario", "new", "mine", "--at", END, "--dir", "a/b"), "does not exist"),
    Case("demo-out-dir-missing-grandparent", ("demo", "--out-dir", "a/b"), "does not exist"),
    Case("demo-out-dir-device", ("demo", "--out-dir", "/dev/null"), "--out-dir: '/dev/null' is not a folder"),
    Case("demo-target-fifo", ("demo", "--out-dir", "."), "not a regular file", fifo("map.svg")),
    Case("chart-gif-not-gif", ("chart", "map", "--gif", "--out", "m.png"), "--out"),
    Case("export-format-xlsx", ("export", "--format", "xlsx"), "'xlsx'"),
    # --- chart ranges and frames -------------------------------------------------------------
    Case("chart-holdings-to-9999", ("chart", "holdings", "--to", "9999-01-01T00:00Z"), "--to"),
    Case("chart-holdings-to-2030", ("chart", "holdings", "--to", "2030-01-01"), "more than a year after"),
    Case("chart-timeline-from-2020", ("chart", "timeline", "--from", "2020-01-01"), "more than a year before"),
    Case("chart-from-after-to", ("chart", "holdings", "--from", "2024-12-05", "--to", "2024-12-01"), "--from"),
    Case("chart-gif-hourly-over-a-year", ("chart", "map", "--gif", "--every", "1h", "--from", "2024-01-01", "--to", END), "--every: 1h"),
    Case("chart-map-hourly-panels", ("chart", "map", "--every", "1h"), "--every: 1h"),
    Case("chart-map-every-0d", ("chart", "map", "--every", "0d"), "--every: '0d'"),
    Case("chart-map-every-banana", ("chart", "map", "--every", "banana", "--gif"), "--every: 'banana'"),
    Case("chart-unknown-kind", ("chart", "pie"), "unknown chart 'pie'"),
    Case("chart-unknown-scenario", ("chart", "map", "--scenario", "homs-held"), "--scenario: unknown scenario 'homs-held'"),
    # --- issue 24/26: import (h2) ---
    Case("import-retract-missing-header-only", ("import", "e.csv", "--retract-missing"), "--retract-missing: e.csv holds no row about territory", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\n")),
    Case("import-retract-missing-no-territory", ("import", "e.csv", "--retract-missing"), "--retract-missing", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Armed clash,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-retract-missing-only-2099", ("import", "e.csv", "--retract-missing"), "--retract-missing: none of the 1 row(s)", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,4070908800\n")),
    Case("import-near-km-nan", ("import", "e.csv", "--near-km", "nan"), "--near-km", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-near-km-0", ("import", "e.csv", "--near-km", "0"), "--near-km", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-near-km-negative", ("import", "e.csv", "--near-km", "-5"), "--near-km", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-near-km-inf", ("import", "e.csv", "--near-km", "inf"), "--near-km", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-every-actor-unknown", ("import", "e.csv"), "nothing imported: 1 row(s) about territory name no actor in the actor mapping", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Alpha Front,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-binary-line-3", ("import", "e.csv"), "e.csv:3: a binary file", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\nSYR2,\0\n")),
    Case("import-not-utf8-line-3", ("import", "e.csv"), "e.csv:3: not UTF-8", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\nSYR2,caf\xe9\n")),
    Case("import-short-row-line-2", ("import", "e.csv"), "e.csv:2: 2 fields where the header has 14", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,x\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-csv-fifo", ("import", "pipe.csv"), "not a regular file", fifo("pipe.csv")),
    Case("import-csv-folder", ("import", "adir"), "'adir' is a directory", folder("adir")),
    Case("import-suggest-mapping-is-the-csv", ("import", "e.csv", "--suggest-mapping", "e.csv"), "--suggest-mapping: 'e.csv' is the export", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-suggest-mapping-is-the-store", ("import", "e.csv", "--suggest-mapping", "control.db"), "--suggest-mapping: 'control.db' is the store", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-suggest-mapping-is-the-wal", ("import", "e.csv", "--suggest-mapping", "control.db-wal"), "is the store", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-suggest-mapping-is-the-mapping", ("import", "e.csv", "--mapping", "m.toml", "--suggest-mapping", "m.toml"), "is the mapping", write("m.toml", b'[actors]\n"X" = "hts"\n')),
    Case("import-suggest-mapping-fifo", ("import", "e.csv", "--suggest-mapping", "pipe.toml"), "not a regular file", fifo("pipe.toml")),
    Case("import-mapping-empty-controller", ("import", "e.csv", "--mapping", "m.toml"), "m.toml: actor 'X': the controller must be a non-empty string (fill in", write("m.toml", b'[actors]\n"X" = ""\n')),
    Case("import-mapping-bad-inter-code", ("import", "e.csv", "--mapping", "m.toml"), "not an ACLED interaction code", write("m.toml", b'[actors]\n"X" = "hts"\n[inter]\n"9" = "sna"\n')),
    Case("import-mapping-bad-switch", ("import", "e.csv", "--mapping", "m.toml"), "switch must be a date", write("m.toml", b'[actors]\n"X" = "hts"\n[inter]\n"1" = { before = "government", switch = "soon", after = "hts" }\n')),
]  # fmt: skip


@pytest.fixture(scope="session")
def loaded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store loaded with the record once per session, copied whole (SQLite's backup API)."""
    from control.store.ledger import open_app

    folder = tmp_path_factory.mktemp("loaded")
    open_app(str(folder / "live.db"))
    source = sqlite3.connect(folder / "live.db")
    target = sqlite3.connect(folder / "template.db")
    source.backup(target)
    source.close()
    target.close()
    return folder / "template.db"


def tree(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder``: kind, and for files inode and content hash (a replaced or
    changed file shows). The store's own sidecars (SQLite's -wal/-shm, the writers' lock file)
    are left out; pipes are never opened."""
    entries: dict[str, tuple] = {}
    for path in sorted(folder.rglob("*")):
        if path.name in ("control.db-wal", "control.db-shm", "control.db-journal", "control.db.lock"):
            continue
        info = path.lstat()
        key = str(path.relative_to(folder))
        if stat.S_ISREG(info.st_mode):
            entries[key] = ("file", info.st_ino, hashlib.sha256(path.read_bytes()).hexdigest())
        elif stat.S_ISLNK(info.st_mode):
            entries[key] = ("link", os.readlink(path))
        else:
            entries[key] = (stat.S_IFMT(info.st_mode),)
    return entries


def _fill(arg: str) -> str:
    """``{pg:password:port}`` -> the test server's URL with that password and/or port."""
    if not arg.startswith("{pg:"):
        return arg
    password, port = arg[4:-1].split(":")
    base = PG_URL or "postgresql://control:control@127.0.0.1:5432/control_test"
    head, _, rest = base.partition("://")
    credentials, _, hostpart = rest.rpartition("@")
    user = credentials.split(":")[0]
    host = hostpart.split("/")[0].rsplit(":", 1)[0]
    database = hostpart.split("/", 1)[1] if "/" in hostpart else "postgres"
    return f"{head}://{user}:{password or 'control'}@{host}:{port or '5432'}/{database}"


def test_the_table_is_large_and_its_ids_unique():
    assert len(CASES) >= 45
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    case: Case, run, store, fingerprint, tmp_path, loaded_store
):
    if case.postgres and not PG_URL:
        pytest.skip("CONTROL_TEST_POSTGRES is not set (.ci/run sets it)")
    shutil.copyfile(loaded_store, store)
    if case.setup is not None:
        case.setup(tmp_path)
    rows = fingerprint(store)
    files = tree(tmp_path)

    started = time.monotonic()
    result = run(*(_fill(a) for a in case.args))
    elapsed = time.monotonic() - started

    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr.endswith("\n"), result.stderr
    assert lines[0].startswith("control: error: "), lines[0]
    assert case.says in lines[0], lines[0]
    assert fingerprint(store) == rows
    assert tree(tmp_path) == files
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert elapsed < SECONDS, f"{elapsed:.1f} s"


# --- what the good paths owe the bad ones (§6): output folders, titles, python -m control ---------


def test_chart_and_scenario_new_create_their_folder_when_its_parent_exists(run, tmp_path):
    result = run("chart", "timeline", "--out", "new/timeline.svg")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "new" / "timeline.svg").read_bytes()[:5] in (b"<?xml", b"<svg ")
    result = run("scenario", "new", "mine", "--at", END)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "scenarios" / "mine.toml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_titles_say_scenario_known_at_and_recorded_at(events):
    from control.cli.plots import draw
    from control.model.times import parse_instant

    at, known = parse_instant(END), parse_instant("2024-12-07T18:00Z")
    lo, hi = parse_instant("2024-11-27"), parse_instant(END)

    def titles(figure) -> str:
        texts = [figure._suptitle.get_text()] if figure._suptitle else []
        return " ".join(texts + [ax.get_title(loc="left") for ax in figure.axes])

    scenario_map = titles(draw("map", events, at, None, lo, hi, "damascus", scenario="homs-holds"))
    assert "SCENARIO homs-holds" in scenario_map
    known_map = titles(draw("map", events, at, known, lo, hi, "damascus"))
    assert "As known at 7 Dec 2024 21:00" in known_map and "SCENARIO" not in known_map
    recorded = titles(draw("holdings", events, at, None, lo, hi, "damascus", recorded_at=at))
    assert "As recorded by 8 Dec 2024 03:00" in recorded
    assert "Provincial capitals held, 27 Nov - 8 Dec 2024" in recorded
    daily = titles(draw("map", events, at, known, lo, hi, "damascus", every="2d", scenario="x"))
    assert "SCENARIO x" in daily and "As known at" in daily


def test_python_dash_m_control_is_the_cli(store):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "control", "replay", "--at", END, "--store", store],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("government holds")
    bad = subprocess.run([sys.executable, "-m", "control", "replay", "--at", "9999-12-31T00:00Z", "--store", store],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--at" in bad.stderr

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


def sudan_store(article: str, truth: bool = False) -> Callable[[Path], None]:
    """A store ``sudan.db`` bound to the worked example's Sudan gazetteer (record begins
    2023-04-14T22:00Z), an article about it, and with ``truth`` a --truth file naming a Syrian place."""

    def setup(tmp: Path) -> None:
        from click.testing import CliRunner

        from control.cli import cli
        from control.model import gazetteer

        gazetteers = Path(__file__).parent.parent / "examples" / "sudan" / "gazetteer.toml"
        with gazetteer.using(None):
            done = CliRunner().invoke(
                cli, ["gazetteer", "load", str(gazetteers), "--store", str(tmp / "sudan.db")]
            )
        assert done.exit_code == 0, done.output
        (tmp / article).write_text("The RSF took control of El Geneina on Saturday.\n", "utf-8")
        if truth:
            (tmp / "truth.toml").write_text(
                f'[[source]]\nfile = "{article}"\npublished = "2023-11-06T09:00Z"\n\n[[event]]\nid = "x"\n'
                f'kind = "capture"\nplace = "Hama"\nactor = "rsf"\nfile = "{article}"\n'
                'quote = "The RSF took control"\nwhen = "Saturday"\n',
                "utf-8",
            )

    return setup


def link_to_device(name: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).symlink_to("/dev/null")

    return setup


def symlink(name: str, target: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).symlink_to(target)

    return setup


def hardlink(name: str, target: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).parent.mkdir(exist_ok=True)
        os.link(tmp / target, tmp / name)

    return setup


def both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        for each in setups:
            each(tmp)

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
ACLED_HEADER = (
    b"event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,"
    b"assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,iso,region,country,admin1,admin2,"
    b"admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n"
)


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


# --- gazetteers (issue 24, h4a) -----------------------------------------------------------------

GAZ = """\
[gazetteer]
name = "bad-test"
baseline_as_of = "2024-01-01T00:00Z"

[controllers]
blue = "The blue side"
red = "The red side"

[[place]]
name = "Alpha"
id = "P1"
pcode = "XX01"
aliases = ["Alfa"]
lat = 36.2
lon = 37.1
baseline = "blue"

[[place]]
name = "Beta"
lat = 35.9
lon = 38.2
baseline = "red"
parent = "Alpha"
"""
#: The events of an ``add --toml`` or scenario file, with a wrong-typed top level
SCENARIO_HEAD = b'[scenario]\nname = "x"\ndescription = "d"\n'


def gaz(*changes: tuple[str, str], name: str = "g.toml") -> Callable[[Path], None]:
    """Write GAZ with ``changes`` (old, new) made to it as ``name``."""
    text = GAZ
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return write(name, text.encode())


def bound_to_gaz(*changes: tuple[str, str], v1: tuple[tuple[str, str], ...] = ()) -> Callable[[Path], None]:
    """The folder's store replaced by one bound to GAZ with ``v1`` made to it (version 1), and
    GAZ with ``changes`` written as ``v2.toml``: the later version a user tries to load."""

    def setup(tmp: Path) -> None:
        from control.ingest.gazetteers import load_file
        from control.service.sync import bind_gazetteer, open_app

        first = GAZ
        for old, new in v1:
            first = first.replace(old, new, 1)
        for leftover in tmp.glob("control.db*"):
            leftover.unlink()
        app = open_app(str(tmp / "control.db"), sync=False)
        bind_gazetteer(app, load_file("v1.toml", first), "v1.toml")
        del app
        gaz(*v1, *changes, name="v2.toml")(tmp)

    return setup


HEAD = GAZ.split("[[place]]")[0].encode()  # the [gazetteer] and [controllers] tables, 8 lines
GAMMA = '\n[[place]]\nname = "Gamma"\nlat = 35.1\nlon = 36.7\nbaseline = "blue"\n'


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
    # --- issue 24: outputs, terminals (h1) ---
    Case("page-out-store", ("page", "--out", "control.db"), "--out: 'control.db' is the event store"),
    Case("export-out-store", ("export", "--format", "csv", "--out", "control.db"), "--out: 'control.db' is the event store"),
    Case("chart-png-out-store", ("chart", "holdings", "--format", "png", "--out", "control.db"), "--out: 'control.db' is the event store"),
    Case("chart-gif-out-store-named-gif", ("chart", "map", "--gif", "--out", "s.gif", "--store", "s.gif"), "is the event store", write("s.gif", b"")),
    Case("export-out-store-wal", ("export", "--format", "json", "--out", "control.db-wal"), "the event store's -wal file"),
    Case("chart-out-store-shm", ("chart", "timeline", "--format", "svg", "--out", "control.db-shm"), "the event store's -shm file"),
    Case("page-out-store-journal", ("page", "--out", "control.db-journal"), "the event store's -journal file"),
    Case("export-out-store-lock", ("export", "--format", "csv", "--out", "control.db.lock"), "the event store's writer-lock file"),
    Case("page-out-store-by-another-path", ("page", "--out", "sub/../control.db"), "is the event store", folder("sub")),
    Case("page-out-store-explicit-store", ("page", "--out", "./control.db", "--store", "control.db"), "is the event store"),
    Case("chart-out-symlink-to-store", ("chart", "holdings", "--out", "link.png"), "is the event store", symlink("link.png", "control.db")),
    Case("export-out-hard-link-to-store", ("export", "--format", "csv", "--out", "copy.csv"), "is a link to the event store", hardlink("copy.csv", "control.db")),
    Case("demo-target-hard-link-to-store", ("demo", "--out-dir", "plots"), "--out-dir: 'plots/map.svg' is a link to the event store", hardlink("plots/map.svg", "control.db")),
    Case("scenario-new-over-store-link", ("scenario", "new", "mine", "--at", END), "is a link to the event store", hardlink("scenarios/mine.toml", "control.db")),
    Case("extract-toml-store", ("extract", "a.txt", "--published", END, "--toml", "control.db"), "--toml: 'control.db' is the event store", write("a.txt", b"Rebels captured Hama on Thursday.\n")),
    Case("extract-toml-article", ("extract", "a.txt", "--published", END, "--toml", "a.txt"), "--toml: 'a.txt' is ARTICLE, which this command reads", write("a.txt", b"Rebels captured Hama on Thursday.\n")),
    Case("extract-toml-link-to-article", ("extract", "a.txt", "--published", END, "--toml", "b.toml"), "is a link to ARTICLE", both(write("a.txt", b"Rebels captured Hama on Thursday.\n"), hardlink("b.toml", "a.txt"))),
    Case("export-out-wal-of-linked-store", ("export", "--format", "csv", "--store", "link.db", "--out", "control.db-wal"), "the event store's -wal file", symlink("link.db", "control.db")),
    Case("chart-out-scenario-by-name", ("chart", "map", "--scenario", "mine", "--format", "png", "--out", "scenarios/mine.toml"), "is --scenario, which this command reads", both(folder("scenarios"), write("scenarios/mine.toml", b'[scenario]\nname = "mine"\n'))),
    Case("chart-out-scenario-file", ("chart", "map", "--scenario", "s.toml", "--format", "png", "--out", "s.toml"), "is --scenario, which this command reads", write("s.toml", b"[scenario]\n")),
    Case("page-out-scenario-file", ("page", "--scenario", "s.toml", "--out", "s.toml"), "is --scenario, which this command reads", write("s.toml", b"[scenario]\n")),
    Case("export-out-dangling-link", ("export", "--format", "csv", "--out", "gone.csv"), "symbolic link to a missing file", symlink("gone.csv", "nowhere.csv")),
    Case("chart-out-dangling-link", ("chart", "holdings", "--out", "gone.png"), "symbolic link to a missing file", symlink("gone.png", "nowhere.png")),
    Case("page-out-dangling-link", ("page", "--out", "gone.html"), "symbolic link to a missing file", symlink("gone.html", "nowhere.html")),
    Case("extract-toml-dangling-link", ("extract", "a.txt", "--published", END, "--toml", "gone.toml"), "symbolic link to a missing file", both(write("a.txt", b"Rebels captured Hama on Thursday.\n"), symlink("gone.toml", "nowhere.toml"))),
    Case("page-out-in-dangling-folder", ("page", "--out", "gone/p.html"), "folder 'gone' is a symbolic link to something missing", symlink("gone", "nowhere")),
    Case("export-out-in-dangling-folder", ("export", "--format", "csv", "--out", "gone/x.csv"), "folder 'gone' is a symbolic link", symlink("gone", "nowhere")),
    Case("chart-out-in-dangling-folder", ("chart", "holdings", "--out", "gone/h.png"), "folder 'gone' is a symbolic link", symlink("gone", "nowhere")),
    Case("extract-toml-in-dangling-folder", ("extract", "a.txt", "--published", END, "--toml", "gone/c.toml"), "folder 'gone' is a symbolic link", both(write("a.txt", b"Rebels captured Hama on Thursday.\n"), symlink("gone", "nowhere"))),
    Case("scenario-new-dir-dangling", ("scenario", "new", "mine", "--at", END, "--dir", "gone"), "--dir: folder 'gone' is a symbolic link", symlink("gone", "nowhere")),
    Case("demo-out-dir-dangling", ("demo", "--out-dir", "gone"), "--out-dir: folder 'gone' is a symbolic link", symlink("gone", "nowhere")),
    Case("page-out-folder-300-chars", ("page", "--out", "a" * 300 + "/p.html"), "is 300 bytes long"),
    Case("export-out-name-300-chars", ("export", "--format", "csv", "--out", "b" * 296 + ".csv"), "is 300 bytes long"),
    Case("chart-out-folder-300-chars", ("chart", "holdings", "--out", "c" * 300 + "/h.png"), "is 300 bytes long"),
    Case("extract-toml-folder-300-chars", ("extract", "a.txt", "--published", END, "--toml", "d" * 300 + "/c.toml"), "is 300 bytes long", write("a.txt", b"Rebels captured Hama on Thursday.\n")),
    Case("scenario-new-dir-300-chars", ("scenario", "new", "mine", "--at", END, "--dir", "e" * 300), "is 300 bytes long"),
    Case("scenario-new-name-300-chars", ("scenario", "new", "f" * 300, "--at", END), "is 305 bytes long"),
    Case("demo-out-dir-300-chars", ("demo", "--out-dir", "g" * 300), "is 300 bytes long"),
    Case("export-out-over-path-max", ("export", "--format", "csv", "--out", "d/" * 2100 + "x.csv"), "longer than the 4095 bytes"),
    Case("page-out-over-path-max", ("page", "--out", "p/" * 2100 + "p.html"), "longer than the 4095 bytes"),
    Case("add-toml-escapes-in-name", ("add", "--toml", "ev\x1b[31mil.toml"), "ev\\x1b[31mil.toml:2: malformed TOML", write("ev\x1b[31mil.toml", MALFORMED)),
    Case("import-escapes-in-name", ("import", "no\x1b]0;pwned\x07.csv"), "no\\x1b]0;pwned\\x07.csv"),
    Case("import-mapping-escapes-in-name", ("import", "h.csv", "--mapping", "m\x1b[2J.toml"), "m\\x1b[2J.toml", write("h.csv", ACLED_HEADER)),
    Case("import-deletions-escapes-in-name", ("import", "h.csv", "--deletions", "d\x1b[2J.csv"), "d\\x1b[2J.csv", write("h.csv", ACLED_HEADER)),
    Case("gazetteer-load-escapes-in-name", ("gazetteer", "load", "g\x9b2J.toml"), "g\\x9b2J.toml"),
    Case("import-newline-in-name", ("import", "a\nb.csv"), "a\\nb.csv"),
    Case("history-place-100kb", ("history", "A" * 100_000), "characters)..."),
    Case("add-place-100kb", add("--place", "B" * 100_000), "characters)..."),
    Case("events-place-100kb-with-spaces", ("events", "--place", "C " * 50_000), "characters)..."),
    Case("replay-known-at-100kb", ("replay", "--known-at", "9" * 100_000), "--known-at"),
    Case("import-missing-file-100kb-name", ("import", "f" * 100_000 + ".csv"), "characters)..."),
    Case("replay-csv-verbatim-without-csv", ("replay", "--csv-verbatim"), "--csv-verbatim: only with --csv"),
    Case("export-csv-verbatim-json", ("export", "--format", "json", "--csv-verbatim"), "--csv-verbatim: only with --format csv"),
    # --- issue 24: gazetteers, TOML (h4a) ---
    Case("gazetteer-place-list-of-integers", ("gazetteer", "load", "g.toml"), "g.toml:1: place must be [[place]] tables (an array of tables), not a list of integers", write("g.toml", b"place = [1]\n" + HEAD)),
    Case("gazetteer-place-text", ("gazetteer", "load", "g.toml"), "g.toml:2: place must be [[place]] tables (an array of tables), not a string", write("g.toml", b'# places\nplace = "Alpha"\n' + HEAD)),
    Case("gazetteer-place-a-table", ("gazetteer", "load", "g.toml"), "g.toml:9: place must be [[place]] tables (an array of tables), not a table", write("g.toml", HEAD + b'[place]\nname = "Alpha"\nlat = 1\nlon = 2\n')),
    Case("gazetteer-place-item-an-integer", ("gazetteer", "load", "g.toml"), "g.toml:1: place must be [[place]] tables", write("g.toml", b'place = [{name = "Alpha", lat = 1, lon = 2}, 7]\n' + HEAD)),
    Case("gazetteer-head-an-integer", ("gazetteer", "load", "g.toml"), "g.toml:1: gazetteer must be a [gazetteer] table, not an integer (1)", write("g.toml", b'gazetteer = 1\n[controllers]\nblue = "b"\n')),
    Case("gazetteer-controllers-a-list", ("gazetteer", "load", "g.toml"), "g.toml:1: controllers must be a [controllers] table, not a list of strings", write("g.toml", b'controllers = ["blue", "red"]\n' + GAZ.replace('[controllers]\nblue = "The blue side"\nred = "The red side"\n', "").encode())),
    Case("gazetteer-baseline-2099", ("gazetteer", "load", "g.toml"), "g.toml:3: baseline_as_of 2099-01-01T00:00:00Z is more than a day in the future", gaz(("2024-01-01T00:00Z", "2099-01-01T00:00Z"))),
    Case("gazetteer-baseline-1899", ("gazetteer", "load", "g.toml"), "g.toml:3: baseline_as_of: '1899-12-31T00:00Z' is outside the years", gaz(("2024-01-01T00:00Z", "1899-12-31T00:00Z"))),
    Case("gazetteer-capital-is-another-name", ("gazetteer", "load", "g.toml"), "g.toml:18: 'Alpha' already names the place at g.toml:9", gaz(('name = "Beta"\n', 'name = "Beta"\ncapital = "Alpha"\n'))),
    Case("gazetteer-capital-is-an-alias", ("gazetteer", "load", "g.toml"), "g.toml:18: 'alfa' already names the place at g.toml:9", gaz(('name = "Beta"\n', 'name = "Beta"\ncapital = "alfa"\n'))),
    Case("gazetteer-alias-is-a-capital", ("gazetteer", "load", "g.toml"), "g.toml:19: 'Alpha City' already names the place at g.toml:9", gaz(('name = "Alpha"\n', 'name = "Alpha"\ncapital = "Alpha City"\n'), ('name = "Beta"\n', 'name = "Beta"\naliases = ["Alpha City"]\n'))),
    Case("gazetteer-name-gives-no-id", ("gazetteer", "load", "g.toml"), "g.toml:19: name '***' has no letter or digit", gaz(('name = "Beta"', 'name = "***"'))),
    Case("gazetteer-alias-gives-no-id", ("gazetteer", "load", "g.toml"), "g.toml:13: aliases '--' has no letter or digit", gaz(('aliases = ["Alfa"]', 'aliases = ["Alfa", "--"]'))),
    Case("gazetteer-v2-changes-capital", ("gazetteer", "load", "v2.toml"), "place 'Beta': capital was 'Beta', now 'Beta Town'", bound_to_gaz(('name = "Beta"\n', 'name = "Beta"\ncapital = "Beta Town"\n'))),
    Case("gazetteer-v2-changes-coordinates", ("gazetteer", "load", "v2.toml"), "place 'Alpha': lat was 36.2, now 36.3", bound_to_gaz(("lat = 36.2", "lat = 36.3"))),
    Case("gazetteer-v2-changes-parent", ("gazetteer", "load", "v2.toml"), "place 'Beta': parent was 'Alpha', now 'P1'", bound_to_gaz(('parent = "Alpha"', 'parent = "P1"'))),
    Case("gazetteer-v2-changes-pcode", ("gazetteer", "load", "v2.toml"), "place 'Alpha': pcode was 'XX01', now 'XX09'", bound_to_gaz(('pcode = "XX01"', 'pcode = "XX09"'))),
    Case("gazetteer-v2-changes-admin-level", ("gazetteer", "load", "v2.toml"), "place 'Beta': admin_level was 1, now 2", bound_to_gaz(('parent = "Alpha"', 'parent = "Alpha"\nadmin_level = 2'))),
    Case("gazetteer-v2-changes-administered-from", ("gazetteer", "load", "v2.toml"), "place 'Beta': administered_from was 'Alpha', now 'Gamma'", bound_to_gaz(('administered_from = "Alpha"\n', 'administered_from = "Gamma"\n' + GAMMA), v1=(('parent = "Alpha"', 'parent = "Alpha"\nadministered_from = "Alpha"'),))),
    Case("gazetteer-v2-drops-an-alias", ("gazetteer", "load", "v2.toml"), "place 'Alpha': aliases lost 'Alfa'", bound_to_gaz(('aliases = ["Alfa"]', 'aliases = ["Alpha-1"]'))),
    Case("gazetteer-v2-rewords-a-controller", ("gazetteer", "load", "v2.toml"), "the gazetteer's controllers 'red' was 'The red side', now 'Reds'", bound_to_gaz(('red = "The red side"', 'red = "Reds"'))),
    Case("gazetteer-v2-moves-the-baseline", ("gazetteer", "load", "v2.toml"), "baseline_as_of differs", bound_to_gaz(("2024-01-01T00:00Z", "2024-01-01T00:00:00.5Z"))),
    Case("add-toml-event-list-of-integers", ("add", "--toml", "e.toml"), "e.toml:1: event must be [[event]] tables (an array of tables), not a list of integers", write("e.toml", b"event = [1]\n")),
    Case("add-toml-event-text", ("add", "--toml", "e.toml"), "e.toml:2: event must be [[event]] tables (an array of tables), not a string", write("e.toml", b'# reports\nevent = "capture"\n')),
    Case("add-toml-event-a-table", ("add", "--toml", "e.toml"), "e.toml:1: event must be [[event]] tables (an array of tables), not a table", write("e.toml", b'[event]\nkind = "capture"\n')),
    Case("add-toml-event-mixed", ("add", "--toml", "e.toml"), "e.toml:1: event must be [[event]] tables", write("e.toml", b'event = [{kind = "capture"}, 2]\n')),
    Case("scenario-event-list-of-integers", ("scenario", "show", "s.toml"), "s.toml:1: event must be [[event]] tables", write("s.toml", b"event = [1]\n" + SCENARIO_HEAD)),
    Case("scenario-head-text", ("scenario", "show", "s.toml"), "s.toml:1: scenario must be a [scenario] table, not a string", write("s.toml", b'scenario = "x"\n')),
    Case("scenario-event-line-past-a-tricky-string", ("scenario", "show", "s.toml"), "s.toml:10: kind must be one of", write("s.toml", b'[scenario]\nname = "x"\ndescription = """\n[[event]]\n[fake]\n"""\nsuppress = [\n]\n[[event]]\nkind = "conquest"\n')),
    Case("extract-truth-source-list-of-integers", ("extract", "--evaluate", "--truth", "t.toml"), "t.toml:1: source must be [[source]] tables", write("t.toml", b"source = [1]\n")),
    # --- issue 24/26: extract (h4c) ---
    Case("extract-published-before-the-record", ("extract", "a.txt", "--published", "2024-01-01T00:00Z"), "--published: 2024-01-01T00:00:00Z is before the record begins", write("a.txt", b"Rebels seized Hama on Saturday.\n")),
    Case("extract-published-2099", ("extract", "a.txt", "--published", "2099-01-01T00:00Z"), "--published: 2099-01-01T00:00:00Z is more than a day in the future", write("a.txt", b"Rebels seized Hama on Saturday.\n")),
    Case("extract-published-year-1", ("extract", "a.txt", "--published", "0001-01-01T00:00Z"), "0001-01-01", write("a.txt", b"Rebels seized Hama on Saturday.\n")),
    Case("extract-published-naive", ("extract", "a.txt", "--published", "2024-12-08T06:00"), "no time zone", write("a.txt", b"Rebels seized Hama on Saturday.\n")),
    Case("extract-user-store-published-before-its-record", ("extract", "a.txt", "--published", "2023-04-01T00:00Z", "--store", "sudan.db"), "before the record begins (2023-04-14T22:00:00Z)", sudan_store("a.txt")),
    Case("extract-user-store-published-2099", ("extract", "a.txt", "--published", "2099-01-01T00:00Z", "--store", "sudan.db"), "more than a day in the future", sudan_store("a.txt")),
    Case("extract-truth-place-not-in-the-store", ("extract", "--evaluate", "--truth", "truth.toml", "--store", "sudan.db"), "unknown place 'Hama'", sudan_store("a.txt", truth=True)),
    Case("extract-article-not-utf8", ("extract", "a.txt", "--published", END), "not UTF-8", write("a.txt", b"Rebels seized Hama \xff\xfe on Saturday.")),
    Case("gazetteer-capital-not-a-place", ("gazetteer", "load", "g.toml", "--store", "new.db"), "g.toml:5: capital 'Atlantis' is not a place", write("g.toml", b'[gazetteer]\nname = "x"\nbaseline_as_of = "2023-04-14T00:00Z"\nfocus = "a"\ncapital = "Atlantis"\n\n[controllers]\na = "A"\nb = "B"\n\n[[place]]\nname = "Alpha"\nlat = 1.0\nlon = 2.0\nbaseline = "a"\n')),
    # --- issue 28: shapes (h5) ---
    Case("geojson-self-intersecting", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "feature 1 (id 'bow'): invalid geometry (Self-intersection", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "baseline": "x"}, "geometry": {"type": "Point", "coordinates": [1, 1]}}, {"type": "Feature", "id": "bow", "properties": {"name": "B"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}]}')),
    Case("geojson-hole-outside-shell", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "feature 0: invalid geometry (Hole lies outside shell", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "baseline": "x"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], [[5, 5], [6, 5], [6, 6], [5, 5]]]}}]}')),
    Case("geojson-lon-out-of-range", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "feature 0: position [200.0, 1.0] is out of range", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "baseline": "x"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [200, 1], [1, 1], [0, 0]]]}}]}')),
    Case("geojson-lat-out-of-range-point", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "feature 0: position [10.0, 95.0] is out of range", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "baseline": "x"}, "geometry": {"type": "Point", "coordinates": [10, 95]}}]}')),
    Case("geojson-ring-not-closed", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "feature 0: a ring is not closed", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "baseline": "x"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}}]}')),
    Case("geojson-ring-too-short", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "feature 0: a ring needs 4 or more positions", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "baseline": "x"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}}]}')),
    Case("geojson-position-not-numbers", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "feature 0: a position must be [lon, lat] numbers", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "baseline": "x"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], ["1", 0], [1, 1], [0, 0]]]}}]}')),
    Case("geojson-linestring", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "feature 0: geometry must be a Point, Polygon or MultiPolygon, not LineString", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "baseline": "x"}, "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}]}')),
    Case("geojson-no-name-property", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z", "--name-property", "NAME_EN"), "feature 0: property 'NAME_EN' (the name) is missing", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "baseline": "x"}, "geometry": {"type": "Point", "coordinates": [1, 1]}}]}')),
    Case("geojson-not-json", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "g.geojson is not JSON (line 1", write("g.geojson", b'{"type": "FeatureCollection", "features": [')),
    Case("geojson-no-baseline-as-of", ("gazetteer", "load", "g.geojson"), "needs --baseline-as-of", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A"}, "geometry": {"type": "Point", "coordinates": [1, 1]}}]}')),
    Case("geojson-bad-population", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "feature 0: population: population must be a whole number", write("g.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A", "baseline": "x", "population": -5}, "geometry": {"type": "Point", "coordinates": [1, 1]}}]}')),
    Case("geojson-fifo", ("gazetteer", "load", "g.geojson", "--baseline-as-of", "2024-01-01T00:00Z"), "not a regular file", fifo("g.geojson")),
    Case("toml-shapes-self-intersecting", ("gazetteer", "load", "g.toml"), "feature 0 (id 'bow'): invalid geometry (Self-intersection", lambda tmp: (write("g.toml", b'[gazetteer]\nname = "g"\nbaseline_as_of = "2024-01-01T00:00Z"\nshapes = "s.geojson"\n[controllers]\nx = "X"\n[[place]]\nname = "A"\npcode = "P1"\nlat = 0.5\nlon = 0.5\nbaseline = "x"\n')(tmp), write("s.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "bow", "properties": {"pcode": "P1"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}]}')(tmp))),
    Case("toml-shapes-unknown-pcode", ("gazetteer", "load", "g.toml"), "feature 0: property 'pcode' = 'P9' is not the p-code of a place", lambda tmp: (write("g.toml", b'[gazetteer]\nname = "g"\nbaseline_as_of = "2024-01-01T00:00Z"\nshapes = "s.geojson"\n[controllers]\nx = "X"\n[[place]]\nname = "A"\npcode = "P1"\nlat = 0.5\nlon = 0.5\nbaseline = "x"\n')(tmp), write("s.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"pcode": "P9"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}')(tmp))),
    Case("toml-shapes-missing-file", ("gazetteer", "load", "g.toml"), "g.toml:4", write("g.toml", b'[gazetteer]\nname = "g"\nbaseline_as_of = "2024-01-01T00:00Z"\nshapes = "absent.geojson"\n[controllers]\nx = "X"\n[[place]]\nname = "A"\nlat = 0.5\nlon = 0.5\nbaseline = "x"\n')),
    Case("replay-territory-with-controller", ("replay", "--territory", "--controller", "hts"), "--territory"),
    Case("chart-share-by-banana", ("chart", "share", "--by", "banana", "--out", "s.png"), "--by: unknown measure 'banana'"),
    Case("export-shapes-with-events", ("export", "--events", "--shapes", "--format", "csv"), "--shapes"),
    Case("chart-by-population-not-share", ("chart", "holdings", "--by", "population", "--out", "h.png"), "--by: only for the share chart"),
    # --- issue 28: snapshots (h6) ---
    Case("snapshot-unknown-place", ("snapshot", "import", "m.geojson", "--as-of", "2024-12-06", "--source", "wiki"), "m.geojson: 1 unknown place(s): feature 1: 'Atlantis'", write("m.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null, "properties": {"name": "Homs", "controller": "hts"}}, {"type": "Feature", "geometry": null, "properties": {"name": "Atlantis", "controller": "hts"}}]}')),
    Case("snapshot-unknown-controller", ("snapshot", "import", "m.geojson", "--as-of", "2024-12-06", "--source", "wiki"), "feature 0 (Homs): controller: unknown controller 'martians'", write("m.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null, "properties": {"name": "Homs", "controller": "martians"}}]}')),
    Case("snapshot-as-of-year-1850", ("snapshot", "import", "m.geojson", "--as-of", "1850-01-01", "--source", "wiki"), "--as-of", write("m.geojson", b'{"type": "FeatureCollection", "features": []}')),
    Case("snapshot-as-of-before-baseline", ("snapshot", "import", "m.geojson", "--as-of", "2024-01-01", "--source", "wiki"), "--as-of: 2024-01-01T00:00:00Z is before the record begins", write("m.geojson", b'{"type": "FeatureCollection", "features": []}')),
    Case("snapshot-reported-before-as-of", ("snapshot", "import", "m.geojson", "--as-of", "2024-12-06", "--reported-at", "2024-12-05", "--source", "wiki"), "--reported-at: a map cannot be known before the time it shows", write("m.geojson", b'{"type": "FeatureCollection", "features": []}')),
    Case("snapshot-not-json", ("snapshot", "import", "m.geojson", "--as-of", "2024-12-06", "--source", "wiki"), "m.geojson", write("m.geojson", b"type,controller\nHoms,hts\n")),
    Case("snapshot-not-geojson", ("snapshot", "import", "m.geojson", "--as-of", "2024-12-06", "--source", "wiki"), "FeatureCollection", write("m.geojson", b'{"places": {"Homs": "hts"}}')),
    Case("snapshot-area-map-of-points", ("snapshot", "import", "m.geojson", "--as-of", "2024-12-06", "--source", "ds", "--actor", "hts"), "feature 0: geometry Point: an area map needs Polygon or MultiPolygon", write("m.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.7, 34.7]}, "properties": {}}]}')),
    Case("snapshot-area-map-self-intersecting", ("snapshot", "import", "m.geojson", "--as-of", "2024-12-06", "--source", "ds", "--actor", "hts"), "invalid geometry", write("m.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[36, 34], [37, 35], [37, 34], [36, 35], [36, 34]]]}, "properties": {}}]}')),
    Case("snapshot-area-map-out-of-range", ("snapshot", "import", "m.geojson", "--as-of", "2024-12-06", "--source", "ds", "--actor", "hts"), "is not a longitude, latitude pair in range", write("m.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[36, 34], [370, 35], [37, 34], [36, 34]]]}, "properties": {}}]}')),
    Case("snapshot-bad-source", ("snapshot", "import", "m.geojson", "--as-of", "2024-12-06", "--source", "Deep State!"), "--source: 'Deep State!' is not a source name", write("m.geojson", b'{"type": "FeatureCollection", "features": []}')),
    Case("snapshot-series-undated-file", ("snapshot", "import", "a.geojson", "b.geojson", "--source", "wiki"), "a.geojson: no date in the file name", write("a.geojson", b"{}")),
    Case("snapshot-folder-without-maps", ("snapshot", "import", "maps", "--source", "wiki"), "maps: no map files in this folder", folder("maps")),
    Case("snapshot-export-index-is-the-store", ("snapshot", "export", "--from", "2024-12-01", "--to", "2024-12-08", "--out", ".", "--store", "index.json"), "--out: 'index.json' is the event store"),
    Case("snapshot-export-out-is-the-store", ("snapshot", "export", "--from", "2024-12-01", "--to", "2024-12-08", "--out", "control.db"), "--out: 'control.db' is not a folder"),
    Case("snapshot-export-out-is-a-file", ("snapshot", "export", "--from", "2024-12-01", "--to", "2024-12-08", "--out", "f.txt"), "is not a folder", write("f.txt", b"x")),
    Case("snapshot-export-hourly-for-years", ("snapshot", "export", "--every", "1h", "--from", "2020-01-01", "--to", "2024-12-08", "--out", "feed"), "--every: 1h"),
    Case("export-snapshots-without-out", ("export", "--snapshots", "--format", "geojson", "--from", "2024-12-01", "--to", "2024-12-08"), "--out: required with --snapshots"),
    Case("export-snapshots-without-to", ("export", "--snapshots", "--format", "geojson", "--from", "2024-12-01", "--out", "feed"), "--to: required with --snapshots"),
    Case("export-snapshots-and-events", ("export", "--snapshots", "--events", "--format", "geojson", "--from", "2024-12-01", "--to", "2024-12-08", "--out", "feed"), "--snapshots: give one of --events, --intervals or --snapshots"),
    Case("export-snapshots-with-place", ("export", "--snapshots", "--format", "geojson", "--from", "2024-12-01", "--to", "2024-12-08", "--out", "feed", "--place", "Homs"), "--place: not with --snapshots"),
    Case("export-snapshots-csv", ("export", "--snapshots", "--format", "csv", "--from", "2024-12-01", "--to", "2024-12-08", "--out", "feed"), "--format: 'csv': the feed is written as geojson"),
    Case("export-snapshots-out-is-the-store", ("export", "--snapshots", "--format", "geojson", "--from", "2024-12-01", "--to", "2024-12-08", "--out", "control.db"), "--out: 'control.db' is not a folder"),
    Case("export-every-without-snapshots", ("export", "--format", "csv", "--every", "1d"), "--every: only with --snapshots"),
    Case("export-out-is-a-folder", ("export", "--format", "csv", "--out", "adir"), "--out: 'adir' is a folder", folder("adir")),
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
    Case("import-suggest-mapping-is-the-csv", ("import", "e.csv", "--suggest-mapping", "e.csv"), "--suggest-mapping: 'e.csv' is FILE, which this command reads", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-suggest-mapping-is-the-store", ("import", "e.csv", "--suggest-mapping", "control.db"), "--suggest-mapping: 'control.db' is the event store", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-suggest-mapping-is-the-wal", ("import", "e.csv", "--suggest-mapping", "control.db-wal"), "event store", write("e.csv", b"event_id_cnty,event_date,time_precision,sub_event_type,actor1,actor2,inter1,inter2,admin1,location,latitude,longitude,notes,timestamp\nSYR1,2024-12-01,1,Non-state actor overtakes territory,Hayat Tahrir al-Sham,,Rebel group,,Aleppo,Aleppo,36.2,37.1,a note,1733702400\n")),
    Case("import-suggest-mapping-is-the-mapping", ("import", "e.csv", "--mapping", "m.toml", "--suggest-mapping", "m.toml"), "is --mapping, which this command reads", write("m.toml", b'[actors]\n"X" = "hts"\n')),
    Case("import-suggest-mapping-fifo", ("import", "e.csv", "--suggest-mapping", "pipe.toml"), "not a regular file", fifo("pipe.toml")),
    Case("import-mapping-empty-controller", ("import", "e.csv", "--mapping", "m.toml"), "m.toml: actor 'X': the controller must be a non-empty string (fill in", write("m.toml", b'[actors]\n"X" = ""\n')),
    Case("import-mapping-bad-inter-code", ("import", "e.csv", "--mapping", "m.toml"), "not an ACLED interaction code", write("m.toml", b'[actors]\n"X" = "hts"\n[inter]\n"9" = "sna"\n')),
    Case("import-mapping-bad-switch", ("import", "e.csv", "--mapping", "m.toml"), "switch must be a date", write("m.toml", b'[actors]\n"X" = "hts"\n[inter]\n"1" = { before = "government", switch = "soon", after = "hts" }\n')),
]  # fmt: skip


@pytest.fixture(scope="session")
def loaded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store loaded with the record once per session, copied whole (SQLite's backup API)."""
    from control.service.sync import open_app

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
    assert len(CASES) >= 120  # the exact, documented count: tests/test_docs.py
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
    assert len(lines) == 1 and result.stderr.endswith("\n"), result.stderr[:2000]
    assert len(lines[0]) <= 2000, lines[0][:2000]  # a huge value is shortened, never echoed whole
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
    from control.model.gazetteer import builtin
    from control.model.times import parse_instant
    from control.views.charts import draw as drawn

    def draw(*args, **options):
        return drawn(builtin(), *args, **options)

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

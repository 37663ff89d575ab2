"""Outputs that cannot destroy data, and text that cannot act (issue 24).

- No command writes over the store, its SQLite sidecars, its writer-lock file or a file it reads
  (``control.views.files.check_output``; the bad-input table runs each command against these).
- The CLI's one error line escapes control characters on a real terminal (click strips escape
  sequences only when its output is not a terminal, so this runs in a pseudo-terminal) and
  shortens a huge value instead of echoing it whole.
- CSV text cells a spreadsheet would run as formulas get a leading apostrophe; numbers never do;
  ``--csv-verbatim`` keeps them; JSON is verbatim.
"""

from __future__ import annotations

import csv
import io
import json
import os
import select
import sys
from pathlib import Path

import pytest

from control.model.errors import UserError
from control.views.files import check_output, input_file, store_files, write_atomically

REGION = """\
[gazetteer]
name = "south-west-test"
baseline_as_of = "2024-01-01T00:00Z"

[controllers]
government = "The government"
rebels = "A rebel coalition"

[[place]]
name = "Alpha"
id = "P001"
lat = -36.25
lon = -37.5
baseline = "government"
"""
FORMULA = '=HYPERLINK("http://example.com/x","y") rebels took Alpha'
NOTE = "@SUM(1+1) -2+3"


# --- the one check every writer calls ----------------------------------------------------------


def test_check_output_refuses_the_store_its_sidecars_and_inputs_by_any_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "control.db").write_bytes(b"store")
    (tmp_path / "article.txt").write_text("text")
    (tmp_path / "sub").mkdir()
    os.link(tmp_path / "control.db", tmp_path / "hard.csv")
    (tmp_path / "soft.csv").symlink_to("sub/../article.txt")
    keep = [*store_files(str(tmp_path / "control.db")), input_file("ARTICLE", "article.txt"), ("x", None)]
    refused = {
        "control.db": "is the event store (--store)",
        "sub/../control.db": "is the event store (--store)",
        "control.db-wal": "is the event store's -wal file",
        "control.db-shm": "-shm file",
        "control.db-journal": "-journal file",
        "control.db.lock": "writer-lock file",
        "hard.csv": "is a link to the event store",
        "soft.csv": "is ARTICLE, which this command reads",
        str(tmp_path / "article.txt"): "is ARTICLE, which this command reads",
    }
    for path, says in refused.items():
        with pytest.raises(UserError, match="--mapping-out: ") as caught:
            check_output(Path(path), "--mapping-out", keep)
        assert says in str(caught.value) and "nothing was written" in str(caught.value), path
    assert check_output(Path("sub/new.csv"), "--out", keep) == Path("sub")
    assert check_output(Path("other.csv"), "--out", keep) == Path(".")
    assert store_files("postgresql://u@h/db") == []
    with pytest.raises(UserError, match="is the event store"):  # and again just before the rename
        write_atomically(Path("control.db"), lambda temp: Path(temp).write_text("x"), "--out", keep)
    assert (tmp_path / "control.db").read_bytes() == b"store"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "article.txt", "control.db", "hard.csv", "soft.csv", "sub",
    ]  # fmt: skip


def test_outputs_beside_the_store_are_still_written(run, tmp_path):
    assert run("export", "--format", "csv", "--out", "control.csv").exit_code == 0
    assert (tmp_path / "control.csv").read_text().startswith("pcode,")
    result = run("chart", "holdings", "--out", "out/control.db.png")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "control.db.png").read_bytes()[:4] == b"\x89PNG"


# --- the error line on a terminal ---------------------------------------------------------------


def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, bytes]:
    """Run ``python -m control ARGS`` with a pseudo-terminal as stdin, stdout and stderr."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.chdir(cwd)
            os.execv(sys.executable, [sys.executable, "-m", "control", *args])
        finally:
            os._exit(127)
    out = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


@pytest.mark.parametrize(
    "args",
    [
        ["add", "--toml", "ev\x1b[31mil.toml"],  # a malformed file: its name in file:line
        ["import", "no\x1b]0;pwned\x07.csv"],  # a missing file (OSC: retitles the terminal)
        ["gazetteer", "load", "g\x1b[2J\u009b2J.toml"],  # clears the screen (CSI, and C1 CSI)
        ["scenario", "new", "mine", "--at", "2024-12-08", "--dir", "gone\x1b[8m"],  # a dangling link
    ],
    ids=["add-toml", "import", "gazetteer-load", "scenario-new-dir"],
)
def test_the_error_line_escapes_control_characters_on_a_terminal(args, store, tmp_path):
    (tmp_path / "ev\x1b[31mil.toml").write_bytes(b"[[event]]\nkind = \n")
    (tmp_path / "gone\x1b[8m").symlink_to("nowhere")
    code, out = _on_a_terminal([*args, "--store", store], tmp_path)
    assert code == 2, out
    assert b"\x1b" not in out and b"\x07" not in out and "\u009b".encode() not in out, out
    assert out.startswith(b"control: error: ") and out.count(b"\n") == 1, out
    assert b"\\x1b" in out and b"Traceback" not in out


def test_a_huge_value_is_shortened_on_a_terminal(store, tmp_path):
    code, out = _on_a_terminal(["history", "Z" * 100_000, "--store", store], tmp_path)
    assert code == 2 and out.count(b"\n") == 1, out[:300]
    assert b"unknown place 'ZZZ" in out and b"characters)..." in out
    assert len(out) < 400, len(out)


# --- CSV cells that would be formulas ----------------------------------------------------------


@pytest.fixture
def formula_ledger(run, tmp_path):
    """A ledger over one place at a negative latitude and longitude, with one report whose quote
    and note begin with a spreadsheet formula."""
    (tmp_path / "region.toml").write_text(REGION, "utf-8")
    assert run("gazetteer", "load", "region.toml").exit_code == 0
    (tmp_path / "note.txt").write_text(FORMULA + "\n", "utf-8")
    added = run(
        "add", "--kind", "capture", "--place", "Alpha", "--actor", "rebels", "--from", "government",
        "--when", "by report", "--reported-at", "2024-02-07T10:00Z", "--file", "note.txt",
        "--quote", FORMULA, "--note", NOTE,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    return run


CSV_COMMANDS = {
    "replay": ("replay", "--at", "2024-03-01T00:00Z", "--csv"),
    "events": ("events", "--csv"),
    "history": ("history", "Alpha", "--csv"),
    "changes": ("changes", "--since", "2024-01-01", "--csv"),
    "export-state": ("export", "--at", "2024-03-01T00:00Z", "--format", "csv"),
    "export-events": ("export", "--events", "--format", "csv"),
    "export-intervals": ("export", "--intervals", "--format", "csv"),
}


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", list(CSV_COMMANDS))
def test_csv_text_cells_never_start_a_formula_and_numbers_stay_numbers(formula_ledger, name):
    result = formula_ledger(*CSV_COMMANDS[name])
    assert result.exit_code == 0, result.output
    cells = _cells(result.stdout)
    live = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(c)]
    assert live == [], live
    if name in ("events", "export-events"):
        assert "'" + FORMULA in cells and "'" + NOTE in cells
    if name == "export-state":
        assert "-36.25" in cells and "-37.5" in cells  # a negative coordinate is a number, as is
    verbatim = formula_ledger(*CSV_COMMANDS[name], "--csv-verbatim")
    assert verbatim.exit_code == 0, verbatim.output
    if name in ("events", "export-events"):
        assert FORMULA in _cells(verbatim.stdout) and NOTE in _cells(verbatim.stdout)
    neutral = {c.removeprefix("'") for c in cells}
    assert neutral == set(_cells(verbatim.stdout))  # only the apostrophe differs


def test_json_keeps_text_verbatim(formula_ledger):
    text = formula_ledger("events", "--json").stdout
    assert json.dumps(FORMULA) in text and json.dumps(NOTE) in text


def test_csv_cell_rules():
    from control.views.render import csv_cell

    assert csv_cell("=1+1") == "'=1+1" and csv_cell("+x") == "'+x" and csv_cell("@a") == "'@a"
    assert csv_cell("-1+2") == "'-1+2" and csv_cell("\tcmd") == "'\tcmd" and csv_cell("\rx") == "'\rx"
    assert csv_cell(-37.5) == -37.5 and csv_cell(-3) == -3 and csv_cell("-37.5") == "-37.5"
    assert csv_cell(None) == "" and csv_cell("Homs") == "Homs" and csv_cell("=x", verbatim=True) == "=x"

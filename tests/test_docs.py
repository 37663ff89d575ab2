"""The README is checked against the CLI: its commands exist, and its worked examples are true."""

from __future__ import annotations

import re
from pathlib import Path

import click

from control.cli import cli

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text("utf-8")
#: The README and the docs written by hand (docs/cli.md is generated from --help and checked apart).
WRITTEN = README + "".join(
    p.read_text("utf-8") for p in sorted((ROOT / "docs").glob("*.md")) if p.name != "cli.md"
)


def test_first_code_block_is_the_two_setup_commands():
    block = README.split("```")[1]
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands == [
        "pip install -e . && control replay --at 2024-12-08T00:00Z && control demo",
        "pip install -e '.[test]' && pytest",
    ]


def _resolve(words: list[str]) -> click.Command:
    """The (sub)command a README command line names: ``control scenario run NAME`` -> run."""
    command: click.Command = cli
    for word in words:
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(click.Context(command), word)
        if sub is None:
            break
        command = sub
    return command


def test_every_command_is_documented_and_every_documented_option_exists():
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        assert f"control {name}" in README, name
        for used in re.findall(rf"control {name}\b[^`\n]*", WRITTEN):
            command = _resolve(used.split()[1:])
            options = {opt for p in command.params for opt in getattr(p, "opts", [])}
            for option in re.findall(r"(--[a-z][a-z-]*)", used):
                assert option in options, (used, option)


def _example(command: str) -> str:
    """The output line the README shows right after ``$ command``."""
    lines = README.splitlines()
    index = lines.index(f"$ {command}")
    return lines[index + 1]


def test_known_at_example_is_what_the_cli_prints(run):
    for command in (
        "control replay --at 2024-12-07T23:00Z | tail -1",
        "control replay --at 2024-12-07T23:00Z --known-at 2024-12-07T18:00Z | tail -1",
    ):
        args = command.removeprefix("control ").removesuffix(" | tail -1").split()
        assert run(*args).output.splitlines()[-1] == _example(command)


def test_replay_example_lines_appear_in_real_output(run):
    output = run("replay", "--at", "2024-12-08T00:00Z").output.splitlines()
    start = README.index("$ control replay --at 2024-12-08T00:00Z\n")
    shown = README[start:].split("```")[0].splitlines()[1:]
    for line in shown:
        if line.strip() and line.strip() != "...":
            assert line in output, line


def test_the_add_example_runs_as_written(run, tmp_path):
    import shlex

    start = README.index("### Adding a report")
    block = README[start:].split("```")[1]
    commands = [line.removeprefix("$ ") for line in block.splitlines() if line.startswith("$ ")]
    expected = [line for line in block.splitlines() if line.strip() and not line.startswith("$ ")]
    echo, add = commands
    words = shlex.split(echo.split(">")[0])
    (tmp_path / echo.split(">")[1].strip()).write_text(" ".join(words[1:]) + "\n")
    result = run(*shlex.split(add)[1:])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == expected


def test_the_readme_is_a_front_door_and_its_links_resolve():
    assert README.count("\n") <= 320
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", WRITTEN):
        if "://" in link:
            continue
        assert (ROOT / link).exists() or (ROOT / "docs" / link).exists(), link


def test_the_bad_input_table_has_the_documented_count():
    from test_bad_inputs import CASES

    errors = (ROOT / "docs" / "errors.md").read_text("utf-8")
    said = re.search(r"holds a table of \*\*(\d+) such inputs", errors)
    assert said, "docs/errors.md names the bad-input table's size"
    assert len(CASES) == int(said.group(1))


def test_the_sudan_example_in_the_readme_is_what_the_cli_prints(run, tmp_path):
    store, example = str(tmp_path / "sudan.db"), ROOT / "examples" / "sudan"
    assert run("gazetteer", "load", str(example / "gazetteer.toml"), "--store", store).exit_code == 0
    assert run("add", "--toml", str(example / "reports.toml"), "--store", store).exit_code == 0
    last = run("replay", "--at", "2025-11-01", "--store", store).output.splitlines()[-1]
    assert last == _example("control replay --at 2025-11-01 --store sudan.db | tail -1")

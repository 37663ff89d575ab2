"""docs/cli.md is the commands' own --help: regenerated and compared, so the docs cannot drift."""

from __future__ import annotations

import click

from control.cli import cli
from control.cli.reference import DOC, main, reference


def test_the_cli_reference_is_what_the_commands_say():
    assert DOC.read_text("utf-8") == reference(), "run: python -m control.cli.reference"


def test_every_command_and_option_is_in_the_reference():
    text = reference()
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert f"## `control {name}`" in text
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in text, (name, opt)


def test_check_fails_on_a_stale_file(tmp_path, monkeypatch):
    import control.cli.reference as ref

    stale = tmp_path / "cli.md"
    stale.write_text(reference().replace("--at", "--when-at", 1), "utf-8")
    monkeypatch.setattr(ref, "DOC", stale)
    assert main(["--check"]) == 1
    assert main([]) == 0 and main(["--check"]) == 0

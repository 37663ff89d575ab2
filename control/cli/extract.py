"""``control extract``: candidate events from an article's text, marked against the store, for a
person to review (``--toml``) and append with ``control add --toml``; ``--evaluate`` measures the
rules against a curated record. Imported only when the command runs."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from control.cli import INSTANT, TIME_HELP, echo_text, json_option, now, open_store, store_option
from control.model.errors import UserError
from control.model.times import iso


def _article(path: str) -> tuple[str, str, bool]:
    """(text, provenance file name, is a seed): a seed is named by its file name."""
    from control.ingest.sources import seed_names, seed_text
    from control.model.textio import read_text

    name = Path(path).name
    if not Path(path).exists() and name in seed_names():
        return seed_text(name), name, True
    text = read_text(path, "ARTICLE")
    if name in seed_names() and text == seed_text(name):
        return text, name, True
    return text, path, False


def _store_gazetteer(store: str | None) -> tuple[Any, Any]:
    """(the store, opened, or None; its gazetteer). A store that does not exist yet is the seed
    record's (built-in gazetteer): it is opened (created) only when there is something to mark."""
    from control.model.gazetteer import builtin
    from control.store.config import resolve_store

    where = resolve_store(store)
    if "://" not in where and not Path(where).exists():
        return None, builtin()
    app = open_store(store)
    return app, app.gazetteer


def _published(published: datetime | None, file: str, seed: bool, gazetteer: Any) -> datetime | None:
    """The publication time, bounded by the store's record: not before its gazetteer's baseline,
    not more than a day in the future."""
    from control.ingest.record import FUTURE_SLACK, load_record

    if published is None and seed and gazetteer.builtin:
        return load_record().published[file]
    if published is not None:
        begins = gazetteer.baseline_as_of
        if published < begins:
            raise UserError(
                f"--published: {iso(published)} is before the record begins ({iso(begins)}); "
                "give the article's publication time"
            )
        if published > now() + FUTURE_SLACK:
            raise UserError(f"--published: {iso(published)} is more than a day in the future")
    return published


def _need_published(candidates: list[Any]) -> None:
    missing = next((c for c in candidates if c.window is None), None)
    if missing is None:
        return
    what = (
        "gives no date, so its window runs to the publication time"
        if missing.when == "by report"
        else f"says {missing.when!r}, which is relative to the publication time"
    )
    raise UserError(
        f"--published is required: line {missing.line} {what}; give when the article was "
        "published, e.g. --published 2024-12-08T06:00Z"
    )


@click.command()
@click.argument("article", required=False, metavar="ARTICLE.txt")
@click.option(
    "--published",
    type=INSTANT,
    help="When the article was published (its report time; relative dates resolve against it, "
    "in the gazetteer's time zone: Syrian time for the built-in one); not before the store's record "
    "begins. Optional for a seed. " + TIME_HELP,
)
@click.option(
    "--toml",
    "toml_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the candidates as [[event]] tables for review, then `control add --toml FILE`.",
)
@click.option(
    "--evaluate",
    is_flag=True,
    help="Measure the rules: recall, precision and actor accuracy against the seed record (or --truth).",
)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --evaluate: a TOML file of [[source]] (file, published) and curated [[event]] tables "
    "to measure against instead of the seed record.",
)
@json_option
@store_option
def extract(
    article: str | None,
    published: datetime | None,
    toml_out: Path | None,
    evaluate: bool,
    truth: Path | None,
    as_json: bool,
    store: str | None,
) -> None:
    """Candidate events (capture, withdrawal, handover, denial, claim) in an article's text, with
    place, actor, occurrence window and exact quote; those already in the store are marked
    duplicate or corroborating. Nothing is written to the store."""
    if evaluate:
        if article or toml_out or published:
            raise UserError(
                "--evaluate: give no ARTICLE, --published or --toml (it reads the record's sources)"
            )
        _evaluate(truth, as_json, store)
        return
    if truth is not None:
        raise UserError("--truth goes with --evaluate")
    if not article:
        raise UserError("ARTICLE: give the article's text file (or --evaluate)")
    if toml_out is not None:  # before any work: never over the store or the article it reads
        from control.cli import guarded
        from control.views.files import check_output

        check_output(toml_out, "--toml", guarded(store, ("ARTICLE", article)))
    from control.ingest import extract as rules
    from control.ingest.record import load_record

    text, file, seed = _article(article)
    app, atlas = _store_gazetteer(store)
    when = _published(published, file, seed, atlas)
    campaign_start = load_record().campaign_start if atlas.builtin else atlas.baseline_as_of
    found = rules.extract(text, when, campaign_start, file, atlas)
    _need_published(found)
    if toml_out is not None and when is None:
        raise UserError("--published is required with --toml: control add needs each report's reported_at")
    found = rules.mark(found, (app or open_store(store)).read())
    if toml_out is not None:
        _write_toml(toml_out, found, article, file, seed, published)
    if as_json:
        from control.views.render import to_json

        click.echo(to_json([c.to_dict() for c in found]), nl=False)
    else:
        echo_text(_text(found, file, when))
    if toml_out is not None:
        click.echo(f"wrote {toml_out}: review it, then `control add --toml {toml_out}`", err=True)


def _text(found: list[Any], file: str, published: datetime | None) -> str:
    basis = f"published {iso(published)}" if published else "no publication time"
    lines = [f"{len(found)} candidate event(s) in {file} ({basis})"]
    for n, c in enumerate(found, 1):
        actor = c.actor if c.actor_named else f"{c.actor} (not named: the region's usual actor)"
        window = f"{iso(c.window.earliest)} .. {iso(c.window.latest)}" if c.window else "?"
        lines.append(f"{n:>3}. {c.kind} {actor} at {c.place} [{c.scope}]  line {c.line}")
        lines.append(f"     when {c.when!r}: {window}")
        lines.append(f'     "{c.quote}"')
        if c.status == "duplicate":
            lines.append(f"     DUPLICATE: already in the store as {', '.join(c.matches)}")
        elif c.status == "corroborates":
            lines.append(f"     corroborates {', '.join(c.matches)} (same change, another report)")
    return "\n".join(lines) + "\n"


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string


def _comment(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _write_toml(
    out: Path, found: list[Any], article: str, file: str, seed: bool, published: datetime | None
) -> None:
    from control.views.files import write_atomically

    ref = file if seed else Path(os.path.relpath(Path(article).resolve(), out.resolve().parent)).as_posix()
    lines = [
        f"# Candidate events extracted from {_comment(file)} by `control extract`: review each one",
        "# (kind, place, actor, window), delete what is wrong, then `control add --toml` this file.",
        "# Duplicates of reports already in the store are commented out; corroborating reports are",
        "# kept (the ledger records every report; the fold intersects their windows).",
        "",
    ]
    seen: set[tuple[str, str, str, str]] = set()
    for c in found:
        table = [
            "[[event]]",
            f"kind = {_toml_str(c.kind)}",
            f"place = {_toml_str(c.place)}",
            f"actor = {_toml_str(c.actor)}",
        ]
        if c.previous and c.kind in ("capture", "handover"):
            table.append(f"from = {_toml_str(c.previous)}")
        if c.scope != "city":
            table.append(f"scope = {_toml_str(c.scope)}")
        table += [f"file = {_toml_str(ref)}", f"quote = {_toml_str(c.quote)}", f"when = {_toml_str(c.when)}"]
        if published is not None:
            table.append(f"reported_at = {_toml_str(iso(published) or '')}")
        if not c.actor_named:
            table.append(f"note = {_toml_str(ATTRIBUTED)}")
        lines.append(f"# line {c.line}: {_comment(c.quote)}")
        key = (c.kind, c.place, c.actor, c.quote)
        if c.status == "duplicate" or key in seen:
            why = (
                f"already in the store as {', '.join(c.matches)}"
                if c.status == "duplicate"
                else "same report as above"
            )
            lines.append(f"# DUPLICATE ({why}):")
            lines += [f"# {line}" for line in table]
        else:
            if c.status == "corroborates":
                lines.append(f"# corroborates {', '.join(c.matches)}")
            lines += table
        seen.add(key)
        lines.append("")

    def write(temp: str) -> None:
        Path(temp).write_text("\n".join(lines), "utf-8")

    write_atomically(out, write, "--toml")


def _evaluate(truth: Path | None, as_json: bool, store: str | None) -> None:
    from control.ingest import extract as rules
    from control.ingest.record import load_record
    from control.model import gazetteer

    record = load_record()
    atlas, start = gazetteer.builtin(), record.campaign_start
    if truth is None:
        from control.ingest.sources import seed_names, seed_text

        texts = {name: seed_text(name) for name in seed_names()}
        published, events, label = record.published, list(record.events), "seeds/record.toml"
    else:
        from control.model.textio import read_text

        read_text(truth, "--truth")  # a missing or unreadable file is refused before the store opens
        atlas = _store_gazetteer(store)[1]  # the truth's places are the store's
        start = start if atlas.builtin else atlas.baseline_as_of
        with gazetteer.using(atlas):
            texts, published, events = _truth(truth, start)
        label = str(truth)
    scores = rules.evaluate(texts, published, events, start, atlas)
    total = rules.Score()
    for s in scores.values():
        total = total.add(s)
    if as_json:
        data = {"truth": label, "files": {k: v.to_dict() for k, v in scores.items()}, "all": total.to_dict()}
        from control.views.render import to_json

        click.echo(to_json(data), nl=False)
        return
    out = [
        f"Extraction measured against {label}: {total.events} events (corrections and what they "
        "retract left out)",
        "a candidate matches an event when file, place and kind agree and the quotes overlap",
        "",
        f"{'file':<28} {'events':>6} {'found':>6} {'cands':>6} {'right':>6} "
        f"{'recall':>7} {'precision':>9} {'actor':>6}",
    ]
    for name, s in [*scores.items(), ("all", total)]:
        out.append(
            f"{name:<28} {s.events:>6} {s.found:>6} {s.candidates:>6} {s.correct:>6} "
            f"{s.recall:>7.3f} {s.precision:>9.3f} {s.actor_accuracy:>6.3f}"
        )
    out.append("")
    out.append(
        f"recall {total.recall:.3f}  precision {total.precision:.3f}  "
        f"actor accuracy {total.actor_accuracy:.3f}"
    )
    for e in total.missed:
        out.append(f'  missed {e.id}: {e.kind} {e.place} [{e.scope}] "{e.source.quote[:70]}"')
    for c in total.wrong:
        out.append(f'  extra  {c.file}:{c.line}: {c.kind} {c.place} [{c.scope}] "{c.quote[:70]}"')
    echo_text("\n".join(out) + "\n")


def _truth(path: Path, campaign_start: datetime) -> tuple[dict[str, str], dict[str, datetime], list[Any]]:
    """Texts, publication times and curated events of a --truth file (files relative to it)."""
    from control.ingest.record import Context, build_events, instant_field
    from control.model.gazetteer import baseline_as_of
    from control.model.textio import read_text
    from control.model.tomlfile import TomlFile

    doc = TomlFile(path, read_text(path, "--truth"))
    sources = doc.items("source")
    if not sources:
        raise UserError(f"{path}:1: no [[source]] tables (file and published of each article)")
    texts: dict[str, str] = {}
    published: dict[str, datetime] = {}
    for n, source in enumerate(sources):
        where = doc.where("source", n)
        name = source.get("file")
        if not isinstance(name, str) or not name:
            raise UserError(f"{where}: file is required")
        when = instant_field(source, "published", where)
        if when is None:
            raise UserError(f"{where}: published is required")
        texts[name] = read_text(path.parent / name, f"{where}: file")
        published[name] = when
    from control.model.gazetteer import current

    zone = current().zone  # the store's (the caller uses it)
    ctx = Context(campaign_start, published, {}, base=path.parent, baseline=baseline_as_of(), zone=zone)
    events = build_events(doc.items("event"), ctx, str(path), doc)
    return texts, published, events


COMMANDS = [extract]
ATTRIBUTED = "actor not named in the sentence: the region's usual actor; check"

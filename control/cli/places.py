"""``control gazetteer``: bind a ledger to the places it covers (a user's file), or show them.

A store is bound to one gazetteer by storing it: ``load`` on a new store stores version 1 with a
baseline event per place; on a store already bound, a later version may only add places,
aliases, controllers and fields not set before (history is never rewritten; ``--recorded-at``
answers with the version in force then). A store that already holds the seed record
stays on the built-in Syrian gazetteer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from control.cli import echo_text, json_option, now, store_option
from control.model.errors import UserError


@click.group()
def gazetteer() -> None:
    """The places this ledger covers: load a gazetteer file, or show the one in use."""


def _geojson_options(command: Any) -> Any:
    """The options of a GeoJSON gazetteer: which feature property holds what, and the rest."""
    from control.ingest.gazetteers import GEOJSON_PROPERTIES

    for field, default in reversed(GEOJSON_PROPERTIES.items()):
        command = click.option(
            f"--{field}-property",
            default=default,
            show_default=True,
            help=f"GeoJSON: the feature property holding the place's {field}.",
        )(command)
    command = click.option(
        "--controller",
        "extra_controllers",
        multiple=True,
        help="GeoJSON: another controller.",
    )(command)
    command = click.option(
        "--baseline-as-of",
        default=None,
        help="GeoJSON: when the baselines hold (ISO 8601).",
    )(command)
    return click.option(
        "--gazetteer-name", default=None, help="GeoJSON: the gazetteer's name (default: the file's stem)."
    )(command)


@gazetteer.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_geojson_options
@store_option
def load(
    file: Path,
    store: str | None,
    gazetteer_name: str | None,
    baseline_as_of: str | None,
    extra_controllers: tuple[str, ...],
    **properties: str,
) -> None:
    """Bind the store to the gazetteer in FILE: TOML ([gazetteer], [controllers], [[place]]; a
    [gazetteer] shapes = "file.geojson" gives places polygons, matched by p-code) or a GeoJSON
    FeatureCollection (.geojson/.json: one place per Point or (Multi)Polygon feature)."""
    from control.ingest.gazetteers import load_file, load_geojson, shape_overlaps
    from control.service.sync import bind_gazetteer, open_app
    from control.store.config import resolve_store, write_deadline
    from control.store.retry import retrying
    from control.store.writelock import writer_lock

    # every error names file:line or the feature, before the store is touched
    if file.suffix.casefold() in (".geojson", ".json"):
        named = {k.removesuffix("_property"): v for k, v in properties.items()}
        atlas = load_geojson(file, baseline_as_of, gazetteer_name, named, extra_controllers)
    else:
        atlas = load_file(file, now=now())
    if atlas.has_shapes:
        from control.model.shapes import overlap_warning

        warning = overlap_warning(shape_overlaps(atlas))
        if warning:
            click.echo(warning, err=True)
    where = resolve_store(store)
    app = open_app(where, sync=False)
    previous = None if app.gazetteer.builtin else app.gazetteer.version
    label = str(file)
    deadline = write_deadline()
    with writer_lock(app.env_settings, deadline, where):
        added = retrying(app, lambda: bind_gazetteer(app, atlas, label), where, deadline)
    bound = app.bound_gazetteer()
    if bound is None:
        raise UserError(f"{label}: the gazetteer could not be stored")
    if added:
        echo_text(
            f"gazetteer {bound.name} version {bound.version}: {added} place(s) added, "
            f"{len(bound.places)} in all\n"
        )
    elif bound.version != previous:
        echo_text(
            f"gazetteer {bound.name} version {bound.version}: fields added to places it had "
            f"({len(bound.places)} places)\n"
        )
    else:
        echo_text(f"gazetteer {bound.name} version {bound.version}: unchanged ({len(bound.places)} places)\n")


@gazetteer.command("show")
@json_option
@store_option
def show(as_json: bool, store: str | None) -> None:
    """The gazetteer in use: its places, aliases, baseline controllers and controllers."""
    from control.service.sync import open_app
    from control.views.render import to_json

    atlas = open_app(store).gazetteer
    if as_json:
        click.echo(to_json(atlas.to_dict() | {"builtin": atlas.builtin}), nl=False)
        return
    from control.model.times import iso

    lines = [
        f"Gazetteer {atlas.name} (version {atlas.version}{', built in' if atlas.builtin else ''}): "
        f"{len(atlas.places)} places, baseline as of {iso(atlas.baseline_as_of)}",
        "Controllers: " + ", ".join(sorted(atlas.controllers)),
        "",
    ]
    for p in atlas.places:
        extra = f" [{p.pcode}]" if p.pcode else ""
        lines.append(f"{p.name:<24} {p.baseline or '(unknown)':<12} {p.lat:>8.4f} {p.lon:>9.4f}{extra}")
        if p.aliases:
            lines.append(f"    aliases: {', '.join(p.aliases)}")
    echo_text("\n".join(lines) + "\n")


COMMANDS = [gazetteer]

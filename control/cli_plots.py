"""``control chart``, ``control demo`` and ``control export``: thin wiring of chart data, drawing
and exports. Imported only when one of these commands runs (matplotlib stays off other paths)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from control.cli import INSTANT, TIME_HELP, known_at_option, now, open_store, seat_option, store_option
from control.errors import UserError
from control.files import writable_target, write_atomically

KINDS = ("holdings", "timeline", "map", "known-vs-actual")
END_OF_RECORD = "2024-12-08T00:00Z"


def _span(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    from control.chartdata import DEFAULT_FROM, DEFAULT_TO

    lo, hi = start or DEFAULT_FROM, end or DEFAULT_TO
    if hi <= lo:
        raise UserError("--from must be before --to")
    return lo, hi


def _out(out: Path | None, fmt: str | None, default_stem: str) -> tuple[Path, str]:
    from control.plotting import FORMATS

    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"--format: unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    if out is None:
        chosen = fmt or "png"
        return Path("plots") / f"{default_stem}.{chosen}", chosen
    suffix = out.suffix.lstrip(".").lower()
    chosen = fmt or suffix or "png"
    if chosen not in FORMATS:
        raise UserError(f"--out: cannot tell the format of {str(out)!r}; add --format png|svg|pdf")
    return out, chosen


def draw(
    kind: str,
    events: list[Any],
    at: datetime,
    known_at: datetime | None,
    start: datetime,
    end: datetime,
    seat: str,
    every: str | None = None,
    overlay: tuple[list[Any], str] | None = None,
) -> Any:
    """Build the Figure for one chart kind from ledger events."""
    from control import chartdata, plotting
    from control.projection import replay

    if kind == "holdings":
        series = chartdata.holdings_series(events, start, end, known_at, seat)
        other = None
        if overlay is not None:
            other = chartdata.holdings_series(overlay[0], start, end, known_at, seat)
        return plotting.holdings_figure(series, other, overlay[1] if overlay else "")
    if kind == "timeline":
        return plotting.timeline_figure(chartdata.timeline_rows(events, start, end, known_at, seat))
    if kind == "map":
        if every:
            step = chartdata.parse_step(every)
            panels = [
                (_stamp(t, short=True), chartdata.map_points(replay(events, t, known_at, seat)))
                for t in chartdata.daily(start, end, step)
            ]
            if len(panels) > 31:
                raise UserError(f"--every: {len(panels)} panels; choose a longer interval or period")
            return plotting.map_grid_figure(panels, "Control of the 14 provincial capitals, day by day")
        snap = replay(events, at, known_at, seat)
        held = snap.holding("government")
        title = f"{_stamp(at)}: government holds {held.count} of {len(snap.capitals)}"
        return plotting.map_figure(chartdata.map_points(snap), title)
    if kind == "known-vs-actual":
        if known_at is None:
            raise UserError("--known-at is required for known-vs-actual (the moment of knowledge)")
        then = replay(events, at, known_at, seat)
        full = replay(events, at, None, seat)
        return plotting.known_vs_actual_figure(
            chartdata.map_points(then),
            chartdata.map_points(full),
            f"as known at {_stamp(known_at)}: government {then.holding('government').count}",
            f"as the full record says: government {full.holding('government').count}",
            f"State at {_stamp(at)}: what was known then vs what the record now says",
        )
    raise UserError(f"KIND: unknown chart {kind!r}; choose {', '.join(KINDS)}")


def _stamp(instant: datetime, short: bool = False) -> str:
    """An instant as a reader in Damascus would say it."""
    from control.times import SYRIA

    local = instant.astimezone(SYRIA)
    if short:
        return f"{local.day} {local:%b %H:%M}"
    return f"{local.day} {local:%b %Y %H:%M} Damascus time"


@click.command()
@click.argument("kind", metavar="KIND")
@click.option("--at", type=INSTANT, help="Instant for map and known-vs-actual (default: now). " + TIME_HELP)
@known_at_option
@click.option("--from", "start", type=INSTANT, help="Start of the period (default 26 Nov 2024).")
@click.option("--to", "end", type=INSTANT, help="End of the period (default 8 Dec 2024 06:00Z).")
@click.option("--out", type=click.Path(path_type=Path), help="Output file (default plots/KIND.FORMAT).")
@click.option("--format", "fmt", help="png, svg or pdf (default: from --out, else png).")
@click.option("--every", help="map only: small multiples, one panel per interval (1d, 12h).")
@click.option("--gif", is_flag=True, help="map only: an animated GIF, one frame per --every (default 1d).")
@click.option(
    "--scenario",
    help="A what-if scenario: holdings overlays its government line; other charts draw its world.",
)
@seat_option
@store_option
def chart(
    kind: str,
    at: datetime | None,
    known_at: datetime | None,
    start: datetime | None,
    end: datetime | None,
    out: Path | None,
    fmt: str | None,
    every: str | None,
    gif: bool,
    scenario: str | None,
    seat: str,
    store: str | None,
) -> None:
    """Draw one chart KIND (holdings, timeline, map, known-vs-actual) from the store."""
    if kind not in KINDS:
        import difflib

        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(f"KIND: unknown chart {kind!r}{hint}; choose {', '.join(KINDS)}")
    if (every or gif) and kind != "map":
        raise UserError("--every/--gif: only for the map chart")
    lo, hi = _span(start, end)
    app = open_store(store)
    events = app.read()
    overlay = None
    if scenario:
        from control.scenario import world_events

        branch = world_events(app, scenario)
        if kind == "holdings":
            overlay = (branch, scenario)  # record and scenario side by side
        else:
            events = branch  # the other charts draw the scenario's world itself
    if gif:
        path = out or Path("plots") / "map.gif"
        written = _gif(events, lo, hi, known_at, seat, every or "1d", path)
        click.echo(str(written))
        return
    path, chosen = _out(out, fmt, kind if not every else "map-daily")
    from control.plotting import save

    figure = draw(kind, events, at or now(), known_at, lo, hi, seat, every, overlay)
    click.echo(str(save(figure, path, chosen)))


def _gif(events: list[Any], lo: datetime, hi: datetime, known_at: datetime | None, seat: str,
         every: str, path: Path) -> Path:  # fmt: skip
    """An animation of the map, one frame per interval (matplotlib's Pillow writer)."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    from control import chartdata, plotting
    from control.projection import replay

    if path.suffix.lower() != ".gif":
        raise UserError(f"--out: an animation is written as .gif, not {str(path)!r}")
    writable_target(path)
    times = chartdata.daily(lo, hi, chartdata.parse_step(every))
    frames = [(t, chartdata.map_points(replay(events, t, known_at, seat))) for t in times]

    def build() -> Any:
        fig = plotting.figure(7.5, 7.2)
        ax = fig.add_subplot()
        plotting.map_legend(fig, list(plotting.COLOURS))
        plotting.attribution(fig)

        def frame(i: int) -> Any:
            ax.clear()
            t, points = frames[i]
            held = sum(p.controller == "government" and p.governorate != "Rif Dimashq" for p in points)
            plotting.plot_map(ax, points, f"{_stamp(t)}: government holds {held} of 14")
            return []

        return fig, FuncAnimation(fig, frame, frames=len(frames))

    _fig, animation = plotting.styled(build)
    return write_atomically(path, lambda temp: animation.save(temp, writer=PillowWriter(fps=1)))


@click.command()
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("plots"),
              show_default=True, help="Folder for the charts (created if missing).")  # fmt: skip
@seat_option
@store_option
def demo(out_dir: Path, seat: str, store: str | None) -> None:
    """Load the record and write every chart of it (PNG and SVG) into plots/; print the paths."""
    from control.chartdata import DEFAULT_FROM, DEFAULT_TO
    from control.plotting import save
    from control.projection import replay
    from control.render import holdings_line
    from control.times import parse_instant

    if not out_dir.exists():
        if not out_dir.parent.is_dir():
            raise UserError(f"--out-dir: folder {str(out_dir.parent)!r} does not exist")
        out_dir.mkdir()
    events = open_store(store).read()
    end = parse_instant(END_OF_RECORD)
    known = parse_instant("2024-12-07T18:00Z")
    charts = {
        "holdings": ("holdings", end, None, None),
        "timeline": ("timeline", end, None, None),
        "map": ("map", end, None, None),
        "map-daily": ("map", end, None, "1d"),
        "known-vs-actual": ("known-vs-actual", parse_instant("2024-12-07T23:00Z"), known, None),
    }
    for stem, (kind, at, known_at, every) in charts.items():
        lo = parse_instant("2024-11-27T00:00Z") if every else DEFAULT_FROM
        hi = parse_instant("2024-12-08T00:00Z") if every else DEFAULT_TO
        figure = draw(kind, events, at, known_at, lo, hi, seat, every)
        for fmt in ("png", "svg"):
            click.echo(str(save(figure, out_dir / f"{stem}.{fmt}", fmt)))
    click.echo(holdings_line(replay(events, end, None, seat)))


@click.command()
@click.option("--at", type=INSTANT, help="State at this instant (default: now). " + TIME_HELP)
@known_at_option
@click.option("--events", "whole_ledger", is_flag=True, help="Export the whole ledger instead.")
@click.option("--format", "fmt", required=True, help="csv, json or geojson (geojson: state only).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file (default: stdout).")
@seat_option
@store_option
def export(
    at: datetime | None,
    known_at: datetime | None,
    whole_ledger: bool,
    fmt: str,
    out: Path | None,
    seat: str,
    store: str | None,
) -> None:
    """The state of every capital (csv, json, geojson), or the whole ledger with --events."""
    from control import exports
    from control.projection import known, replay

    allowed = ("csv", "json") if whole_ledger else ("csv", "json", "geojson")
    if fmt not in allowed:
        raise UserError(f"--format: {fmt!r} is not one of {', '.join(allowed)}")
    if out is not None:
        writable_target(out)
    events = open_store(store).read()
    if whole_ledger:
        text = exports.events(known(events, known_at), fmt)
    else:
        text = exports.state(replay(events, at or now(), known_at, seat), fmt)
    if out is None:
        click.echo(text, nl=False)
        return
    write_atomically(out, lambda temp: Path(temp).write_text(text, encoding="utf-8", newline=""))
    click.echo(f"wrote {out}")


COMMANDS = [chart, demo, export]

"""Drawing: ``plot_x(ax, data) -> Axes`` functions over chart data, and deterministic file output.

Pure drawing on ``matplotlib.figure.Figure`` (never pyplot's global state), of the gazetteer
given (its controllers' names and colours, time zone, focus controller, outline: see
:mod:`control.views.display`). One marker per statement kind, defined here once. Same ledger,
same bytes: PNG/SVG/PDF metadata dates and the SVG hash salt are fixed. No matplotlib warning
reaches the terminal.

Long: the drawing primitives of every chart (axes, bands, maps, legends, labels kept on
the canvas) share one style and one deterministic file output.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import matplotlib
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon

from control.model.errors import UserError
from control.model.gazetteer import Gazetteer, outline_rings
from control.views import display
from control.views.chartdata import HoldingsSeries, MapPoint, Row
from control.views.files import write_atomically

MARKERS = {"denial": "X", "claim": "^"}
HATCHES = {"uncertain": "////", "contested": "..", "conflicting": "xx"}
RC = {
    "svg.hashsalt": "territorial-control",
    "svg.fonttype": "path",
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
}
FORMATS = ("png", "svg", "pdf")
METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}


def palette(atlas: Gazetteer) -> tuple[dict[str, str], dict[str, str]]:
    """Controller -> colour and display name, of ``atlas`` (charts and the page alike);
    ``"none"``: nobody's colour."""
    return display.colours(atlas), dict(atlas.controller_names)


def figure(width: float, height: float) -> Figure:
    """A new figure detached from pyplot."""
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


#: At most this many day ticks (every day, or every few days, up to twice as many days); longer
#: ranges get matplotlib's automatic date ticks.
MAX_DAY_TICKS = 16


def _date_axis(ax: Axes, atlas: Gazetteer) -> None:
    """Day ticks in the gazetteer's time zone for a few weeks; for a longer range, a bounded
    automatic locator (a DayLocator over years would ask for thousands of ticks and grind for
    minutes). The axis is labelled with the zone."""
    zone = atlas.zone
    lo, hi = ax.get_xlim()
    days = hi - lo  # matplotlib date numbers are days
    if days <= 2 * MAX_DAY_TICKS:
        interval = max(1, -(-int(days) // MAX_DAY_TICKS))
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=interval, tz=zone))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b", tz=zone))
    else:
        locator = mdates.AutoDateLocator(tz=zone, minticks=3, maxticks=9)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=zone))
    for label in ax.get_xticklabels():
        label.set_rotation(0)
    start, end = mdates.num2date(lo), mdates.num2date(hi)
    ax.set_xlabel(f"date ({display.zone_label(atlas, start, end)})")


def plot_holdings(
    ax: Axes,
    series: HoldingsSeries,
    atlas: Gazetteer,
    overlay: HoldingsSeries | None = None,
    overlay_label: str = "scenario",
) -> Axes:
    """Step chart of places held per controller. With a focus controller (the gazetteer's), its
    line is drawn bold, the band under it is how low its holdings may already have been while
    changes were under way (uncertain windows), and its losses are numbered and listed; without
    one, every controller is drawn alike and the box says who holds what at the end."""
    import numpy as np

    focus = series.focus
    colour, name = (lambda c: display.colour(atlas, c)), (lambda c: display.name(atlas, c))
    # date numbers (matplotlib's days since 1970) computed at once: matplotlib's own conversion,
    # one datetime at a time, takes seconds for a conflict's hundreds of thousands of steps
    x = np.array([t.timestamp() for t in series.times]) / 86400.0
    values = np.array([series.government_low, *series.counts.values()])
    # a step whose every value is the one before adds no step: left out (the same step function,
    # drawn with a third fewer vertices over years of a conflict)
    kept = np.ones(len(x), dtype=bool)
    kept[1:-1] = (values[:, 1:-1] != values[:, :-2]).any(axis=0)
    x, values = x[kept], values[:, kept]
    if focus is not None:
        gov = values[1 + list(series.counts).index(focus)]
        ax.fill_between(
            x, values[0], gov, step="post", color=colour(focus), alpha=0.18, lw=0,
            label=f"{name(focus)}, if changes under way had happened",
        )  # fmt: skip
    for controller, counts in zip(series.counts, values[1:], strict=True):
        main = controller == focus
        ax.step(
            x,
            counts,
            where="post",
            color=colour(controller),
            lw=3.4 if main else 1.5 if focus else 2.2,
            alpha=1 if main else 0.9,
            label=name(controller),
            zorder=4 if main else 3,
        )
    shown = focus or (max(series.counts, key=lambda c: series.counts[c][-1]) if series.counts else None)
    if overlay is not None and shown is not None:
        ax.step(
            list(overlay.times),
            overlay.counts.get(shown, tuple(0 for _ in overlay.times)),
            where="post",
            color="#222222",
            lw=2.0,
            ls=(0, (4, 2)),
            label=f"{name(shown)}, scenario {overlay_label}",
            zorder=5,
        )
    extra = []
    if overlay is not None and shown is not None:
        final = overlay.counts.get(shown, (0,))[-1]
        left = f": {_left(overlay.final)}" if focus else ""
        extra.append(f"scenario {overlay_label}: {final} of {overlay.total}{left}")
    if focus is not None:
        _annotate_losses(ax, series, atlas, extra)
    else:
        _annotate_ends(ax, series, atlas, extra)
    ax.set_ylim(0, series.total + 2 if series.total <= 40 else series.total * 1.05)
    ax.set_xlim(x[0], x[-1])
    if series.total <= 40:
        ax.set_yticks(range(0, series.total + 1, 2))
    else:  # thousands of places: a bounded automatic locator, not a tick every two
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.set_ylabel(f"{display.places_word(atlas)} held (of {series.total})")
    ax.grid(axis="y", color="#e4e4e4", lw=0.6)
    _date_axis(ax, atlas)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncols=4, frameon=False, fontsize=8.5)
    return ax


#: Above this many losses (or places left), the chart counts them instead of naming each.
MAX_LOSSES = 20


def _left(names: Sequence[str]) -> str:
    """What the government keeps: named, or counted past :data:`MAX_LOSSES` places."""
    return f"{len(names)} places" if len(names) > MAX_LOSSES else ", ".join(names) or "none"


def _annotate_ends(ax: Axes, series: HoldingsSeries, atlas: Gazetteer, extra: Sequence[str] = ()) -> None:
    """Without a focus controller: who holds how many places at the start and the end, in a box."""
    lines = [f"Held ({display.places_word(atlas)}, of {series.total}): start → end"]
    for c, counts in series.counts.items():
        lines.append(f"{display.name(atlas, c)}: {counts[0]} → {counts[-1]}")
    _box(ax, [*lines, *extra])


def _box(ax: Axes, lines: Sequence[str]) -> None:
    ax.text(
        0.99, 0.98, "\n".join(lines), transform=ax.transAxes, ha="right", va="top",
        fontsize=8.5, linespacing=1.45, multialignment="left",
        bbox={"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "#dddddd"},
    )  # fmt: skip


def _annotate_losses(ax: Axes, series: HoldingsSeries, atlas: Gazetteer, extra: Sequence[str] = ()) -> None:
    """Number each loss of the focus controller where its window ends; list them, with windows,
    in a box."""
    focus = cast(str, series.focus)
    zone = atlas.zone
    years = series.times[0].astimezone(zone).year != series.times[-1].astimezone(zone).year  # say them
    lines = []
    numbers: dict[datetime, list[str]] = {}
    if len(series.losses) > MAX_LOSSES:  # a conflict's worth: counted, not each one listed
        lines.append(f"{len(series.losses)} losses in the period (listed only up to {MAX_LOSSES})")
    for number, loss in enumerate(series.losses if len(series.losses) <= MAX_LOSSES else (), 1):
        numbers.setdefault(loss.latest, []).append(str(number))
        first = display.day(atlas, loss.earliest, year=years)
        last = display.day(atlas, loss.latest, end=True, year=years)
        window = first if first == last else f"{first} - {last}"
        lines.append(f"{number}  {loss.label(atlas)}  ({window})")
    for latest, labels in numbers.items():
        level = series.at(focus, latest)
        ax.annotate(
            ",".join(labels),
            xy=(latest, level),
            xytext=(4, 5),
            textcoords="offset points",
            fontsize=8,
            fontweight="bold",
            color=display.colour(atlas, focus),
            zorder=6,
        )
    final = series.counts[focus][-1]
    what = atlas.labels.get("places_short", "places")
    head = f"{display.name(atlas, focus)}: {series.counts[focus][0]} → {final} of {series.total} {what}"
    head += "; lost (window):"
    tail = f"left: {_left(series.final)}"
    _box(ax, [head, *lines, tail, *extra])


def plot_timeline(ax: Axes, rows: Sequence[Row], atlas: Gazetteer) -> Axes:
    """Swimlanes: one row per place coloured by controller, hatched where uncertain."""
    colour, name = (lambda c: display.colour(atlas, c)), (lambda c: display.name(atlas, c))
    kinds_seen: set[str] = set()
    controllers_seen: list[str | None] = []
    statuses_seen: set[str] = set()
    for y, row in enumerate(rows):
        for seg in row.segments:
            statuses_seen.add(seg.status)
            if seg.controller not in controllers_seen:
                controllers_seen.append(seg.controller)
            start, end = mdates.date2num(seg.start), mdates.date2num(seg.end)
            ax.broken_barh(
                [(start, end - start)],
                (y - 0.38, 0.76),
                facecolors=colour(seg.controller),
                edgecolor="white"
                if seg.status not in ("uncertain", "contested", "conflicting")
                else "#333333",
                hatch=HATCHES.get(seg.status),
                lw=0.4,
                alpha=0.55 if seg.status == "uncertain" else 1.0,
            )
        for marker in row.markers:
            kinds_seen.add(marker.kind)
            ax.plot(
                marker.time,
                y + (0.2 if marker.kind == "denial" else -0.2),
                marker=MARKERS[marker.kind],
                ms=8,
                color="black",
                mfc="white" if marker.kind == "claim" else "black",
                ls="none",
                zorder=5,
            )
    ax.set_yticks(range(len(rows)), [r.governorate for r in rows])
    ax.invert_yaxis()
    ax.set_ylim(len(rows) - 0.5, -0.5)
    if rows and rows[0].segments:
        ax.set_xlim(rows[0].segments[0].start, rows[0].segments[-1].end)
    _date_axis(ax, atlas)
    ax.spines["left"].set_visible(False)
    handles: list[Any] = [Patch(facecolor=colour(c), label=name(c)) for c in controllers_seen]
    handles.append(Patch(facecolor="#ffffff", edgecolor="#444444", hatch="////", label="uncertain"))
    handles.append(Patch(facecolor="#ffffff", edgecolor="#444444", hatch="..", label="contested"))
    if "conflicting" in statuses_seen:  # rival changes whose order the evidence cannot fix
        handles.append(Patch(facecolor="#ffffff", edgecolor="#444444", hatch="xx", label="disputed (rivals)"))
    for kind in sorted(kinds_seen):
        handles.append(
            ax.plot(
                [],
                [],
                marker=MARKERS[kind],
                ls="none",
                color="black",
                mfc="white" if kind == "claim" else "black",
                label=kind,
            )[0]
        )
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=5, frameon=False)
    return ax


def outline(atlas: Gazetteer) -> list[list[tuple[float, float]]]:
    """The gazetteer's outline: its polygons' exterior rings (lon, lat); none without one."""
    return outline_rings(atlas.outline)


#: Above this many places a map names none (the names would cover each other) and draws its
#: markers a style at a time (one matplotlib collection per style, not one per place: see
#: :func:`_marker_runs`).
MAX_LABELS = 100
#: Points between a marker's centre and its label (the marker's radius and a little).
LABEL_GAP = 9


def plot_map(
    ax: Axes, points: Sequence[MapPoint], atlas: Gazetteer, title: str = "", labels: bool = True
) -> Axes:
    """The places on the gazetteer's outline (if it has one), coloured by controller, styled by
    status; the extent is the outline's, else the places' bounds with a margin. Places with
    shapes are filled by controller (control.views.shapes)."""
    from control.views import shapes

    for ring in outline(atlas):
        ax.add_patch(Polygon(ring, closed=True, facecolor="#f4f1ea", edgecolor="#8a8a8a", lw=0.8))
    shapes.plot_polygons(ax, points, lambda c: display.colour(atlas, c), atlas)
    xlim, ylim = shapes.extent(atlas, display.map_extent(atlas, [(p.lon, p.lat) for p in points]))
    many = len(points) > MAX_LABELS
    for run in _marker_runs(points, many, atlas):
        status = run[0].status
        ax.scatter(
            [p.lon for p in run],
            [p.lat for p in run],
            s=28 if many else 120,
            c=[_face(run[0], atlas)] * len(run),
            edgecolors="black" if status == "contested" else "#555555",
            linewidths=(1.4 if many else 2.2) if status == "contested" else (0.5 if many else 0.8),
            hatch={"uncertain": "////", "conflicting": "xxxx"}.get(status),
            zorder=3,
        )
    gap = atlas.labels.get("label_gap_deg")  # the gazetteer's, in degrees; else beside the marker
    for p in points if labels and not many else ():
        left = display.label_left(atlas, p.governorate, p.lon, xlim)
        ha = "right" if left else "left"
        if gap is not None:
            dx = -float(gap) if left else float(gap)
            ax.text(p.lon + dx, p.lat, p.label, fontsize=7.5, ha=ha, va="center", zorder=4)
        else:  # a fixed distance on the page, whatever the map's scale
            shift = (-LABEL_GAP if left else LABEL_GAP, 0)
            ax.annotate(
                p.label, (p.lon, p.lat), xytext=shift, textcoords="offset points",
                fontsize=7.5, ha=ha, va="center", zorder=4,
            )  # fmt: skip
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect(display.map_aspect(atlas, ylim))
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _face(p: MapPoint, atlas: Gazetteer) -> str:
    return display.colour(atlas, p.controller) if p.status != "vacated" else "white"


def _marker_runs(points: Sequence[MapPoint], many: bool, atlas: Gazetteer) -> list[list[MapPoint]]:
    """The markers drawn together: each place alone, or, for ``many`` places, smaller, a style
    at a time in a fixed order (colour, then status), each in the points' order."""
    if not many:
        return [[p] for p in points]
    groups: dict[tuple[str, str], list[MapPoint]] = {}
    for p in points:
        groups.setdefault((_face(p, atlas), p.status), []).append(p)
    return [run for _, run in sorted(groups.items())]


def map_legend(
    fig: Figure, controllers: Sequence[str | None], atlas: Gazetteer, extra: Sequence[Any] = ()
) -> None:
    handles: list[Any] = [
        Patch(facecolor=display.colour(atlas, c), edgecolor="#555555", label=display.name(atlas, c))
        for c in controllers
        if c is not None
    ]
    handles += [
        Patch(facecolor="#dddddd", edgecolor="#555555", hatch="////", label="uncertain"),
        Patch(facecolor="#dddddd", edgecolor="black", lw=2.2, label="contested"),
        Patch(facecolor="white", edgecolor="#555555", label="vacated"),
        *extra,
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=5, frameon=False, fontsize=8.5)


def attribution(fig: Figure, atlas: Gazetteer) -> None:
    """The outline's credit, bottom right (nothing without an outline or a credit); with shapes,
    what their shading means and their credit before it."""
    from control.views.shapes import map_credit

    credit = map_credit(display.outline_credit(atlas), atlas)
    if credit:
        fig.text(0.995, 0.003, credit, ha="right", va="bottom", fontsize=6.5, color="#888888")


def save(fig: Figure, path: Path, fmt: str) -> Path:
    """Write ``fig`` deterministically and atomically (no partial file on any error)."""
    if fmt not in FORMATS:
        raise UserError(f"--format: unknown format {fmt!r}; choose {', '.join(FORMATS)}")

    def write(temp: str) -> None:
        with matplotlib.rc_context(RC), quiet():
            fig.savefig(temp, format=fmt, metadata=METADATA[fmt])

    return write_atomically(path, write)


def styled(build: Any) -> Figure:
    """Build a figure under the project's rc settings (fonts, spines, SVG hash salt)."""
    with matplotlib.rc_context(RC), quiet():
        return build()


@contextmanager
def quiet() -> Iterator[None]:
    """No matplotlib warning reaches the terminal ("constrained_layout not applied" when a
    legend is wider than a small figure: the figure is still drawn, and whole)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"matplotlib\..*")
        warnings.filterwarnings("ignore", message=r".*constrained_layout.*")
        yield


# --- whole figures, as the CLI and `control demo` draw them -----------------------------------


def holdings_figure(
    series: HoldingsSeries,
    atlas: Gazetteer,
    overlay: HoldingsSeries | None = None,
    label: str = "",
    title: str = "",
) -> Figure:
    def build() -> Figure:
        fig = figure(11, 5.6)
        ax = fig.add_subplot()
        plot_holdings(ax, series, atlas, overlay, label or "scenario")
        heading = title or (
            f"{display.places_word(atlas, capital=True)} held, "
            f"{display.period(atlas, series.times[0], series.times[-1])}"
        )
        if overlay is not None and not title:
            heading += f": record vs SCENARIO {label}"
        ax.set_title(heading, loc="left")
        return fig

    return styled(build)


def timeline_title(atlas: Gazetteer) -> str:
    """ "Who held each capital, in the order the government lost them" (the focus controller's
    losses order the rows), or "Who held each place"."""
    head = f"Who held each {display.place_word(atlas)}"
    if atlas.focus:
        return f"{head}, in the order {display.short_name(atlas, atlas.focus)} lost them"
    return head


def timeline_figure(rows: Sequence[Row], atlas: Gazetteer, title: str = "") -> Figure:
    def build() -> Figure:
        fig = figure(11, 6.2)
        ax = fig.add_subplot()
        plot_timeline(ax, rows, atlas)
        ax.set_title(title or timeline_title(atlas), loc="left")
        return fig

    return styled(build)


def map_figure(points: Sequence[MapPoint], title: str, atlas: Gazetteer) -> Figure:
    def build() -> Figure:
        fig = figure(7.5, 7.2)
        ax = fig.add_subplot()
        plot_map(ax, points, atlas)
        ax.set_title(title, loc="left")
        map_legend(fig, sorted({p.controller for p in points}, key=lambda c: display.order(atlas, c)), atlas)
        attribution(fig, atlas)
        return fig

    return styled(build)


def map_grid_figure(panels: Sequence[tuple[str, Sequence[MapPoint]]], title: str, atlas: Gazetteer) -> Figure:
    def build() -> Figure:
        cols = 4 if len(panels) > 6 else max(1, min(3, len(panels)))
        rows = -(-len(panels) // cols)
        fig = figure(3.2 * cols, 3.1 * rows + 0.8)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, (label, points) in zip(axes.flat, panels, strict=False):
            plot_map(ax, points, atlas, label, labels=False)
        for ax in list(axes.flat)[len(panels) :]:
            ax.set_visible(False)
        fig.suptitle(title, fontweight="bold", x=0.01, ha="left")
        seen = {p.controller for _, pts in panels for p in pts}
        map_legend(fig, sorted(seen, key=lambda c: display.order(atlas, c)), atlas)
        attribution(fig, atlas)
        return fig

    return styled(build)


def known_vs_actual_figure(
    then: Sequence[MapPoint],
    now: Sequence[MapPoint],
    then_title: str,
    now_title: str,
    title: str,
    atlas: Gazetteer,
) -> Figure:
    def build() -> Figure:
        fig = figure(13, 6.8)
        left, right = fig.subplots(1, 2)
        plot_map(left, then, atlas, then_title)
        plot_map(right, now, atlas, now_title)
        for ax, mine, other in ((left, then, now), (right, now, then)):
            for p, q in zip(mine, other, strict=True):
                if (p.controller, p.status) != (q.controller, q.status):
                    ax.scatter([p.lon], [p.lat], s=420, facecolors="none", edgecolors="#222222",
                               linewidths=1.0, linestyle="--", zorder=2)  # fmt: skip
        fig.suptitle(title, fontweight="bold", x=0.01, ha="left")
        seen = {p.controller for p in [*then, *now]}
        differs = Patch(facecolor="white", edgecolor="#222222", ls="--", label="differs between the two")
        map_legend(fig, sorted(seen, key=lambda c: display.order(atlas, c)), atlas, [differs])
        attribution(fig, atlas)
        return fig

    return styled(build)

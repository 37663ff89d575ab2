"""Drawing: ``plot_x(ax, data) -> Axes`` functions over chart data, and deterministic file output.

Pure drawing on ``matplotlib.figure.Figure`` (never pyplot's global state). One colour per
controller (Okabe-Ito, colour-blind safe), one marker per statement kind, defined here once.
Same ledger, same bytes: PNG/SVG/PDF metadata dates and the SVG hash salt are fixed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon

from control.model import gazetteer
from control.model.errors import UserError
from control.model.gazetteer import CONTROLLERS
from control.model.times import SYRIA
from control.views.chartdata import HoldingsSeries, MapPoint, Row
from control.views.files import write_atomically

#: Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
COLOURS: dict[str | None, str] = {
    "government": "#D55E00",
    "hts": "#009E73",
    "sna": "#56B4E9",
    "sdf": "#E69F00",
    "southern": "#0072B2",
    "druze": "#CC79A7",
    None: "#BBBBBB",
}
NAMES: dict[str | None, str] = {
    "government": "Government",
    "hts": "HTS-led opposition",
    "sna": "SNA",
    "sdf": "SDF",
    "southern": "Southern factions",
    "druze": "Druze factions",
    None: "Nobody (vacated)",
}
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
OUTLINE = Path(__file__).parent.parent / "data" / "syria_outline.geojson"


#: Colours for controllers the charts do not know (a user gazetteer's), after the Okabe-Ito ones.
EXTRA_COLOURS = ("#F0E442", "#882255", "#44AA99", "#999933", "#AA4499", "#332288", "#117733", "#661100")


def palette() -> tuple[dict[str, str], dict[str, str]]:
    """Controller -> colour and name for the gazetteer in use: the charts' own for theirs, then
    extra colours in turn (charts and the page alike); ``"none"``: nobody's colour."""
    vocabulary = list(gazetteer.controllers())
    known_first = [c for c in COLOURS if c is not None and c in vocabulary]
    ordered = known_first + [c for c in vocabulary if c not in known_first]
    out: dict[str, str] = {}
    spare = iter(EXTRA_COLOURS * (1 + len(ordered) // len(EXTRA_COLOURS)))
    for c in ordered:
        out[c] = COLOURS[c] if c in COLOURS else next(spare)
    out["none"] = COLOURS[None]
    label = {c: NAMES.get(c) or gazetteer.controllers().get(c, c) for c in ordered}
    return out, label


def colour(controller: str | None) -> str:
    if controller in COLOURS:
        return COLOURS[controller]
    return palette()[0].get(controller or "none", "#777777")


def name(controller: str | None) -> str:
    return NAMES.get(controller, CONTROLLERS.get(controller or "", str(controller)))


def figure(width: float, height: float) -> Figure:
    """A new figure detached from pyplot."""
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


#: At most this many day ticks (every day, or every few days, up to twice as many days); longer
#: ranges get matplotlib's automatic date ticks.
MAX_DAY_TICKS = 16


def _date_axis(ax: Axes) -> None:
    """Day ticks in Damascus time for the record's weeks; for a longer range, a bounded automatic
    locator (a DayLocator over years would ask for thousands of ticks and grind for minutes)."""
    lo, hi = ax.get_xlim()
    days = hi - lo  # matplotlib date numbers are days
    if days <= 2 * MAX_DAY_TICKS:
        interval = max(1, -(-int(days) // MAX_DAY_TICKS))
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=interval, tz=SYRIA))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b", tz=SYRIA))
    else:
        locator = mdates.AutoDateLocator(tz=SYRIA, minticks=3, maxticks=9)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=SYRIA))
    for label in ax.get_xticklabels():
        label.set_rotation(0)


def plot_holdings(
    ax: Axes,
    series: HoldingsSeries,
    overlay: HoldingsSeries | None = None,
    overlay_label: str = "scenario",
) -> Axes:
    """Step chart of capitals held per controller. The band under the government line is how low
    its holdings may already have been while changes were under way (uncertain windows)."""
    import numpy as np

    # date numbers (matplotlib's days since 1970) computed at once: matplotlib's own conversion,
    # one datetime at a time, takes seconds for a conflict's hundreds of thousands of steps
    x = np.array([t.timestamp() for t in series.times]) / 86400.0
    values = np.array([series.government_low, *series.counts.values()])
    # a step whose every value is the one before adds no step: left out (the same step function,
    # drawn with a third fewer vertices over years of a conflict)
    kept = np.ones(len(x), dtype=bool)
    kept[1:-1] = (values[:, 1:-1] != values[:, :-2]).any(axis=0)
    x, values = x[kept], values[:, kept]
    gov = values[1 + list(series.counts).index("government")]
    ax.fill_between(
        x, values[0], gov, step="post", color=colour("government"), alpha=0.18, lw=0,
        label="Government, if changes under way had happened",
    )  # fmt: skip
    for controller, counts in zip(series.counts, values[1:], strict=True):
        main = controller == "government"
        ax.step(
            x,
            counts,
            where="post",
            color=colour(controller),
            lw=3.4 if main else 1.5,
            alpha=1 if main else 0.9,
            label=name(controller),
            zorder=4 if main else 3,
        )
    if overlay is not None:
        ax.step(
            list(overlay.times),
            overlay.counts["government"],
            where="post",
            color="#222222",
            lw=2.0,
            ls=(0, (4, 2)),
            label=f"Government, scenario {overlay_label}",
            zorder=5,
        )
    extra = []
    if overlay is not None:
        final = overlay.counts["government"][-1]
        extra.append(f"scenario {overlay_label}: {final} of {overlay.total}: {_left(overlay.final)}")
    _annotate_losses(ax, series, extra)
    ax.set_ylim(0, series.total + 2 if series.total <= 40 else series.total * 1.05)
    ax.set_xlim(x[0], x[-1])
    if series.total <= 40:
        ax.set_yticks(range(0, series.total + 1, 2))
    else:  # thousands of places: a bounded automatic locator, not a tick every two
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    what = "provincial capitals" if gazetteer.current().builtin else "places"
    ax.set_ylabel(f"{what} held (of {series.total})")
    ax.grid(axis="y", color="#e4e4e4", lw=0.6)
    _date_axis(ax)
    ax.set_xlabel("date (Damascus time, UTC+3)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncols=4, frameon=False, fontsize=8.5)
    return ax


#: Above this many losses (or places left), the chart counts them instead of naming each.
MAX_LOSSES = 20


def _left(names: Sequence[str]) -> str:
    """What the government keeps: named, or counted past :data:`MAX_LOSSES` places."""
    return f"{len(names)} places" if len(names) > MAX_LOSSES else ", ".join(names) or "none"


def _annotate_losses(ax: Axes, series: HoldingsSeries, extra: Sequence[str] = ()) -> None:
    """Number each government loss where its window ends; list them, with windows, in a box."""
    lines = []
    numbers: dict[datetime, list[str]] = {}
    if len(series.losses) > MAX_LOSSES:  # a conflict's worth: counted, not each one listed
        lines.append(f"{len(series.losses)} losses in the period (listed only up to {MAX_LOSSES})")
    for number, loss in enumerate(series.losses if len(series.losses) <= MAX_LOSSES else (), 1):
        numbers.setdefault(loss.latest, []).append(str(number))
        first, last = _day(loss.earliest), _day(loss.latest, end=True)
        window = first if first == last else f"{first} - {last}"
        lines.append(f"{number}  {loss.label}  ({window})")
    for latest, labels in numbers.items():
        level = series.at("government", latest)
        ax.annotate(
            ",".join(labels),
            xy=(latest, level),
            xytext=(4, 5),
            textcoords="offset points",
            fontsize=8,
            fontweight="bold",
            color=colour("government"),
            zorder=6,
        )
    final = series.counts["government"][-1]
    head = (
        f"Government: {series.counts['government'][0]} → {final} of {series.total} "
        f"{'capitals' if gazetteer.current().builtin else 'places'}; lost (window):"
    )
    tail = f"left: {_left(series.final)}"
    ax.text(
        0.99, 0.98, "\n".join([head, *lines, tail, *extra]), transform=ax.transAxes, ha="right", va="top",
        fontsize=8.5, linespacing=1.45, multialignment="left",
        bbox={"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "#dddddd"},
    )  # fmt: skip


def _day(instant: datetime, end: bool = False) -> str:
    """A day in Damascus time; an exclusive end at midnight reads as the day before."""
    local = instant.astimezone(SYRIA)
    if (local.hour, local.minute) == (0, 0):
        if end:
            local = local - timedelta(days=1)
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %H:%M}"


def plot_timeline(ax: Axes, rows: Sequence[Row]) -> Axes:
    """Swimlanes: one row per capital coloured by controller, hatched where uncertain."""
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
    _date_axis(ax)
    ax.set_xlabel("date (Damascus time, UTC+3)")
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


def outline() -> list[tuple[float, float]]:
    """Syria's outline (lon, lat), shipped with the package (see data/make_outline.py)."""
    data = json.loads(OUTLINE.read_text("utf-8"))
    return [tuple(p) for p in data["features"][0]["geometry"]["coordinates"][0]]


#: Above this many places a map names none (the names would cover each other) and draws its
#: markers a style at a time (one matplotlib collection per style, not one per place: see
#: :func:`_marker_runs`).
MAX_LABELS = 100


def plot_map(ax: Axes, points: Sequence[MapPoint], title: str = "", labels: bool = True) -> Axes:
    """The capitals on an outline of Syria, coloured by controller, styled by status."""
    from control.views import shapes

    ring = outline()
    ax.add_patch(Polygon(ring, closed=True, facecolor="#f4f1ea", edgecolor="#8a8a8a", lw=0.8))
    shapes.plot_polygons(ax, points, colour)  # places with shapes: filled by controller
    many = len(points) > MAX_LABELS
    for run in _marker_runs(points, many):
        status = run[0].status
        ax.scatter(
            [p.lon for p in run],
            [p.lat for p in run],
            s=28 if many else 120,
            c=[_face(run[0])] * len(run),
            edgecolors="black" if status == "contested" else "#555555",
            linewidths=(1.4 if many else 2.2) if status == "contested" else (0.5 if many else 0.8),
            hatch={"uncertain": "////", "conflicting": "xxxx"}.get(status),
            zorder=3,
        )
    for p in points if labels and not many else ():
        dx, ha = (0.26, "left") if p.lon < 39.5 else (-0.26, "right")
        if p.governorate in ("Damascus", "Daraa"):
            dx, ha = -0.26, "right"
        ax.text(p.lon + dx, p.lat, p.label, fontsize=7.5, ha=ha, va="center", zorder=4)
    xs, ys = [x for x, _ in ring], [y for _, y in ring]
    ax.set_xlim(min(xs) - 0.3, max(xs) + 0.3)
    ax.set_ylim(min(ys) - 0.3, max(ys) + 0.3)
    shapes.fit(ax)  # and the polygons, wherever they lie
    ax.set_aspect(1.2)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _face(p: MapPoint) -> str:
    return colour(p.controller) if p.status != "vacated" else "white"


def _marker_runs(points: Sequence[MapPoint], many: bool) -> list[list[MapPoint]]:
    """The markers drawn together: each place alone, or, for ``many`` places, smaller, a style
    at a time in a fixed order (colour, then status), each in the points' order."""
    if not many:
        return [[p] for p in points]
    groups: dict[tuple[str, str], list[MapPoint]] = {}
    for p in points:
        groups.setdefault((_face(p), p.status), []).append(p)
    return [run for _, run in sorted(groups.items())]


def map_legend(fig: Figure, controllers: Sequence[str | None], extra: Sequence[Any] = ()) -> None:
    handles: list[Any] = [
        Patch(facecolor=colour(c), edgecolor="#555555", label=name(c)) for c in controllers if c is not None
    ]
    handles += [
        Patch(facecolor="#dddddd", edgecolor="#555555", hatch="////", label="uncertain"),
        Patch(facecolor="#dddddd", edgecolor="black", lw=2.2, label="contested"),
        Patch(facecolor="white", edgecolor="#555555", label="vacated"),
        *extra,
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=5, frameon=False, fontsize=8.5)


def attribution(fig: Figure) -> None:
    from control.views.shapes import map_credit

    fig.text(
        0.995, 0.003, map_credit("Outline: Natural Earth (public domain)"), ha="right", va="bottom",
        fontsize=6.5, color="#888888",
    )  # fmt: skip


def save(fig: Figure, path: Path, fmt: str) -> Path:
    """Write ``fig`` deterministically and atomically (no partial file on any error)."""
    if fmt not in FORMATS:
        raise UserError(f"--format: unknown format {fmt!r}; choose {', '.join(FORMATS)}")

    def write(temp: str) -> None:
        with matplotlib.rc_context(RC):
            fig.savefig(temp, format=fmt, metadata=METADATA[fmt])

    return write_atomically(path, write)


def styled(build: Any) -> Figure:
    """Build a figure under the project's rc settings (fonts, spines, SVG hash salt)."""
    with matplotlib.rc_context(RC):
        return build()


# --- whole figures, as the CLI and `control demo` draw them -----------------------------------


def holdings_figure(
    series: HoldingsSeries, overlay: HoldingsSeries | None = None, label: str = "", title: str = ""
) -> Figure:
    def build() -> Figure:
        fig = figure(11, 5.6)
        ax = fig.add_subplot()
        plot_holdings(ax, series, overlay, label or "scenario")
        heading = title or "Provincial capitals held, 26 Nov - 8 Dec 2024"
        if overlay is not None and not title:
            heading += f": record vs SCENARIO {label}"
        ax.set_title(heading, loc="left")
        return fig

    return styled(build)


def timeline_figure(rows: Sequence[Row], title: str = "") -> Figure:
    def build() -> Figure:
        fig = figure(11, 6.2)
        ax = fig.add_subplot()
        plot_timeline(ax, rows)
        ax.set_title(title or "Who held each capital, in the order the government lost them", loc="left")
        return fig

    return styled(build)


def map_figure(points: Sequence[MapPoint], title: str) -> Figure:
    def build() -> Figure:
        fig = figure(7.5, 7.2)
        ax = fig.add_subplot()
        plot_map(ax, points)
        ax.set_title(title, loc="left")
        map_legend(fig, sorted({p.controller for p in points}, key=_controller_order))
        attribution(fig)
        return fig

    return styled(build)


def map_grid_figure(panels: Sequence[tuple[str, Sequence[MapPoint]]], title: str) -> Figure:
    def build() -> Figure:
        cols = 4 if len(panels) > 6 else max(1, min(3, len(panels)))
        rows = -(-len(panels) // cols)
        fig = figure(3.2 * cols, 3.1 * rows + 0.8)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, (label, points) in zip(axes.flat, panels, strict=False):
            plot_map(ax, points, label, labels=False)
        for ax in list(axes.flat)[len(panels) :]:
            ax.set_visible(False)
        fig.suptitle(title, fontweight="bold", x=0.01, ha="left")
        seen = {p.controller for _, pts in panels for p in pts}
        map_legend(fig, sorted(seen, key=_controller_order))
        attribution(fig)
        return fig

    return styled(build)


def known_vs_actual_figure(
    then: Sequence[MapPoint], now: Sequence[MapPoint], then_title: str, now_title: str, title: str
) -> Figure:
    def build() -> Figure:
        fig = figure(13, 6.8)
        left, right = fig.subplots(1, 2)
        plot_map(left, then, then_title)
        plot_map(right, now, now_title)
        for ax, mine, other in ((left, then, now), (right, now, then)):
            for p, q in zip(mine, other, strict=True):
                if (p.controller, p.status) != (q.controller, q.status):
                    ax.scatter([p.lon], [p.lat], s=420, facecolors="none", edgecolors="#222222",
                               linewidths=1.0, linestyle="--", zorder=2)  # fmt: skip
        fig.suptitle(title, fontweight="bold", x=0.01, ha="left")
        seen = {p.controller for p in [*then, *now]}
        differs = Patch(facecolor="white", edgecolor="#222222", ls="--", label="differs between the two")
        map_legend(fig, sorted(seen, key=_controller_order), [differs])
        attribution(fig)
        return fig

    return styled(build)


def _controller_order(controller: str | None) -> tuple[int, str]:
    order = list(COLOURS)
    return (order.index(controller) if controller in order else len(order), str(controller))

"""Charts: pure chart data, rendered files (valid, deterministic, compared to a baseline image),
the demo, and bad input that leaves no file behind."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from control.fold.projection import replay, transitions
from control.model.gazetteer import builtin
from control.model.times import parse_instant
from control.views import chartdata, charts
from control.views.display import default_range

BASELINE = Path(__file__).parent / "baseline"
END = parse_instant("2024-12-08T00:00Z")
SYRIA = builtin()  # the seed record's gazetteer: its focus controller is the government
RANGE = default_range(SYRIA, None)


def holdings_series(events: Any, start: Any = None, end: Any = None, **options: Any) -> Any:
    """The holdings of the seed record, over its default period unless given."""
    return chartdata.holdings_series(
        events, start or RANGE[0], end or RANGE[1], focus="government", **options
    )


def timeline_rows(events: Any) -> Any:
    return chartdata.timeline_rows(events, *RANGE, focus="government")


def map_points(snapshot: Any) -> Any:
    return chartdata.map_points(snapshot, SYRIA)


def test_government_holdings_go_from_ten_to_three_stepping_where_the_ledger_says(events):
    series = holdings_series(events)
    gov = series.counts["government"]
    assert gov[0] == 10 and gov[-1] == 3
    assert all(a >= b for a, b in itertools.pairwise(gov))  # never regains in the record
    assert series.final == ("Damascus", "Latakia", "Tartus")
    drops = {series.times[i] for i in range(1, len(gov)) if gov[i] < gov[i - 1]}
    losses = {t.window.latest for t in transitions(events) if t.before == "government"}
    assert drops == losses
    for t in series.times:
        assert series.at("government", t) == replay(events, t).holding("government").count


def test_the_band_under_the_government_line_is_the_changes_under_way(events):
    series = holdings_series(events)
    at = series.times.index(max(t for t in series.times if t <= parse_instant("2024-11-29T00:00Z")))
    uncertain = [c for c in replay(events, series.times[at]).capitals if c.status == "uncertain"]
    assert series.counts["government"][at] - series.government_low[at] == len(uncertain) > 0
    assert series.government_low[-1] == series.counts["government"][-1]


def test_holdings_respect_known_at(events):
    early = holdings_series(events, known_at=parse_instant("2024-12-07T18:00Z"))
    assert early.counts["government"][-1] == 5


def test_timeline_has_fourteen_rows_in_order_of_loss(events):
    rows = timeline_rows(events)
    assert len(rows) == 14
    lost = [r.lost_at for r in rows if r.lost_at is not None]
    assert lost == sorted(lost) and len(lost) == 7
    assert rows[0].governorate == "Aleppo"
    homs = next(r for r in rows if r.governorate == "Homs")
    assert [s.controller for s in homs.segments] == ["government", "government", "hts"]
    assert homs.segments[1].status == "uncertain"
    damascus = next(r for r in rows if r.governorate == "Damascus")
    assert {m.kind for m in damascus.markers} == {"denial", "claim"}


def test_map_points_carry_coordinates_controller_and_status(events):
    points = map_points(replay(events, END))
    assert len(points) == 14
    aleppo = next(p for p in points if p.governorate == "Aleppo")
    assert (aleppo.lat, aleppo.lon, aleppo.controller) == (36.20, 37.16, "hts")


def _png(path: Path) -> bytes:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("holdings", []),
        ("timeline", []),
        ("map", ["--at", "2024-12-08T00:00Z"]),
        ("known-vs-actual", ["--at", "2024-12-07T23:00Z", "--known-at", "2024-12-07T18:00Z"]),
    ],
)
def test_every_chart_renders_valid_byte_identical_png_and_svg(run, tmp_path, kind, extra):
    for fmt in ("png", "svg"):
        outputs = []
        for n in (1, 2):
            out = tmp_path / f"{kind}-{n}.{fmt}"
            result = run("chart", kind, *extra, "--out", str(out))
            assert result.exit_code == 0, result.stderr
            assert result.output.strip() == str(out)
            outputs.append(out.read_bytes())
        assert outputs[0] == outputs[1]
        assert 20_000 < len(outputs[0]) < 2_000_000
        if fmt == "png":
            _png(tmp_path / f"{kind}-1.png")
        else:
            assert b"<svg" in outputs[0][:600]


def _stored_then_a_later_claim(
    run, monkeypatch, tmp_path, place: str, actor: str, words: str, day: int
) -> None:
    """The record stored on 1 January 2025, then a claim at ``place`` on ``day`` December 2024,
    learned on 1 February (so left out by ``--recorded-at 2025-01-15``)."""
    from datetime import UTC, datetime

    from control.store import ledger

    monkeypatch.setattr(ledger, "_utc_now", lambda: datetime(2025, 1, 1, tzinfo=UTC))
    run("replay", "--at", "2024-12-08T00:00Z")
    monkeypatch.setattr(ledger, "_utc_now", lambda: datetime(2025, 2, 1, tzinfo=UTC))
    wire = tmp_path / "wire.txt"
    wire.write_text(f"{words}, a spokesman said.\n", encoding="utf-8")
    later = run(
        "add", "--kind", "claim", "--place", place, "--actor", actor, "--earliest",
        f"2024-12-{day:02d}T00:00Z", "--latest", f"2024-12-{day:02d}T06:00Z",
        "--reported-at", f"2024-12-{day:02d}T12:00Z", "--file", str(wire), "--quote", words,
    )  # fmt: skip
    assert later.exit_code == 0, later.output


@pytest.mark.parametrize(
    "args",
    [
        ["map", "--at", "2024-12-05T00:00Z"],
        ["map", "--at", "2024-12-05T00:00Z", "--known-at", "2024-12-04T00:00Z"],
        ["map", "--at", "2024-12-05T00:00Z", "--recorded-at", "2025-01-15T00:00Z"],
        ["known-vs-actual", "--at", "2024-12-07T23:00Z", "--known-at", "2024-12-03T00:00Z"],
        ["map", "--every", "1d", "--from", "2024-11-30T00:00Z", "--to", "2024-12-03T00:00Z"],
        ["map", "--gif", "--every", "2d", "--from", "2024-11-30T00:00Z", "--to", "2024-12-06T00:00Z"],
        ["holdings", "--known-at", "2024-12-05T00:00Z"],
        ["holdings", "--recorded-at", "2025-01-15T00:00Z"],
        ["holdings", "--seat", "douma"],
        ["timeline"],
        ["timeline", "--known-at", "2024-12-05T00:00Z"],
        ["timeline", "--recorded-at", "2025-01-15T00:00Z"],
    ],
)
def test_the_records_maps_are_drawn_from_the_store_as_the_fold_draws_them(run, tmp_path, monkeypatch, args):
    """The record's maps, and its holdings on another knowledge, store or seat, ask the store
    (stored states, or each place folded from its own reports: never the whole ledger in
    memory): the very bytes the pure fold over every event draws. Reports stored after
    --recorded-at are left out as the fold leaves them."""

    from control.fold.phases import capital_phases
    from control.fold.projection import known, replay, transitions
    from control.store.ledger import LedgerApp

    fmt = "gif" if "--gif" in args else "svg"
    _stored_then_a_later_claim(
        run, monkeypatch, tmp_path, "Homs", "hts", "Rebels said they had entered Homs", 4
    )
    stored = tmp_path / f"store.{fmt}"
    assert run("chart", *args, "--out", str(stored)).exit_code == 0

    def given(option: str) -> str | None:  # the test's own clocks and seat, whatever is passed on
        return args[args.index(option) + 1] if option in args else None

    cut = parse_instant(given("--recorded-at")) if given("--recorded-at") else None
    upto = parse_instant(given("--known-at")) if given("--known-at") else None
    seat = given("--seat") or "damascus"

    def folded(self, at, known_at=None, recorded_at=None, seat="city", horizon=None, detail=None):
        return replay(self.read(recorded_at=cut), at, known_at, seat)

    def whole(self, start, end, *_):
        events = self.read(recorded_at=cut)
        return capital_phases(events, start, end, upto, seat), transitions(events, upto, seat)

    def said(self, start, end, *_):
        return [
            e
            for e in known(self.read(recorded_at=cut), upto)
            if e.kind in ("denial", "claim") and start <= e.window.latest <= end
        ]

    monkeypatch.setattr(LedgerApp, "replay", folded)
    monkeypatch.setattr(LedgerApp, "phases", whole)
    monkeypatch.setattr(LedgerApp, "statements", said)
    drawn = tmp_path / f"fold.{fmt}"
    assert run("chart", *args, "--out", str(drawn)).exit_code == 0
    assert stored.read_bytes() == drawn.read_bytes()


def test_a_timeline_of_more_places_than_rows_fit_is_refused_at_once(run, tmp_path):
    """One row per place reads for the 14 capitals, not for a gazetteer of thousands: refused
    in one line before any fold (it ran past ten minutes on 2,000 places), no file written."""
    store = str(tmp_path / "many.db")
    assert run("synth", "--places", "101", "--events", "200", "--store", store).exit_code == 0
    out = tmp_path / "timeline.png"
    result = run("chart", "timeline", "--out", str(out), "--store", store)
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr.count("\n") == 1 and "101 places (at most 100)" in result.stderr
    assert "export --intervals" in result.stderr


def test_holdings_chart_matches_the_baseline_image(run, tmp_path):
    from matplotlib.testing.compare import compare_images

    out = tmp_path / "holdings.png"
    assert run("chart", "holdings", "--out", str(out)).exit_code == 0
    assert compare_images(str(BASELINE / "holdings.png"), str(out), tol=2) is None


def test_pdf_and_small_multiples_and_gif(run, tmp_path):
    pdf = tmp_path / "timeline.pdf"
    assert run("chart", "timeline", "--out", str(pdf)).exit_code == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"
    grid = tmp_path / "daily.png"
    result = run(
        "chart", "map", "--every", "1d", "--from", "2024-11-27", "--to", "2024-12-08", "--out", str(grid)
    )
    assert result.exit_code == 0, result.stderr
    _png(grid)
    gif = tmp_path / "map.gif"
    result = run("chart", "map", "--gif", "--every", "2d", "--from", "2024-11-27", "--to", "2024-12-08",
                 "--out", str(gif))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert gif.read_bytes()[:6] == b"GIF89a"


def test_demo_writes_every_chart_as_png_and_svg(run, tmp_path):
    result = run("demo", "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    stems = {"holdings", "timeline", "map", "map-daily", "known-vs-actual"}
    assert written == sorted([*(f"{s}.{f}" for s in stems for f in ("png", "svg")), "control.html"])
    assert result.output.splitlines()[-1] == "government holds 3 of 14: Damascus, Latakia, Tartus"


def test_committed_plots_are_what_demo_draws(run, tmp_path):
    committed = Path(__file__).parent.parent / "plots"
    run("demo", "--out-dir", str(tmp_path / "out"))
    for name in ("holdings.png", "timeline.svg", "map.png"):
        assert (tmp_path / "out" / name).read_bytes() == (committed / name).read_bytes(), name


def test_other_charts_draw_the_scenario_world(run, tmp_path):
    record, branch = tmp_path / "record.svg", tmp_path / "branch.svg"
    assert run("chart", "map", "--at", "2024-12-08T00:00Z", "--out", str(record)).exit_code == 0
    result = run(
        "chart", "map", "--at", "2024-12-08T00:00Z", "--scenario", "homs-holds", "--out", str(branch)
    )
    assert result.exit_code == 0, result.stderr
    assert b"holds 4 of 14" in branch.read_bytes() or record.read_bytes() != branch.read_bytes()
    assert record.read_bytes() != branch.read_bytes()


def test_holdings_overlay_of_a_scenario(run, tmp_path):
    out = tmp_path / "overlay.png"
    result = run("chart", "holdings", "--scenario", "homs-holds", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    plain = tmp_path / "plain.png"
    run("chart", "holdings", "--out", str(plain))
    assert _png(out) != _png(plain)


BAD = [
    (["chart", "pie"], "KIND", "unknown chart 'pie'"),
    (["chart", "holdings", "--from", "2024-12-05", "--to", "2024-12-01"], "--from", "before --to"),
    (["chart", "holdings", "--out", "nowhere/deeper/x.png"], "--out", "does not exist"),
    (["chart", "holdings", "--out", "x.png", "--format", "bmp"], "--format", "unknown format 'bmp'"),
    (["chart", "holdings", "--out", "x.tiff"], "--out", "cannot tell the format"),
    (["chart", "map", "--every", "soon"], "--every", "not an interval"),
    (["chart", "timeline", "--scenario", "homs-held"], "--scenario", "did you mean 'homs-holds'"),
    (["chart", "known-vs-actual"], "--known-at", "required"),
    (["export", "--format", "xlsx"], "--format", "'xlsx'"),
    (["export", "--events", "--format", "geojson"], "--format", "'geojson'"),
    (["export", "--format", "csv", "--out", "missing/dir/x.csv"], "--out", "does not exist"),
]  # fmt: skip


def _outputs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.suffix in (".png", ".svg", ".pdf", ".csv", ".tiff"))


@pytest.mark.parametrize(("args", "names", "says"), BAD)
def test_bad_chart_input_is_one_line_exit_2_and_no_file(run, tmp_path, args, names, says):
    before = sorted(
        p.name for p in tmp_path.rglob("*") if p.suffix in (".png", ".svg", ".pdf", ".csv", ".tiff")
    )
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("control: error: ") and result.stderr.count("\n") == 1
    assert names in result.stderr and says in result.stderr
    after = sorted(
        p.name for p in tmp_path.rglob("*") if p.suffix in (".png", ".svg", ".pdf", ".csv", ".tiff")
    )
    assert after == before
    assert not list(tmp_path.glob(".*.png*"))


def test_replay_never_imports_matplotlib(store):
    code = (
        "import sys\n"
        "from control.cli import main\n"
        "try:\n"
        "    main(['replay', '--at', '2024-12-08T00:00Z', '--store', sys.argv[1]])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('matplotlib' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, store], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "False"
    assert "government holds 3 of 14" in done.stdout


BRANCHED = """\
[scenario]
name = "branched"
description = "What if the record stopped at 21:30 on 7 December, less four reports; the government spoke?"
branch_at = "2024-12-07T21:30:00Z"
suppress = ["aleppo-capture-001", "homs-capture-000", "damascus-denial-001", "damascus-denial-001-r"]
reported_at = "2024-12-07T23:30:00Z"

[[event]]
id = "branched-denial"
kind = "denial"
place = "Homs"
actor = "government"
earliest = "2024-12-07T22:00:00Z"
latest = "2024-12-07T23:00:00Z"

[[event]]
id = "branched-claim"
kind = "claim"
place = "Hama"
actor = "government"
earliest = "2024-12-07T22:00:00Z"
latest = "2024-12-07T23:00:00Z"

[[event]]
id = "branched-correction"
kind = "correction"
place = "Hama"
targets = ["hama-capture-001"]
"""


@pytest.mark.parametrize(
    "scenario, args",
    [
        ("homs-holds", ["map", "--at", "2024-12-08T00:00Z"]),
        ("homs-holds", ["holdings"]),
        ("homs-holds", ["map", "--every", "1d", "--from", "2024-12-04", "--to", "2024-12-08"]),
        ("sdf-stays-out", ["holdings", "--from", "2024-12-01", "--to", "2024-12-08"]),
        ("branched", ["map", "--at", "2024-12-07T23:30Z", "--known-at", "2024-12-07T23:45Z"]),
        ("branched", ["known-vs-actual", "--at", "2024-12-07T23:30Z", "--known-at", "2024-12-07T20:00Z"]),
        ("branched", ["map", "--every", "12h", "--from", "2024-12-05T00:00Z", "--to", "2024-12-08T00:00Z"]),
        ("branched", ["map", "--gif", "--every", "1d", "--from", "2024-12-04", "--to", "2024-12-08"]),
        ("branched", ["holdings", "--recorded-at", "2025-01-15T00:00Z"]),
        ("branched", ["holdings", "--seat", "douma", "--known-at", "2024-12-07T23:00Z"]),
        ("branched", ["timeline"]),
        ("branched", ["timeline", "--known-at", "2024-12-07T23:00Z", "--recorded-at", "2025-01-15T00:00Z"]),
    ],
)  # fmt: skip
def test_a_scenarios_charts_are_drawn_from_the_store_as_its_world_in_memory_draws_them(
    run, store, tmp_path, monkeypatch, scenario, args
):
    """A what-if's charts come from the store (its branch folded place by place, never the
    whole ledger in memory): the very bytes drawing its world in memory gives, with a branch
    point, suppressions, hypothetical statements and a correction, on every clock and seat."""
    from datetime import datetime

    from control.cli.plots import chart_span
    from control.store.config import store_env
    from control.store.ledger import LedgerApp
    from control.views.charts import draw, map_gif
    from control.views.plotting import save
    from control.whatif.scenario import find, load, world

    words = "Government forces said they still held Hama"
    _stored_then_a_later_claim(run, monkeypatch, tmp_path, "Hama", "government", words, 5)
    path = tmp_path / "branched.toml"
    path.write_text(BRANCHED, encoding="utf-8")
    name = str(path) if scenario == "branched" else scenario
    fmt = "gif" if "--gif" in args else "svg"
    stored = tmp_path / f"store.{fmt}"
    result = run("chart", *args, "--scenario", name, "--out", str(stored))
    assert result.exit_code == 0, result.stderr

    def given(option: str) -> str | None:
        return args[args.index(option) + 1] if option in args else None

    def instant(option: str) -> datetime | None:
        return parse_instant(given(option)) if given(option) else None

    cut, known_at, at = instant("--recorded-at"), instant("--known-at"), instant("--at")
    seat, kind = given("--seat") or "damascus", args[0]
    app = LedgerApp(env=store_env(store))
    lo, hi = chart_span(instant("--from"), instant("--to"), SYRIA, app.record_ends(cut))
    record = LedgerApp(env=store_env(store)).read(recorded_at=cut)
    sc = load(find(name), record)
    branch = world(sc, record)
    drawn = tmp_path / f"memory.{fmt}"
    if fmt == "gif":
        map_gif(SYRIA, branch, lo, hi, known_at, seat, given("--every"), drawn, sc.name, cut)
    elif kind == "holdings":  # the record, and the scenario drawn over it
        save(
            draw(SYRIA, kind, record, at, known_at, lo, hi, seat, None, (branch, sc.name), None, cut),
            drawn,
            fmt,
        )
    else:
        figure = draw(SYRIA, kind, branch, at, known_at, lo, hi, seat, given("--every"), None, sc.name, cut)
        save(figure, drawn, fmt)
    assert stored.read_bytes() == drawn.read_bytes()


def test_the_holdings_box_counts_what_a_scenario_leaves_past_the_limit(events, monkeypatch):
    """The box names what the government keeps in the record and in the scenario, or, past
    ``MAX_LOSSES`` places (a conflict's worth), counts them: never thousands of names in a line."""
    import dataclasses

    from control.views import plotting
    from control.whatif.scenario import find, load, world

    series = holdings_series(events)
    other = holdings_series(world(load(find("homs-holds"), events), events))

    def box() -> str:
        fig = plotting.holdings_figure(series, SYRIA, other, "homs-holds")
        return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)

    assert (
        "left: Damascus, Latakia, Tartus\nscenario homs-holds: 4 of 14: Damascus, Homs, Latakia, Tartus"
        in box()
    )
    monkeypatch.setattr(plotting, "MAX_LOSSES", 2)
    assert "left: 3 places\nscenario homs-holds: 4 of 14: 4 places" in box()
    lost = holdings_series(world(load(find("homs-holds"), events), events), seat="damascus")
    government = (*lost.counts["government"][:-1], 0)
    empty = dataclasses.replace(lost, final=(), counts={**lost.counts, "government": government})
    fig = plotting.holdings_figure(empty, SYRIA, empty, "none-left")
    text = "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "left: none\nscenario none-left: 0 of 14: none" in text  # nothing left, said so


def test_a_map_of_many_places_draws_a_marker_group_per_style_and_names_none(events, monkeypatch, tmp_path):
    """Past ``MAX_LABELS`` places (thousands, in a conflict's ledger) the names would cover each
    other: none is drawn, and each style's markers are one collection (was one per place)."""
    from control.views import plotting

    points = map_points(replay(events, END))
    styles = {(p.controller, p.status) for p in points}

    def drawn() -> tuple[Any, bytes]:
        fig = plotting.map_figure(points, "t", SYRIA)
        out = tmp_path / "m.png"
        plotting.save(fig, out, "png")
        ax = fig.axes[0]
        for c in [c for c in ax.collections if c.get_gid() == "place-shapes"]:  # polygons (issue 28)
            c.remove()
        return ax, out.read_bytes()

    ax, few = drawn()
    assert len(ax.collections) == len(points) and len(ax.texts) == len(points)
    monkeypatch.setattr(plotting, "MAX_LABELS", 5)
    ax, many = drawn()
    assert len(ax.collections) == len(styles) < len(points) and not ax.texts
    assert many != few and drawn()[1] == many  # and still the same bytes each time
    faces = sorted(tuple(c.get_facecolor()[0]) for c in ax.collections)
    assert len(set(faces)) >= len({p.controller for p in points if p.status != "vacated"})


@pytest.mark.parametrize(
    "args",
    [
        ["timeline", "--from", "2018-01-01", "--to", "2020-01-01"],
        ["holdings", "--from", "2018-01-01", "--to", "2020-01-01"],
        ["holdings", "--from", "2018-01-01", "--to", "2020-01-01", "--known-at", "2019-01-01"],
        ["map", "--at", "2019-06-01"],
    ],
)
def test_a_chart_of_chosen_places_is_the_fold_of_those_places_drawn(run, tmp_path, args):
    """``--place`` (repeatable, any alias) draws those places only, from the store, titled with
    how many of how many: the very bytes the pure fold over every report draws for them; so a
    timeline of a few places of a ledger too large for one is drawn instead of refused."""
    from control.cli.plots import chart_span
    from control.model import gazetteer
    from control.store.config import store_env
    from control.store.ledger import LedgerApp
    from control.views.plotting import save

    store = str(tmp_path / "s.db")
    assert run("synth", "--places", "120", "--events", "3000", "--seed", "5", "--store", store).exit_code == 0
    whole = run("chart", "timeline", "--store", store, "--out", "t.svg")
    assert whole.exit_code == 2 and "--place" in whole.stderr and not (tmp_path / "t.svg").exists()
    stored = tmp_path / "stored.svg"
    chosen = ["place 7", "Place 0031", "Place 0100"]
    picked = [x for p in chosen for x in ("--place", p)]
    result = run("chart", *args, *picked, "--store", store, "--out", str(stored))
    assert result.exit_code == 0, result.stderr
    app = LedgerApp(env=store_env(store))
    atlas = app.bound_gazetteer()
    events = app.read()
    names = {"Place 0007", "Place 0031", "Place 0100"}
    mine = atlas.with_places(tuple(g for g in atlas.places if g.name in names))

    def given(option: str) -> str | None:
        return args[args.index(option) + 1] if option in args else None

    at, known = (parse_instant(given(o)) if given(o) else None for o in ("--at", "--known-at"))
    lo, hi = chart_span(
        *(parse_instant(given(o)) if given(o) else None for o in ("--from", "--to")), atlas, app.record_ends()
    )
    with gazetteer.using(mine):
        assert charts.title_basis(mine, None, of=120) == "3 of 120 places"  # in every title
        figure = charts.draw(mine, args[0], events, at, known, lo, hi, "damascus", of=120)
        save(figure, tmp_path / "fold.svg", "svg")
    assert stored.read_bytes() == (tmp_path / "fold.svg").read_bytes()

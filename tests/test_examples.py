"""Any gazetteer, not only Syria's: display settings (time zone, focus, outline, controllers' names,
colours and aliases) are data of the gazetteer, stored with the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.browser import assert_quiet, open_page, page_text

from control.ingest import gazetteers
from control.model import gazetteer
from control.model.errors import UserError

SETTINGS = """\
[gazetteer]
name = "sudan-test"
baseline_as_of = "2023-04-14T00:00Z"
timezone = "Africa/Khartoum"
focus = "saf"
outline = "outline.geojson"
outline_credit = "Outline: made up for the test"

[controllers]
other = "Someone else"

[controllers.saf]
name = "Sudanese Armed Forces"
colour = "#0072b2"
aliases = ["SAF", "the army"]

[controllers.rsf]
description = "Rapid Support Forces (paramilitary)"
aliases = ["RSF", "Rapid Support Forces"]

[[place]]
name = "Khartoum"
lat = 15.5
lon = 32.56
baseline = "saf"
"""
SQUARE = {"type": "Polygon", "coordinates": [[[30, 10], [35, 10], [35, 20], [30, 20], [30, 10]]]}


def _write(tmp_path: Path, text: str = SETTINGS, outline: object = SQUARE) -> Path:
    (tmp_path / "outline.geojson").write_text(json.dumps(outline), "utf-8")
    path = tmp_path / "g.toml"
    path.write_text(text, "utf-8")
    return path


def test_controller_tables_and_display_settings_round_trip(tmp_path):
    atlas = gazetteers.load_file(_write(tmp_path))
    assert list(atlas.controllers) == ["other", "saf", "rsf"]  # the file's order
    assert atlas.controllers["rsf"] == "Rapid Support Forces (paramilitary)"
    assert atlas.controller_names == {
        "other": "Someone else", "saf": "Sudanese Armed Forces", "rsf": "Rapid Support Forces (paramilitary)",
    }  # fmt: skip
    # given colours are kept; the others take the palette in order, skipping a colour given
    assert atlas.controller_colours == {"other": "#E69F00", "saf": "#0072B2", "rsf": "#56B4E9"}
    assert atlas.controller_aliases == {
        "other": (),
        "saf": ("SAF", "the army"),
        "rsf": ("RSF", "Rapid Support Forces"),
    }
    assert (atlas.timezone, atlas.focus) == ("Africa/Khartoum", "saf")
    assert gazetteer.outline_rings(atlas.outline) == [[(30, 10), (35, 10), (35, 20), (30, 20), (30, 10)]]
    assert atlas.labels == {"outline_credit": "Outline: made up for the test"}
    again = gazetteer.Gazetteer.from_dict(json.loads(json.dumps(atlas.to_dict())))
    assert again.to_dict() == atlas.to_dict()
    assert list(again.controllers) == list(atlas.controllers)
    assert again.controller_colours == atlas.controller_colours
    assert (again.timezone, again.focus, again.outline) == (atlas.timezone, atlas.focus, atlas.outline)


def test_a_gazetteer_without_settings_keeps_its_stored_form(tmp_path):
    plain = SETTINGS.replace('timezone = "Africa/Khartoum"\nfocus = "saf"\noutline = "outline.geojson"\n', "")
    plain = plain.replace('outline_credit = "Outline: made up for the test"\n', "")
    plain = (
        plain.split("[controllers]")[0]
        + '[controllers]\nsaf = "SAF"\nrsf = "RSF"\n'
        + plain.split("[[place]]")[1].join(["[[place]]", ""])
    )
    atlas = gazetteers.load_file(_write(tmp_path, plain))
    assert set(atlas.to_dict()) == {
        "name", "version", "baseline_as_of", "controllers", "about", "places", "controller_order",
    }  # fmt: skip
    again = gazetteer.Gazetteer.from_dict(atlas.to_dict())
    assert list(again.controllers) == ["saf", "rsf"] and again.controller_colours == atlas.controller_colours
    in_order = gazetteers.load_file(
        _write(tmp_path, plain.replace('saf = "SAF"\nrsf = "RSF"', 'rsf = "RSF"\nsaf = "SAF"'))
    )
    assert "controller_order" not in in_order.to_dict()  # sorted already: the form stored before
    assert (atlas.timezone, atlas.focus, atlas.outline) == ("UTC", None, None)
    assert atlas.controller_names == {"saf": "SAF", "rsf": "RSF"}


def test_the_builtin_settings_come_from_their_own_data_file():
    atlas = gazetteer.builtin()
    assert (atlas.timezone, atlas.focus) == ("Asia/Damascus", "government")
    assert atlas.controller_names["hts"] == "HTS-led opposition"
    assert atlas.controller_colours["government"] == "#D55E00"
    assert len(gazetteer.outline_rings(atlas.outline)) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('colour = "#0072b2"', 'colour = "blue"'), ":14: controller 'saf': colour must be #rrggbb"),
        (('aliases = ["SAF", "the army"]', "aliases = [1]"), ":15: controller 'saf': aliases must be"),
        (('name = "Sudanese Armed Forces"', 'nick = "SAF"'), ":13: controller 'saf': unknown field(s) nick"),
        (('"Africa/Khartoum"', '"Mars/Olympus"'), ":4: unknown time zone 'Mars/Olympus'"),
        (('focus = "saf"', 'focus = "army"'), ":5: focus 'army' is not in [controllers]"),
        (('outline = "outline.geojson"', 'outline = "missing.geojson"'), ":6: outline: "),
    ],
)
def test_bad_settings_name_the_line(tmp_path, change, message):
    with pytest.raises(UserError) as caught:
        gazetteers.load_file(_write(tmp_path, SETTINGS.replace(*change)))
    assert message in str(caught.value)


def test_an_outline_that_is_not_polygons_is_refused(tmp_path):
    with pytest.raises(UserError, match="holds a Point"):
        gazetteers.load_file(_write(tmp_path, outline={"type": "Point", "coordinates": [1, 2]}))
    with pytest.raises(UserError, match="4 or more"):
        gazetteers.load_file(
            _write(tmp_path, outline={"type": "Polygon", "coordinates": [[[1, 2], [400, 2]]]})
        )


# --- every view, on the built-in record and on the Sudan example ---------------------------------

ROOT = Path(__file__).parent.parent
SUDAN = ROOT / "examples" / "sudan"
#: What must never show in a view of the example: the built-in gazetteer's country, places,
#: controllers, their names and its time zone.
SYRIAN = (
    "Syria", "Damascus", "Dimashq", "Aleppo", "government", "Government", "HTS", "SNA", "SDF", "Druze",
    "provincial", "UTC+3", "Natural Earth (public domain), naturalearthdata.com, via",
)  # fmt: skip
#: Every view a user can ask for (a chart is drawn to a file: its figure's texts are checked).
VIEWS = {
    "replay": ["replay"],
    "replay-json": ["replay", "--json"],
    "replay-csv": ["replay", "--csv"],
    "history": ["history", "{place}"],
    "changes": ["changes", "--since", "{since}"],
    "events": ["events"],
    "holdings": ["chart", "holdings", "--out", "c.png"],
    "timeline": ["chart", "timeline", "--out", "c.svg"],
    "map": ["chart", "map", "--out", "c.png"],
    "map-every": ["chart", "map", "--every", "{every}", "--out", "c.png"],
    "known-vs-actual": ["chart", "known-vs-actual", "--known-at", "{known}", "--out", "c.png"],
    "page": ["page", "--out", "p.html"],
    "export-csv": ["export", "--format", "csv"],
    "export-geojson": ["export", "--format", "geojson"],
    "export-intervals": ["export", "--intervals", "--format", "csv"],
    "export-events": ["export", "--events", "--format", "json"],
}
WORLDS = {
    "builtin": {
        "place": "Homs",
        "every": "1d",
        "known": "2024-12-07T18:00Z",
        "at": "2024-12-08T00:00Z",
        "since": "2024-11-26",
    },
    "sudan": {
        "place": "Wad Madani",
        "every": "60d",
        "known": "2025-03-01T00:00Z",
        "at": "2025-11-01T00:00Z",
        "since": "2023-04-01",
    },
}


@pytest.fixture(scope="module", params=sorted(WORLDS))
def world(request, tmp_path_factory) -> tuple[str, str]:
    """(name, store): the seed record's store, or one bound to the example with its reports."""
    from click.testing import CliRunner

    from control.cli import cli

    store = str(tmp_path_factory.mktemp(request.param) / "s.db")
    with gazetteer.using(None):
        if request.param == "sudan":
            for args in (
                ["gazetteer", "load", str(SUDAN / "gazetteer.toml")],
                ["add", "--toml", str(SUDAN / "reports.toml")],
            ):
                result = CliRunner().invoke(cli, [*args, "--store", store])
                assert result.exit_code == 0, result.output
        else:
            assert CliRunner().invoke(cli, ["events", "--store", store]).exit_code == 0
    return request.param, store


def _figures(monkeypatch) -> list:
    """The figures the command draws (captured as it saves them)."""
    from control.views import plotting

    drawn: list = []
    save = plotting.save

    def capture(fig, path, fmt):
        drawn.append(fig)
        return save(fig, path, fmt)

    monkeypatch.setattr(plotting, "save", capture)
    return drawn


def _texts(fig) -> list:
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_every_view_speaks_of_the_gazetteer_only(world, view, run, monkeypatch, tmp_path):
    """Each view of the example says nothing of Syria (its places, controllers, time zone,
    outline); each view of the built-in record still does. Every chart's text is on its canvas,
    and nothing but the answer reaches the terminal (no matplotlib warning)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    name, store = world
    args = [a.format(**WORLDS[name]) for a in VIEWS[view]]
    if view.startswith(("replay", "export-csv", "export-geojson")) or view in ("map", "known-vs-actual"):
        args += ["--at", WORLDS[name]["at"]]
    drawn = _figures(monkeypatch)
    result = run(*args, "--store", store)
    assert result.exit_code == 0, result.output
    assert not result.stderr, result.stderr
    said = [result.stdout]
    if (tmp_path / "p.html").exists():
        said.append((tmp_path / "p.html").read_text("utf-8"))
    for fig in drawn:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        width, height = canvas.get_width_height()
        for text in _texts(fig):
            said.append(text.get_text())
            box = text.get_window_extent(renderer)
            assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, (
                f"{text.get_text()!r} is off the canvas: {box} on {width}x{height}"
            )
    text = "\n".join(said)
    if name == "sudan":
        found = [word for word in SYRIAN if word in text]
        assert not found, f"{view} of the example says {found}"
        assert view not in ("replay", "map") or "saf holds" in text
    else:
        assert view not in ("replay", "map") or "government holds" in text


@pytest.mark.parametrize("kind", ["holdings", "timeline"])
def test_the_default_chart_range_covers_the_ledger(world, kind, run, monkeypatch):
    """Without --from/--to a chart runs from the record's start past its last report: every
    report and every change of control is inside it."""
    from matplotlib import dates as mdates

    from control.service.sync import open_app

    name, store = world
    drawn = _figures(monkeypatch)
    assert run("chart", kind, "--out", "c.png", "--store", store).exit_code == 0
    lo, hi = (mdates.num2date(x) for x in drawn[0].axes[0].get_xlim())
    reports = [e for e in open_app(store).read() if not e.id.startswith("baseline")]
    assert reports
    assert all(lo <= e.reported_at <= hi and e.window.latest <= hi for e in reports), (lo, hi)
    if name == "sudan":  # the ledger's own span: the baseline is the chart's first day
        assert lo == gazetteers.load_file(SUDAN / "gazetteer.toml").baseline_as_of


def test_the_example_outline_and_places_fit_the_map(run, world, monkeypatch):
    """The map of the example draws its own outline (not Syria's), and every place inside the
    axes' limits."""
    name, store = world
    drawn = _figures(monkeypatch)
    assert run("chart", "map", "--at", WORLDS[name]["at"], "--out", "m.png", "--store", store).exit_code == 0
    ax = drawn[0].axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    places = (
        gazetteers.load_file(SUDAN / "gazetteer.toml") if name == "sudan" else gazetteer.builtin()
    ).places
    assert all(x0 < p.lon < x1 and y0 < p.lat < y1 for p in places)
    (outline,) = ax.patches
    xs = [x for x, _ in outline.get_xy()]
    assert (min(xs) < 23 and max(xs) > 38) if name == "sudan" else (min(xs) > 35 and max(xs) < 43)


# --- no hidden current gazetteer -------------------------------------------------------------


def test_the_same_events_give_the_same_answer_whatever_store_was_opened_before(tmp_path):
    """The gazetteer travels with the call: opening a store (the API's or the CLI's) leaves no
    gazetteer behind, so the seed record's events answer for Syria's 14 capitals before and after
    a ledger on the example is opened, and the example's ledger for its own places whatever
    was opened since."""
    from click.testing import CliRunner

    import control
    from control.cli import cli

    at = "2024-12-08T00:00Z"
    before = control.replay(control.record_events(), at).to_dict()
    sudan = str(tmp_path / "sudan.db")
    for args in (
        ["gazetteer", "load", str(SUDAN / "gazetteer.toml")],
        ["add", "--toml", str(SUDAN / "reports.toml")],
    ):
        assert CliRunner().invoke(cli, [*args, "--store", sudan]).exit_code == 0
    ledger = control.open_ledger(sudan)
    mine = ledger.replay("2025-11-01")
    assert CliRunner().invoke(cli, ["replay", "--store", sudan]).exit_code == 0  # the CLI too
    after = control.replay(control.record_events(), at)
    assert after.to_dict() == before and len(after.capitals) == 14
    assert after.holding("government").count == 3 and after.capital("Homs").controller == "hts"
    control.open_ledger(str(tmp_path / "seed.db"))  # a store on the built-in gazetteer, opened since
    again = ledger.replay("2025-11-01")
    assert again.to_dict() == mine.to_dict() and len(again.capitals) == 14
    assert again.capital("Wad Madani").controller == "saf"  # its own names, asked outside any scope
    assert again.to_dict()["capitals"][0]["governorate"] == "Khartoum"
    assert "seat" in again.to_dict()["basis"] and "seat_of_rif_dimashq" not in again.to_dict()["basis"]
    events = ledger.events()
    assert len(control.replay(events, "2025-11-01", gazetteer=ledger.gazetteer).capitals) == 14
    assert [t.governorate for t in control.transitions(events, gazetteer=ledger.gazetteer)][:2] == [
        "Khartoum", "South Darfur",
    ]  # fmt: skip
    assert not hasattr(gazetteer, "use")  # nothing sets a gazetteer for the process


def test_an_out_of_range_time_names_the_ledgers_own_era(world, run, fingerprint):
    """A time outside the years any ledger may use is refused naming the store's record (read
    from its read model, the store untouched), not the built-in record's weeks."""
    name, store = world
    before = fingerprint(store)
    result = run("replay", "--at", "1850-01-01", "--store", store)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    era = "April 2023 - October 2025" if name == "sudan" else "November-December 2024"
    assert f"near the ledger's record ({era})" in result.stderr
    assert (name == "sudan") == ("2024" not in result.stderr)
    assert fingerprint(store) == before


def test_the_example_page_draws_in_a_browser_in_its_own_words(world, run, tmp_path, browser):
    """The page of the example opens with no console error and no request, its headline counts
    the focus controller by name, its clock says Khartoum time, and every label is inside the map."""
    name, store = world
    if name != "sudan":
        pytest.skip("the seed record's page is tested in test_page.py")
    assert run("page", "--out", "p.html", "--store", store).exit_code == 0
    driver = open_page(browser, tmp_path / "p.html", "#at=2025-11-01T00:00Z")
    assert page_text(driver, "headline").startswith("Sudanese Armed Forces: 8")
    assert "Khartoum time" in driver.find_element("tag name", "body").text
    outside = driver.execute_script(
        """
        var map = document.getElementById("map").getBoundingClientRect();
        return Array.from(document.querySelectorAll("#map .label")).filter(function (t) {
          var b = t.getBoundingClientRect();
          return b.width && (b.left < map.left - 1 || b.right > map.right + 1 ||
                             b.top < map.top - 1 || b.bottom > map.bottom + 1);
        }).map(function (t) { return t.textContent; });
        """
    )
    assert outside == []
    assert_quiet(driver)


def test_without_a_focus_the_headline_names_the_leading_controller(run, tmp_path, monkeypatch):
    """A gazetteer that names no focus controller: the text answer, the map's title and the page
    name whoever holds the most places; the holdings chart draws every controller alike."""
    import shutil

    for name in ("outline.geojson", "reports.toml"):
        shutil.copy(SUDAN / name, tmp_path / name)
    shutil.copytree(SUDAN / "sources", tmp_path / "sources")
    text = (SUDAN / "gazetteer.toml").read_text("utf-8").replace('focus = "saf"', "")
    (tmp_path / "g.toml").write_text(text, "utf-8")
    assert run("gazetteer", "load", "g.toml").exit_code == 0
    assert run("add", "--toml", "reports.toml").exit_code == 0
    answer = run("replay", "--at", "2024-07-01").stdout
    assert answer.splitlines()[-1].startswith("rsf holds 8 of 14: ")
    drawn = _figures(monkeypatch)
    assert run("chart", "map", "--at", "2024-07-01", "--out", "m.png").exit_code == 0
    assert "rsf holds 8 of 14" in drawn[-1].axes[0].get_title(loc="left")
    assert run("chart", "holdings", "--out", "h.png").exit_code == 0
    said = [t.get_text() for t in _texts(drawn[-1])]
    assert any("start → end" in t for t in said) and not any("under way" in t for t in said)
    assert run("page", "--out", "p.html").exit_code == 0
    assert '"main":"saf"' in (tmp_path / "p.html").read_text("utf-8")  # the leader at the record's end

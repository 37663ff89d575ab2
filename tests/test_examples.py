"""Any gazetteer, not only Syria's: display settings (time zone, focus, outline, controllers' names,
colours and aliases) are data of the gazetteer, stored with the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    atlas = gazetteer.load_file(_write(tmp_path))
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
    atlas = gazetteer.load_file(_write(tmp_path, plain))
    assert set(atlas.to_dict()) == {
        "name", "version", "baseline_as_of", "controllers", "about", "places", "controller_order",
    }  # fmt: skip
    again = gazetteer.Gazetteer.from_dict(atlas.to_dict())
    assert list(again.controllers) == ["saf", "rsf"] and again.controller_colours == atlas.controller_colours
    in_order = gazetteer.load_file(
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
        gazetteer.load_file(_write(tmp_path, SETTINGS.replace(*change)))
    assert message in str(caught.value)


def test_an_outline_that_is_not_polygons_is_refused(tmp_path):
    with pytest.raises(UserError, match="holds a Point"):
        gazetteer.load_file(_write(tmp_path, outline={"type": "Point", "coordinates": [1, 2]}))
    with pytest.raises(UserError, match="4 or more"):
        gazetteer.load_file(
            _write(tmp_path, outline={"type": "Polygon", "coordinates": [[[1, 2], [400, 2]]]})
        )

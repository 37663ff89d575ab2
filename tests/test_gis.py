"""The intervals export read by a real GIS reader, GDAL (Debian's gdal-bin: ``ogrinfo``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

IN_CI = bool(os.environ.get("CONTROL_TEST_POSTGRES"))  # .ci/run sets it and installs gdal-bin
OGRINFO = shutil.which("ogrinfo")
pytestmark = pytest.mark.skipif(
    not OGRINFO and not IN_CI, reason="GDAL's ogrinfo is not installed (apt-get install gdal-bin)"
)


def _ogr(*args: str) -> str:
    assert OGRINFO, "ogrinfo is missing: .ci/run installs gdal-bin"
    return subprocess.run([OGRINFO, *args], check=True, capture_output=True, text=True, timeout=60).stdout


def test_gdal_types_start_and_end_as_datetimes_and_answers_a_time_query_as_replay(run, tmp_path):
    path = tmp_path / "intervals.geojson"
    assert run("export", "--intervals", "--format", "geojson", "--out", str(path)).exit_code == 0
    summary = _ogr("-al", "-so", str(path))
    assert re.search(r"^start: DateTime", summary, re.M) and re.search(r"^end: DateTime", summary, re.M)
    for at in ("2024-11-29T00:00:00Z", "2024-12-08T00:00:00Z"):
        sql = (
            f"SELECT place FROM intervals WHERE controller = 'government' AND start <= '{at}' "
            f'AND ("end" IS NULL OR "end" > \'{at}\')'
        )
        found = set(
            re.findall(r"place \(String\) = (.+)", _ogr("-q", str(path), "-dialect", "sqlite", "-sql", sql))
        )
        replayed = json.loads(run("replay", "--at", at, "--json").output)
        assert found == {c["governorate"] for c in replayed["capitals"] if c["controller"] == "government"}, (
            at
        )

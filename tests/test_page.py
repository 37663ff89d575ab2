"""``control page``: the data is the fold's answer, the file is self-contained and safe, and in a
real headless browser (Debian's chromium + chromium-driver, driven by selenium) it shows the right
state, moves with the keyboard, logs no error and makes no network request.

A missing browser, driver (``/usr/bin/chromium``, ``/usr/bin/chromedriver``; elsewhere:
``$CONTROL_TEST_CHROMIUM``, ``$CONTROL_TEST_CHROMEDRIVER``) or selenium skips the browser tests,
with the reason and the packages to install, except in CI (``CI=true``, as CI services and
``.ci/run`` set it), where it fails them. Screenshots are saved in ``$CONTROL_TEST_ARTIFACTS``
(default: pytest's temporary folder, ``artifacts/``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.browser import APT, assert_quiet, open_page, page_data, page_text

from control.fold.projection import known, replay
from control.model.gazetteer import builtin
from control.model.times import parse_instant
from control.views import page as pages

ROOT = Path(__file__).resolve().parent.parent
GOVERNMENT = "#D55E00"
END = "2024-12-08T00:00Z"
SCRIPT = "</script><script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"


# --- the data is the fold's answer (no browser) -------------------------------------------------


@pytest.fixture(scope="module")
def seed_data() -> dict:
    from control import record_events

    return pages.build_data(builtin(), record_events())


def test_every_interval_is_the_folds_answer(events, seed_data):
    """Each hour of the slider (and each instant where anything changes, and just before it): the
    state the page looks up is the state replay gives, in both worlds; so is the headline."""
    start = parse_instant("2024-11-25T21:00Z")
    end = start + timedelta(seconds=seed_data["meta"]["end"] - seed_data["meta"]["start"])
    instants = {start + timedelta(hours=h) for h in range(int((end - start).total_seconds()) // 3600 + 1)}
    for name in ("full", "known"):
        for t in seed_data["worlds"][name]["changes"]:
            at = parse_instant("1970-01-01T00:00Z") + timedelta(seconds=t)
            instants |= {at, at - timedelta(seconds=1)}
    for at in sorted(i for i in instants if start <= i <= end):
        for name, known_at in (("full", None), ("known", at)):
            snap = replay(events, at, known_at)
            world = seed_data["worlds"][name]
            for i in range(len(snap.capitals)):
                entry = pages.lookup(pages.unpacked_lane(seed_data, name, i), at)
                state = pages.unpacked_state(seed_data, entry[1])
                assert state == pages._state(snap.capitals[i]), (name, at, i)
            headline = pages.lookup(world["headline"], at)
            assert headline[1:] == json.loads(json.dumps(pages._headline(snap, "government"))), (name, at)


def test_headline_counts_and_ranges(seed_data):
    full = seed_data["worlds"]["full"]["headline"]
    at = pages.lookup(full, parse_instant(END))
    assert at[1:4] == [3, 3, 3]
    assert pages.lookup(full, parse_instant("2024-11-26T12:00Z"))[1] == 10
    assert any(low < high for _, _, low, high, _ in full), "a change under way shows as a range"


def test_embedded_json_cannot_end_its_element():
    text = pages.embed_json({"quote": f"{SCRIPT} {IMAGE} & \u2028 \u2029 <!-- -->"})
    assert not re.search("[<>&\u2028\u2029]", text)
    assert json.loads(text)["quote"] == f"{SCRIPT} {IMAGE} & \u2028 \u2029 <!-- -->"


def test_the_page_is_one_small_self_contained_file(seed_data):
    html = pages.render(seed_data, builtin())
    assert len(html.encode("utf-8")) < 500_000
    assert html.count("<script") == 2 and '<link rel="stylesheet"' not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.I)
    assert "default-src 'none'" in html  # the CSP forbids any network request
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls  # a namespace, not a request


# --- the command ------------------------------------------------------------------------------


def test_page_command_writes_the_file(run, tmp_path):
    result = run("page", "--out", "out/p.html")
    assert result.exit_code == 0, result.stderr
    assert result.output.strip() == "out/p.html"
    assert (tmp_path / "out" / "p.html").read_text("utf-8").startswith("<!DOCTYPE html>")


def test_page_command_bad_input_writes_nothing(run, tmp_path):
    result = run("page", "--out", "/dev/null")
    assert result.exit_code == 2 and "not a regular file" in result.stderr
    result = run("page", "--scenario", "homs-held", "--out", "s.html")
    assert result.exit_code == 2 and "--scenario:" in result.stderr
    assert not (tmp_path / "s.html").exists()


def _lanes(data: dict, place: str) -> dict:
    """A place's states in both worlds, as ``(instant, state)`` steps, and its history."""
    i = [p["name"] for p in data["places"]].index(place)
    worlds = {
        world: [(t, pages.unpacked_state(data, code)) for t, code in pages.unpacked_lane(data, world, i)]
        for world in data["worlds"]
    }
    ids = [e[0] for e in data["events"]]
    history = [
        (ids[h], None) if isinstance(h, int) else (ids[h[0]], data["remarks"][h[1]])
        for h in data["history"][i]
    ]
    return {"worlds": worlds, "history": history}


def _until(steps: list, end: int) -> list:
    return [step for step in steps if step[0] < end]


def test_a_page_of_chosen_places_draws_them_as_the_whole_page_does(run, tmp_path, monkeypatch):
    """``--place`` (repeatable, any alias) draws only those places, and the place a counted city
    belongs to (Rif Dimashq counted as Damascus brings Damascus): each drawn exactly as the whole
    page draws it, in both worlds, with its history; read by index (the whole ledger is never
    read) and titled as a selection."""
    from control.store.ledger import LedgerApp

    store = str(tmp_path / "s.db")
    assert run("synth", "--places", "40", "--events", "2000", "--seed", "3", "--store", store).exit_code == 0
    for common, places, chosen in (
        (["--store", store], ["Place 0007", "place 0031"], ["Place 0007", "Place 0031"]),
        (["--seat", "damascus"], ["Rif Dimashq"], ["Damascus", "Rif Dimashq"]),
        (["--scenario", "homs-holds"], ["Homs"], ["Homs"]),  # and a scenario's world beside the record
    ):
        whole = run("page", "--out", "whole.html", *common)
        assert whole.exit_code == 0, whole.stderr
        with monkeypatch.context() as m:  # a scenario's world too is branched from the places' reports
            m.setattr(LedgerApp, "read", lambda *a, **k: pytest.fail("the whole ledger was read"))
            part = run("page", "--out", "part.html", *common, *[x for p in places for x in ("--place", p)])
        assert part.exit_code == 0, part.stderr
        full, mine = page_data(tmp_path / "whole.html"), page_data(tmp_path / "part.html")
        assert [p["name"] for p in mine["places"]] == chosen
        assert mine["meta"]["title"].endswith(f"({len(chosen)} of {len(full['places'])} places)")
        # only what the places drawn depend on is embedded (a report elsewhere names its place)
        assert all(isinstance(e[2], int) or e[1] == "correction" for e in mine["events"])
        end = mine["meta"]["end"]  # the selection's record may end sooner: compare until then
        steps = 0
        for place in chosen:
            a, b = _lanes(full, place), _lanes(mine, place)
            assert a["history"] == b["history"], place
            assert a["worlds"].keys() == b["worlds"].keys()
            for world in a["worlds"]:
                assert _until(a["worlds"][world], end) == _until(b["worlds"][world], end), (place, world)
                steps += len(_until(b["worlds"][world], end))
        assert steps > 2 * 2 * len(chosen)  # states that change, not only the baseline's


def test_a_page_too_large_to_open_is_refused_at_once(run, tmp_path, monkeypatch):
    """A page embeds every state: past PAGE_REPORTS reports (a conflict's whole ledger) it is
    refused in one line naming what to do, exit 2, before the ledger is read and with no file;
    a selection of places small enough is drawn. An unknown --place is refused the same way."""
    from control.cli import page as command
    from control.store.config import store_env
    from control.store.ledger import LedgerApp

    store = str(tmp_path / "s.db")
    assert run("synth", "--places", "40", "--events", "2000", "--seed", "3", "--store", store).exit_code == 0
    app = LedgerApp(env=store_env(store))
    total = len(app.read())
    one = len([e for e in app.read() if e.place == "Place 0002"])
    monkeypatch.setattr(command, "PAGE_REPORTS", one)
    monkeypatch.setattr(LedgerApp, "read", lambda *a, **k: pytest.fail("the ledger was read"))
    refused = run("page", "--out", "p.html", "--store", store)
    assert refused.exit_code == 2 and refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(
        f"page: the ledger has {total:,} reports over 40 places: more than one page can draw (at most "
        f"{one:,} reports, and 5,000,000 for the sum of each place's reports squared); "
        "choose fewer places with --place, or use 'control export --intervals'"
    ), lines
    refused = run(
        "page", "--out", "p.html", "--store", store, "--place", "Place 0002", "--place", "Place 0003"
    )
    assert refused.exit_code == 2 and "--place: the 2 place(s) drawn have" in refused.stderr
    refused = run("page", "--out", "p.html", "--store", store, "--place", "Atlantis")
    assert refused.exit_code == 2 and "--place" in refused.stderr and "Atlantis" in refused.stderr
    assert not (tmp_path / "p.html").exists()
    # few reports, but many at one place: its "known at the time" world would take minutes
    monkeypatch.setattr(command, "PAGE_REPORTS", total)
    monkeypatch.setattr(command, "PAGE_WORK", one * one - 1)
    refused = run("page", "--out", "p.html", "--store", store, "--place", "Place 0002")
    assert refused.exit_code == 2 and f"have {one:,} reports, up to {one:,} at one place:" in refused.stderr
    assert not (tmp_path / "p.html").exists()
    monkeypatch.setattr(command, "PAGE_WORK", one * one)
    drawn = run("page", "--out", "p.html", "--store", store, "--place", "Place 0002")
    assert drawn.exit_code == 0, drawn.stderr
    assert [p["name"] for p in page_data(tmp_path / "p.html")["places"]] == ["Place 0002"]


def test_demo_writes_the_page(run, tmp_path):
    result = run("demo", "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "control.html").is_file()


def test_committed_page_is_what_demo_writes(events):
    from control.model import gazetteer

    with gazetteer.using(None):
        assert (ROOT / "plots" / "control.html").read_text("utf-8") == pages.page(builtin(), events)


# --- in a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_page(seed_data, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("page") / "control.html"
    path.write_text(pages.render(seed_data, builtin()), encoding="utf-8")
    return path


def _government_markers(driver) -> list[str]:
    """Places whose dot is filled with the government's colour, as the browser computes it."""
    return driver.execute_script(
        """
        var probe = document.createElementNS("http://www.w3.org/2000/svg", "circle");
        probe.setAttribute("fill", arguments[0]);
        document.getElementById("map").appendChild(probe);
        var want = getComputedStyle(probe).fill;
        probe.remove();
        return Array.from(document.querySelectorAll("#map .place")).filter(function (g) {
          return getComputedStyle(g.querySelector(".dot")).fill === want;
        }).map(function (g) { return g.dataset.place; });
        """,
        GOVERNMENT,
    )


def _browser_test_without_driver(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    """One browser test of this file, run by pytest in a child process whose chromedriver is missing."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "CONTROL_STORE")}
    env["CONTROL_TEST_CHROMEDRIVER"] = str(tmp_path / "no-chromedriver")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsE", "-p", "no:cacheprovider",
         f"{Path(__file__)}::test_browser_before_the_offensive"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip


def test_a_missing_driver_skips_with_the_packages_to_install_except_in_ci(tmp_path):
    outside = _browser_test_without_driver(tmp_path, None)
    assert outside.returncode == 0, outside.stdout + outside.stderr
    assert "1 skipped" in outside.stdout, outside.stdout
    assert "no-chromedriver (Debian package chromium-driver)" in outside.stdout
    assert APT in outside.stdout
    inside = _browser_test_without_driver(tmp_path, "true")
    assert inside.returncode == 1, inside.stdout + inside.stderr
    assert "1 error" in inside.stdout and "CI=true: the page's browser tests must run" in inside.stdout
    assert "skipped" not in inside.stdout


def test_browser_shows_the_end_of_the_offensive(browser, seed_page, artifacts):
    open_page(browser, seed_page, f"#at={END}")
    assert page_text(browser, "headline") == "Government: 3 of 14"
    assert sorted(_government_markers(browser)) == ["Damascus", "Latakia", "Tartus"]
    # Rif Dimashq is counted as Damascus: drawn apart, never as a fourth government capital
    rif = browser.find_element("css selector", '#map .place[data-place="Rif Dimashq"]')
    assert "apart" in rif.get_attribute("class")
    assert "8 Dec 2024, 03:00 Damascus time (00:00 UTC)" in page_text(browser, "time")
    assert "Homs" in page_text(browser, "events")  # reports around that time, with their quotes
    browser.save_screenshot(str(artifacts / "page.png"))
    assert (artifacts / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_quiet(browser)


def test_browser_before_the_offensive(browser, seed_page):
    open_page(browser, seed_page, "#at=2024-11-26T12:00Z")
    assert page_text(browser, "headline") == "Government: 10 of 14"
    assert len(_government_markers(browser)) == 10
    assert_quiet(browser)


def test_keyboard_moves_the_slider(browser, seed_page):
    from selenium.webdriver.common.keys import Keys

    open_page(browser, seed_page, f"#at={END}")
    slider = browser.find_element("id", "slider")
    slider.send_keys(Keys.ARROW_RIGHT)
    assert "04:00 Damascus time (01:00 UTC)" in page_text(browser, "time")
    assert browser.current_url.endswith("#at=2024-12-08T01:00Z")
    slider.send_keys(Keys.SHIFT, Keys.ARROW_LEFT)  # a day back: 7 Dec 01:00Z, Homs not yet lost
    assert browser.current_url.endswith("#at=2024-12-07T01:00Z")
    assert page_text(browser, "headline") != "Government: 3 of 14"
    slider.send_keys(Keys.HOME)
    assert page_text(browser, "headline") == "Government: 10 of 14"
    slider.send_keys(Keys.PAGE_DOWN)  # the next change
    assert page_text(browser, "headline") != "Government: 10 of 14"
    assert_quiet(browser)


def test_known_at_switch_and_the_url(browser, seed_page):
    # At 23:00 UTC on 7 December the record says Homs had fallen; what was published by then did not.
    open_page(browser, seed_page, "#at=2024-12-07T18:00Z")
    full = page_text(browser, "headline")
    browser.find_element("id", "known").click()
    assert browser.current_url.endswith("#at=2024-12-07T18:00Z&known=1")
    assert page_text(browser, "headline") != full
    open_page(browser, seed_page, "#at=2024-12-07T18:00Z&known=1")
    assert browser.find_element("id", "known").is_selected()
    assert_quiet(browser)


def test_clicking_a_capital_shows_its_history(browser, seed_page):
    open_page(browser, seed_page, f"#at={END}")
    browser.find_element("css selector", '#map .place[data-place="Homs"]').click()
    assert page_text(browser, "place-title") == "Homs"
    history = browser.find_elements("css selector", "#place-history li")
    assert len(history) == len(seed_page_history(seed_page, "Homs")) > 5
    assert "&place=Homs" in browser.current_url
    assert_quiet(browser)


def seed_page_history(path: Path, place: str) -> list:
    text = path.read_text("utf-8")
    data = json.loads(text.split('<script type="application/json" id="data">')[1].split("</script>")[0])
    return data["history"][[p["name"] for p in data["places"]].index(place)]


def test_scenario_is_labelled_and_beside_the_record(browser, run, tmp_path):
    result = run("page", "--scenario", "homs-holds", "--out", "s.html")
    assert result.exit_code == 0, result.stderr
    open_page(browser, tmp_path / "s.html", f"#at={END}")
    assert page_text(browser, "scenario-banner").startswith("SCENARIO homs-holds")
    assert page_text(browser, "headline") == "Government: 4 of 14"
    assert "the record: 3 of 14" in page_text(browser, "headline-note")
    homs = browser.find_element("css selector", '#map .place[data-place="Homs"]')
    assert homs.get_attribute("data-differs") == "1"
    assert_quiet(browser)


def test_ledger_text_is_shown_as_text_and_never_runs(browser, run, tmp_path):
    quote = f"Rebels said {SCRIPT} and {IMAGE} in Homs"
    (tmp_path / "evil.txt").write_text(f"A report. {quote}. The end.\n", encoding="utf-8")
    result = run(
        "add", "--kind", "claim", "--place", "Homs", "--actor", "hts",
        "--earliest", "2024-12-07T09:00Z", "--latest", "2024-12-07T12:00Z",
        "--reported-at", "2024-12-07T13:00Z", "--file", "evil.txt", "--quote", quote,
        "--note", f"note {IMAGE}", "--id", "homs-claim-evil",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    result = run("page", "--out", "evil.html")
    assert result.exit_code == 0, result.stderr
    html = (tmp_path / "evil.html").read_text("utf-8")
    assert SCRIPT not in html and IMAGE not in html
    open_page(browser, tmp_path / "evil.html", "#at=2024-12-07T13:00Z&place=Homs")
    body = browser.find_element("tag name", "body").text
    assert quote in body and f"Note: note {IMAGE}" in body
    assert browser.find_elements("tag name", "img") == []
    assert len(browser.find_elements("tag name", "script")) == 2
    browser.find_element("id", "close-place").click()
    assert quote in page_text(browser, "events")
    assert_quiet(browser)


# --- from a built wheel -----------------------------------------------------------------------


def test_the_built_wheel_writes_a_page(tmp_path):
    """The templates are package data: a wheel installed into a fresh environment writes a page."""
    source = tmp_path / "src"
    skip = shutil.ignore_patterns(
        ".git", ".ci", "tests", "plots", "build", "dist", "*.egg-info", "__pycache__", "*.db*", ".*cache"
    )
    shutil.copytree(ROOT, source, ignore=skip)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("territorial_control-*.whl")
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True
    )
    python = venv / "bin" / "python"
    # The dependencies of the running environment, as plain paths (its .pth files, among them an
    # editable install of this project, are not processed): only the wheel provides `control`.
    import site

    site_dir = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site_dir / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CONTROL_STORE", "PYTHONPATH")}
    where = subprocess.run(
        [str(python), "-c", "import control.views.page; print(control.views.page.__file__)"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    result = subprocess.run(
        [str(venv / "bin" / "control"), "page", "--out", "p.html", "--store", str(work / "c.db")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    text = (work / "p.html").read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>") and '"total":14' in text


def test_page_is_quick(events):
    start = time.perf_counter()
    pages.page(builtin(), known(events, None))
    assert time.perf_counter() - start < 5


def test_a_page_of_two_thousand_places_is_small_and_draws(browser, run, tmp_path, artifacts):
    """The scale issue's synthetic ledger (2,000 places, 20,000 reports): under 10 MB, and in
    the browser it draws every place and reads "N of 2000" with no error. (How fast it opens is
    a figure for tests/benchmarks/bench_page.py, not a timed test.)"""
    store = str(tmp_path / "big.db")
    assert (
        run("synth", "--places", "2000", "--events", "20000", "--seed", "7", "--store", store).exit_code == 0
    )
    out = tmp_path / "big.html"
    result = run("page", "--out", str(out), "--store", store)
    assert result.exit_code == 0, result.stderr
    assert out.stat().st_size < 10_000_000
    open_page(browser, out, "#at=2020-07-01T00:00Z")
    # the synthetic gazetteer names no focus: the headline counts the leading controller, by its name
    assert re.fullmatch(r"The government \(synthetic\): \d+(–\d+)? of 2000", page_text(browser, "headline"))
    assert len(browser.find_elements("css selector", "#map .place")) == 2000
    browser.find_element("tag name", "body").send_keys("\ue014")  # arrow right: the slider moves
    browser.save_screenshot(str(artifacts / "page-2000.png"))
    assert_quiet(browser)

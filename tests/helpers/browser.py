"""Opening the HTML page in a real (headless) browser: what the browser tests of several files share.
The ``browser`` and ``artifacts`` fixtures (tests/conftest.py) are built on it."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("CONTROL_TEST_CHROMIUM") or "/usr/bin/chromium")
CHROMEDRIVER = Path(os.environ.get("CONTROL_TEST_CHROMEDRIVER") or "/usr/bin/chromedriver")
APT = "apt-get install chromium chromium-driver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1600",
)


def in_ci() -> bool:
    """Whether the tests run in CI: ``CI=true``, as CI services (and ``.ci/run``) set it."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_browser() -> str | None:
    """What the browser tests lack, and how to install it (None: nothing)."""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"browser {CHROMIUM} (Debian package chromium)")
    if not (CHROMEDRIVER.is_file() and os.access(CHROMEDRIVER, os.X_OK)):
        missing.append(f"driver {CHROMEDRIVER} (Debian package chromium-driver)")
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium (pip install -e '.[test]')")
    if not missing:
        return None
    return f"no {' and no '.join(missing)}: {APT} (browser and driver of the same version)"


def chrome() -> Any:
    """A headless Chromium driven by chromedriver, recording every alert() a page calls and its
    network log (what :func:`assert_quiet` reads)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    # Record any alert() a page might call (a script that should never run would call it).
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };"},
    )
    return driver


def open_page(driver: Any, path: Path, fragment: str = "") -> Any:
    """Open the page at ``path`` (and ``fragment``) afresh and wait until its script says it is ready."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get_log("performance")
    driver.get("about:blank")
    driver.get(path.as_uri() + fragment)
    for _ in range(100):
        if driver.execute_script("return document.documentElement.dataset.ready") == "1":
            return driver
        time.sleep(0.05)
    raise AssertionError(f"the page never became ready; browser log: {driver.get_log('browser')}")


def page_text(driver: Any, element_id: str) -> str:
    """The text the browser shows in the element ``element_id``."""
    return driver.find_element("id", element_id).text


def assert_quiet(driver: Any) -> None:
    """No console error, no alert, and no network request of any kind."""
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == [], errors
    assert driver.execute_script("return window.__alerts") == []
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    page_url = driver.current_url.split("#")[0]
    requested = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url.split("#")[0] not in (page_url, "about:blank"):
                requested.append(url)
    assert requested == [], requested


def page_data(path: Path) -> dict:
    """The data a written page embeds (its JSON script element), parsed."""
    text = path.read_text("utf-8")
    return json.loads(text.split('<script type="application/json" id="data">')[1].split("</script>")[0])

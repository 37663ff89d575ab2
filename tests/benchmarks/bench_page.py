"""Benchmark: the interactive page of the seed record and of a 2,000-place synthetic ledger.

Run: ``python tests/benchmarks/bench_page.py [--places 2000] [--events 20000] [--runs 3]``.
In one run it writes both pages with ``control page`` (child processes, package byte-compiled),
then opens each in headless Chromium (Debian's ``chromium`` + ``chromium-driver``) and times how
long the page takes to be ready (its script sets ``data-ready``), and prints sizes, times and
the ratios to the seed page. Not a test: timings belong to this machine.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTROL = [sys.executable, "-m", "control"]


def run(args: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run([*CONTROL, *args], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def open_time(path: Path, runs: int) -> float:
    """Median seconds from navigation to the page's ``data-ready`` in headless Chromium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        times = []
        for _ in range(runs):
            driver.get("about:blank")
            start = time.perf_counter()
            driver.get(path.as_uri())
            while driver.execute_script("return document.documentElement.dataset.ready") != "1":
                time.sleep(0.01)
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--places", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import control

    compileall.compile_dir(os.path.dirname(control.__file__), quiet=1)
    work = tempfile.mkdtemp(prefix="bench-page-")
    seed_page, big_page = Path(work, "seed.html"), Path(work, "big.html")
    seed_write = run(["page", "--out", str(seed_page), "--store", str(Path(work, "seed.db"))], work)
    big_store = str(Path(work, "big.db"))
    run(["synth", "--places", str(args.places), "--events", str(args.events), "--seed", str(args.seed),
         "--store", big_store], work)  # fmt: skip
    big_write = run(["page", "--out", str(big_page), "--store", big_store], work)
    seed_open, big_open = open_time(seed_page, args.runs), open_time(big_page, args.runs)
    print(f"Command: python tests/benchmarks/bench_page.py {' '.join(sys.argv[1:])}".rstrip())
    print()
    print("| page | size | control page | opens (data-ready) |")
    print("|---|---|---|---|")
    print(
        f"| seed record | {seed_page.stat().st_size / 1e3:,.0f} KB | {seed_write:.2f} s | {seed_open:.2f} s |"
    )
    print(
        f"| synth {args.places} places, {args.events} reports | {big_page.stat().st_size / 1e6:.1f} MB "
        f"| {big_write:.2f} s | {big_open:.2f} s |"
    )
    print()
    print(
        f"ratios to the seed page: written {big_write / seed_write:.1f}x, opens {big_open / seed_open:.1f}x"
    )


if __name__ == "__main__":
    main()

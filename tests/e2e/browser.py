"""A real headless Chromium for the console tests, driven by Selenium.

Debian's /usr/bin/chromium and /usr/bin/chromedriver (bin/ensure-services
installs them): with both paths given, Selenium Manager never downloads a
browser or driver, and the flags below keep Chromium itself off the network.
"""

from __future__ import annotations

import os
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.helpers import ROOT

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1440,1000",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def chromium(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def screenshot_dir(default: Path) -> Path:
    """CONSOLE_SCREENSHOTS=docs/console writes the README's pictures; else a tmp dir."""
    chosen = os.environ.get("CONSOLE_SCREENSHOTS")
    path = (ROOT / chosen) if chosen else default
    path.mkdir(parents=True, exist_ok=True)
    return path


def full_page(driver: webdriver.Chrome, path: Path) -> None:
    """A screenshot of the whole page: the window grown to the document's height."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1440, max(800, min(int(height) + 20, 4000)))
    driver.save_screenshot(str(path))
    driver.set_window_size(1440, 1000)

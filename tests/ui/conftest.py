"""Browser fixtures: Debian's headless Chromium driven by selenium against pytest-django's live server, with the
e2e suite's real worker and Docker engine (its fixtures, imported from tests/e2e/conftest.py, not copied).

Nothing downloads a browser: selenium is pointed at /usr/bin/chromium and /usr/bin/chromedriver (scripts/services.sh
installs them with apt)."""

import shutil

import pytest

from tests.e2e.conftest import _quiet_database_between_tests, docker_client, worker  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 800)


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root, in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def set_viewport(driver, width: int, height: int) -> None:
    """The page itself (what a screenshot holds) `width` x `height`: the window is that plus its frame."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight];")
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])


@pytest.fixture
def browser():
    """A fresh headless Chromium (its own cookies) per use; `browser()` makes another, e.g. for a second user."""
    drivers = []

    def make():
        driver = _driver()
        drivers.append(driver)
        set_viewport(driver, *DESKTOP)
        return driver

    yield make
    for driver in drivers:
        driver.quit()

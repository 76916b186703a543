"""The dashboard in a real headless Chromium against a live server, with the real worker and Docker engine: a
user logs in, creates a service from the form, watches it reach Running without reloading, scales it, reads
its logs, stops and terminates it; another user gets a 404; no page logs a console error.

Each page's screenshot goes to the test's folder (tmp_path). With TUTUM_UPDATE_SCREENSHOTS=1 the services page
and a service's page are also written to docs/screenshots/ for the README."""

import os
from pathlib import Path

import pytest
import requests
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from apps.services import services as use_cases
from apps.services.models import Service

from .conftest import DESKTOP, set_viewport

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "secret-password"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = (390, 844)
# Every form control a user can reach has a label (or an aria-label); hidden inputs are not controls.
UNLABELLED = """
return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
  .filter(e => e.tagName === 'BUTTON' ? !(e.textContent.trim() || e.getAttribute('aria-label'))
                                      : !((e.labels && e.labels.length) || e.getAttribute('aria-label')))
  .map(e => e.outerHTML);
"""
OVERFLOW = "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"


class Dashboard:
    """One browser on the live server: opens pages, keeps their console errors, saves their screenshots."""

    def __init__(self, driver, base_url: str, out: Path):
        self.driver, self.base_url, self.out = driver, base_url, out
        self.console_errors: list[dict] = []

    def open(self, path: str):
        self.driver.get(self.base_url + path)
        self.check_page()

    def check_page(self):
        self.collect_console()
        assert self.driver.execute_script(UNLABELLED) == [], self.driver.current_url
        assert self.driver.execute_script(OVERFLOW) <= 0, f"wider than the window: {self.driver.current_url}"

    def collect_console(self):
        self.console_errors += [e for e in self.driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]

    def shot(self, name: str, docs: bool = False) -> Path:
        path = self.out / f"{name}.png"
        self.driver.save_screenshot(str(path))
        if docs and os.environ.get("TUTUM_UPDATE_SCREENSHOTS"):
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(DOCS_SCREENSHOTS / f"{name}.png"))
        return path

    def click(self, element):
        """Click what loads another page, and wait until it has (selenium's click does not wait for it)."""
        page, label = self.find("html"), element.text
        element.click()
        WebDriverWait(self.driver, 30).until(staleness_of(page), f"no new page after clicking {label!r}")
        self.check_page()

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def button(self, text: str, within: str = "main"):
        return self.find(within).find_element(By.XPATH, f".//button[normalize-space()='{text}']")

    def fill(self, field_id: str, value: str):
        element = self.find(f"#{field_id}")
        element.clear()
        element.send_keys(value)

    def wait_text(self, css: str, text: str, timeout: float = 90) -> str:
        def shown(driver):
            try:
                return text in driver.find_element(By.CSS_SELECTOR, css).text
            except (NoSuchElementException, StaleElementReferenceException):
                return False

        WebDriverWait(self.driver, timeout, poll_frequency=0.25).until(
            shown, f"{css} never showed {text!r}; it shows: {self._text(css)!r}"
        )
        return self._text(css)

    def _text(self, css):
        try:
            return self.find(css).text
        except (NoSuchElementException, StaleElementReferenceException):
            return None

    def login(self, username: str, password: str = PASSWORD):
        self.open("/login/")
        self.fill("id_username", username)
        self.fill("id_password", password)
        self.click(self.button("Log in"))

    def mark_page(self):
        """A mark in the page's JavaScript state: gone if the page is reloaded, kept by htmx swaps."""
        self.driver.execute_script("window.__notReloaded = true;")

    def not_reloaded(self) -> bool:
        return self.driver.execute_script("return window.__notReloaded === true;")


@pytest.fixture
def dashboard(browser, live_server, tmp_path):
    def make(name="alice"):
        out = tmp_path / name
        out.mkdir()
        return Dashboard(browser(), live_server.url, out)

    return make


def test_a_service_from_the_form_to_terminated_without_reloading(worker, dashboard, make_user):
    alice = make_user("alice")
    ui = dashboard()

    ui.open("/services/")
    assert ui.driver.current_url.endswith("/login/?next=/services/")
    ui.shot("login")
    ui.login("alice")
    assert ui.driver.current_url.endswith("/services/")
    assert "No services yet." in ui.find("main").text

    # The form shows the API's messages next to its fields, then creates and starts the service.
    ui.open("/services/new/")
    ui.fill("id_image", "Not An Image!")
    ui.fill("id_name", "web")
    ui.click(ui.button("Create and start"))
    assert "is not a valid image reference" in ui.find("#id_image_errors").text
    ui.shot("new-service")
    ui.fill("id_image", "local/httpd")
    ui.fill("id_env", "GREETING=hello")
    ui.click(ui.button("Create and start"))
    service = Service.objects.get(owner=alice, name="web")
    assert ui.driver.current_url.endswith(f"/services/{service.uuid}/")

    ui.mark_page()
    ui.wait_text("#service-state", "Running")
    assert ui.find("#service-count").text == "1/1"
    assert ui.not_reloaded(), "the state changed by a reload, not by the poll"
    port_link = ui.find("#service-status a.port").get_attribute("href")
    assert port_link.startswith("http://127.0.0.1:")
    assert requests.get(port_link, timeout=5).status_code < 500  # busybox httpd answers on the published port

    # Scale from the service page; the second container shows up by itself.
    ui.fill("scale_target_num_containers", "2")
    ui.click(ui.button("Scale", within="form.scale"))
    assert "Scaling web to 2." in ui.find(".messages").text
    ui.mark_page()
    ui.wait_text("#service-count", "2/2")
    ui.wait_text("#service-state", "Running")
    assert ui.not_reloaded()
    ui.wait_text("#service-logs", "web-2")
    assert "web-1" in ui.find("#service-logs").text
    assert "GREETING" in ui.find("dl.env").text
    ui.shot("service", docs=True)

    # A stack from a pasted stack file: its services are created, not started, and grouped on the services page.
    ui.open("/stacks/")
    ui.fill("id_name", "shop")
    ui.fill("id_stack_file", "db:\n  image: local/busybox\n  command: sleep 3600\ncache:\n  image: local/busybox\n")
    ui.click(ui.button("Create stack"))
    assert "Stack shop created" in ui.find(".messages").text
    ui.open("/services/")
    ui.wait_text(f"#service-{service.uuid}", "Running")
    groups = [h.text for h in ui.driver.find_elements(By.CSS_SELECTOR, "section.group h2")]
    assert groups == ["Stack shop", "Standalone services"]
    assert "2/2" in ui.find(f"#service-{service.uuid}").text
    ui.shot("services", docs=True)
    for page in ("containers", "nodes", "actions", "stacks"):
        ui.open(f"/{page}/")
        ui.shot(page)
    ui.open("/containers/")
    assert "web-1" in ui.find("main").text and "web-2" in ui.find("main").text
    ui.open("/actions/")
    assert "Service Create" in ui.find("main").text and "Service Update" in ui.find("main").text

    # The API keys page: a key shown once, with the lines of both client generations.
    ui.open("/keys/")
    ui.fill("id_name", "laptop")
    ui.click(ui.button("Issue key"))
    key = ui.find("#new-key").get_attribute("value")
    exports = ui.find("#new-key-exports").text
    assert f"TUTUM_USER=alice TUTUM_APIKEY={key}" in exports and "TUTUM_BASE_URL=" in exports
    assert "TUTUM_REST_HOST=" in exports
    ui.shot("api-keys")
    ui.open("/keys/")
    assert key not in ui.driver.page_source and key[:8] in ui.find("main").text

    # At a phone's width every page still fits.
    set_viewport(ui.driver, *PHONE)
    phone_pages = {"services": "/services/", "service": f"/services/{service.uuid}/", "new-service": "/services/new/"}
    for name, path in {**phone_pages, "nodes": "/nodes/", "actions": "/actions/", "keys": "/keys/"}.items():
        ui.open(path)
        ui.shot(f"phone-{name}")
    set_viewport(ui.driver, *DESKTOP)

    # Stop, then terminate after the confirmation page.
    ui.open(f"/services/{service.uuid}/")
    ui.click(ui.button("Stop", within="section[aria-labelledby=actions-title]"))
    ui.mark_page()
    ui.wait_text("#service-state", "Stopped")
    assert ui.not_reloaded()
    ui.click(ui.find("main").find_element(By.LINK_TEXT, "Terminate…"))
    assert "This cannot be undone." in ui.find("main").text
    ui.shot("terminate")
    ui.click(ui.button("Terminate web"))
    assert ui.driver.current_url.endswith("/services/")
    ui.mark_page()
    ui.wait_text(f"#service-{service.uuid}", "Terminated")
    assert ui.not_reloaded()

    ui.collect_console()
    assert ui.console_errors == []


def test_another_user_cannot_open_the_service_and_a_wrong_password_is_refused(dashboard, make_user):
    alice = make_user("alice")
    make_user("bob")
    service = use_cases.create_service(alice, {"image": _image("local/httpd"), "name": "web"}, start=False)

    bob = dashboard("bob")
    bob.login("bob", "not-the-password")
    assert bob.driver.current_url.endswith("/login/")
    assert "Wrong username or password." in bob.find("[role=alert]").text
    bob.shot("wrong-password")
    bob.login("bob")
    bob.driver.get(f"{bob.base_url}/services/{service.uuid}/")
    assert bob.find("h1").text == "Not found"
    assert "web" not in bob.find("main").text
    bob.shot("not-found")
    # The only message in the console is the 404 of that page itself.
    errors = [e["message"] for e in bob.driver.get_log("browser") if e["level"] == "SEVERE"]
    assert all("404" in message for message in errors), errors
    bob.open("/services/")
    assert "No services yet." in bob.find("main").text
    assert bob.console_errors == []


def _image(text):
    from apps.core.images import parse_image_reference

    return parse_image_reference(text)


def test_the_keyboard_alone_logs_in_and_reaches_every_control_of_the_services_page(dashboard, make_user):
    alice = make_user("alice")
    use_cases.create_service(alice, {"image": _image("local/httpd"), "name": "web"}, start=False)
    ui = dashboard()
    ui.open("/login/")
    focused = []
    while len(focused) < 5 and "id_username" not in focused:  # the skip link, the home link, the first field
        ActionChains(ui.driver).send_keys(Keys.TAB).perform()
        active = ui.driver.switch_to.active_element
        focused.append(active.get_attribute("id") or active.text)
    assert focused[-1] == "id_username", focused
    page = ui.find("html")
    ActionChains(ui.driver).send_keys("alice", Keys.TAB, PASSWORD, Keys.ENTER).perform()
    WebDriverWait(ui.driver, 30).until(staleness_of(page))
    assert ui.driver.current_url.endswith("/services/")
    ui.check_page()

    reached = []
    for _ in range(40):
        ActionChains(ui.driver).send_keys(Keys.TAB).perform()
        element = ui.driver.switch_to.active_element
        reached.append(element.get_attribute("aria-label") or element.text or element.get_attribute("id"))
    expected = ["Start web", "Stop web", "scale-", "Scale web", "Redeploy web", "Terminate web", "New service"]
    for label in expected:
        assert any(label in (text or "") for text in reached), (label, reached)
    ui.collect_console()
    assert ui.console_errors == []

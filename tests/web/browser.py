"""Real Chromium for the web app's tests: Debian's ``chromium`` driven headless by Selenium through Debian's
``chromedriver`` (both installed by ``./run``'s install(), with ``fonts-noto-core`` for Bangla text).

``Browser`` is one browser window of a given size, with the few things the tests need: open a page of the
app signed in as someone, wait for what a user would see, read it, screenshot it, throttle the network (the
Chrome DevTools Protocol's network emulation, e.g. DevTools' "Fast 3G" profile).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import JavascriptException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# DevTools' own "Fast 3G" preset: 562.5 ms round trip, 1.44 Mbit/s down, 675 kbit/s up.
FAST_3G = {"latency": 562.5, "download_throughput": 1_440_000 / 8, "upload_throughput": 675_000 / 8}
MOBILE = (360, 640)
DESKTOP = (1280, 800)


def _require(path: str) -> None:
    if not Path(path).exists() and shutil.which(Path(path).name) is None:
        raise RuntimeError(
            f"{path} is missing: `./run test` installs chromium, chromium-driver and fonts-noto-core"
            " (apt-get), or install them yourself"
        )


class Browser:
    def __init__(self, width: int, height: int, *, mobile: bool | None = None) -> None:
        _require(CHROMIUM)
        _require(CHROMEDRIVER)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
            f"--window-size={width},{height}",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
        ):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_script_timeout(30)
        self.size = (width, height)
        self.resize(width, height, mobile=width < 700 if mobile is None else mobile)

    def resize(self, width: int, height: int, *, mobile: bool = False) -> None:
        """The page's viewport, exactly (a phone's 360×640, a laptop's 1280×800)."""
        self.size = (width, height)
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )

    def cdp(self, command: str, params: dict[str, Any] | None = None) -> Any:
        return self.driver.execute_cdp_cmd(command, params or {})

    def throttle(self, profile: dict[str, float] | None) -> None:
        """Network emulation (None: off). The cache is disabled meanwhile, as a first visit."""
        self.cdp("Network.enable")
        if profile is None:
            self.cdp(
                "Network.emulateNetworkConditions",
                {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
            )
            self.cdp("Network.setCacheDisabled", {"cacheDisabled": False})
            return
        self.cdp("Network.setCacheDisabled", {"cacheDisabled": True})
        self.cdp(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": profile["latency"],
                "downloadThroughput": profile["download_throughput"],
                "uploadThroughput": profile["upload_throughput"],
            },
        )

    def open(self, url: str, *, token: str | None = None, lang: str | None = None) -> None:
        """Open ``url`` as a user with this token (None: signed out) and language (None: as before)."""
        origin = url.split("/", 3)
        base = "/".join(origin[:3])
        if not self.driver.current_url.startswith(base):
            self.driver.get(base + "/static/i18n/en.json")  # same origin, so localStorage can be set first
        self.js(
            "localStorage.removeItem('lc.token')"
            if token is None
            else f"localStorage.setItem('lc.token', {json.dumps(token)})"
        )
        if lang is not None:
            self.js(f"localStorage.setItem('lc.lang', {json.dumps(lang)})")
        self.driver.get(url)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(
            script if script.lstrip().startswith("return") or ";" in script else "return " + script, *args
        )

    def js_async(self, script: str, *args: Any) -> Any:
        """Run an async function body; its returned value comes back (``arguments`` are the args)."""
        wrapper = (
            "const done = arguments[arguments.length - 1];"
            f"(async (...args) => {{ {script} }})(...Array.from(arguments).slice(0, -1))"
            ".then(done, (e) => done({__error: String(e && e.stack || e)}));"
        )
        out = self.driver.execute_async_script(wrapper, *args)
        if isinstance(out, dict) and "__error" in out:
            raise AssertionError(out["__error"])
        return out

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def finds(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        els = self.finds(css)
        return els[0].text if els else ""

    def click(self, css: str) -> None:
        """Click the first visible match; found again if the page re-rendered it meanwhile (a live page does)."""
        for attempt in range(3):
            el = self.wait_for(css, visible=True)
            try:
                self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
                el.click()
                return
            except StaleElementReferenceException:
                if attempt == 2:
                    raise

    def type(self, css: str, text: str, *, clear: bool = True) -> None:
        el = self.wait_for(css, visible=True)
        if clear:
            el.clear()
        el.send_keys(text)

    def wait_for(self, css: str, *, visible: bool = False, timeout: float = 20.0) -> WebElement:
        def found() -> WebElement | None:
            for el in self.finds(css):
                if not visible or el.is_displayed():
                    return el
            return None

        return self.wait(found, f"{css} on {self.driver.current_url}", timeout)  # type: ignore[no-any-return]

    def wait_text(self, css: str, predicate: Callable[[str], bool], what: str, timeout: float = 20.0) -> str:
        return self.wait(lambda: (t := self.text(css)) and predicate(t) and t, what, timeout)  # type: ignore[no-any-return]

    def wait(
        self, predicate: Callable[[], Any], what: str, timeout: float = 20.0, why: Callable[[], Any] | None = None
    ) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = predicate()
            except (JavascriptException, WebDriverException) as exc:
                last = exc
            else:
                if last:
                    return last
            time.sleep(0.1)
        detail = why() if why is not None else ""
        raise AssertionError(f"timed out waiting for {what} (last: {last!r}) {detail}; console:\n{self.console()}")

    def console(self) -> str:
        try:
            return "\n".join(f"{e['level']} {e['message']}" for e in self.driver.get_log("browser"))[-4000:]
        except WebDriverException:
            return ""

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path

    def quit(self) -> None:
        try:
            self.driver.quit()
        except WebDriverException:
            pass


@pytest.fixture(scope="module")
def chromium() -> Iterator[Callable[..., Browser]]:
    """``chromium(360, 640)`` opens a browser window; all of them close with the module."""
    opened: list[Browser] = []

    def open_browser(width: int = MOBILE[0], height: int = MOBILE[1], **kw: Any) -> Browser:
        b = Browser(width, height, **kw)
        opened.append(b)
        return b

    yield open_browser
    for b in opened:
        b.quit()

"""The web app's browser tests share ``browser.chromium`` (real Chromium) with the studio's (tests/web_studio)."""

from tests.web.browser import chromium  # noqa: F401  (the fixture)

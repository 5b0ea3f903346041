"""The studio's browser tests use the web app's Chromium fixture (tests/web/browser.py)."""

from tests.web.browser import chromium  # noqa: F401  (the fixture)

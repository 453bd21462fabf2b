"""Browser fixtures: Playwright driving Debian's chromium, plus axe-core for WCAG checks.

The fixtures are made available to every test by tests/conftest.py; tests marked `browser`
use them."""

import os
import re
from pathlib import Path

import pytest

AXE_SOURCE = (Path(__file__).parent / "assets" / "axe.min.js").read_text(encoding="utf-8")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Playwright's sync API runs an event loop in this thread; Django's async-safety guard would
# otherwise refuse the ORM calls the tests make around it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# How chromium reports what a Content-Security-Policy (or a sandbox) blocked, on the console.
CSP_REPORT = re.compile(
    r"Content Security Policy|Refused to (?:execute|load|apply|frame|connect|run)"
    r"|Blocked script execution",
    re.IGNORECASE,
)
_csp_reports: dict[int, list[str]] = {}


def context_new(browser, **options):
    """A browser context that keeps what the Content-Security-Policy blocked on any of its
    pages and frames (see `csp_violations`)."""
    context = browser.new_context(**options)
    reports = _csp_reports.setdefault(id(context), [])

    def console(message) -> None:
        if CSP_REPORT.search(message.text):
            reports.append(message.text)

    context.on("console", console)
    context.on("close", lambda _context: _csp_reports.pop(id(context), None))
    return context


def csp_violations(page) -> list[str]:
    """What the Content-Security-Policy (or an iframe sandbox) blocked so far in the page's
    context; empty when nothing was."""
    return list(_csp_reports.get(id(page.context), []))


@pytest.fixture
def page(browser):
    context = context_new(browser, viewport={"width": 375, "height": 800}, locale="sv-SE")
    page = context.new_page()
    yield page
    context.close()


def axe_violations(page) -> list[dict]:
    """Run axe-core on the page and return WCAG 2.1 A/AA violations (empty list when clean).

    axe is evaluated through the DevTools protocol rather than added as a <script>: the pages'
    Content-Security-Policy rightly refuses an inline script, and the test must not switch
    the policy off to look at the page."""
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_TAGS,
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]],
        }
        for violation in result["violations"]
    ]

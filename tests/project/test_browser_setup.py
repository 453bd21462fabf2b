"""The browser tooling itself works: chromium starts and axe reports real violations."""

import pytest

from tests.browsing import axe_violations

pytestmark = pytest.mark.browser


def test_it_finds_a_missing_alt_text_and_nothing_on_a_clean_page(page):
    page.set_content(
        '<!doctype html><html lang="sv"><head><title>Test</title></head>'
        '<body><main><h1>Rubrik</h1><img src="data:," ></main></body></html>'
    )
    assert "image-alt" in {violation["id"] for violation in axe_violations(page)}

    page.set_content(
        '<!doctype html><html lang="sv"><head><title>Test</title></head>'
        '<body><main><h1>Rubrik</h1><img src="data:," alt="Logotyp"></main></body></html>'
    )
    assert axe_violations(page) == []


def test_it_hears_what_a_content_security_policy_blocks(page):
    from tests.browsing import csp_violations

    page.set_content(
        '<!doctype html><html lang="sv"><head><title>Test</title>'
        '<meta http-equiv="Content-Security-Policy" content="script-src \'none\'"></head>'
        "<body><main><h1>Rubrik</h1><script>document.title = 'ran'</script></main></body></html>"
    )

    assert page.title() == "Test"
    assert any("Content Security Policy" in report for report in csp_violations(page))
    assert axe_violations(page) == []  # axe still runs where inline scripts cannot

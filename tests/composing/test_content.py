"""Article bodies are Markdown made safe by nh3."""

from newsletter.content import links_in_html, markdown_to_safe_html


def test_it_removes_scripts_event_handlers_and_javascript_links():
    html = markdown_to_safe_html(
        "Hej **alla**!\n\n<script>alert('x')</script>\n\n"
        '<a href="javascript:alert(1)" onclick="steal()">klicka</a> <img src=x onerror="y()">'
    )

    assert "<strong>alla</strong>" in html
    assert "<script" not in html and "alert" not in html
    assert "onclick" not in html and "onerror" not in html and "javascript:" not in html
    assert "<img" not in html


def test_it_keeps_headings_lists_and_safe_links():
    html = markdown_to_safe_html("## Bakgrund\n\n- ett\n- två\n\n[KB](https://www.kb.se/)")

    assert "<h2>Bakgrund</h2>" in html
    assert "<li>ett</li>" in html
    assert '<a href="https://www.kb.se/" rel="noopener noreferrer">KB</a>' in html
    assert links_in_html(html) == ["https://www.kb.se/"]

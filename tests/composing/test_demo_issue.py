"""The demo issue "Länsnytt 2018:1" and the render_issue command."""

import pytest
from django.core.management import CommandError, call_command

from newsletter.demo import ARTICLES, demo_issue_ensure
from newsletter.models import Issue, IssueStatus
from newsletter.rendering import issue_render

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_it_creates_the_demo_issue_ready_with_illustrated_articles(media_root):
    issue = demo_issue_ensure()

    assert issue.title == "Länsnytt 2018:1" and issue.slug == "2018-1"
    assert issue.status == IssueStatus.READY
    headings = list(issue.articles.order_by("position").values_list("heading", flat=True))
    assert len(headings) == 8
    for expected in ["Bokstart", "Kommer boken?", "Praktisk kunskap", "Projekt digital service",
                     "Projekt Inkludering", "Tillsammans", "Vid sidan av Äppelhyllan",
                     "Bibliotek i samspel med lokalsamhället"]:  # fmt: skip
        assert any(expected in heading for heading in headings), expected
    for article in issue.articles.all():
        assert article.image_alt and (media_root / article.image.name).stat().st_size > 1000


def test_it_is_idempotent(media_root):
    first = demo_issue_ensure()
    second = demo_issue_ensure()

    assert first.pk == second.pk
    assert Issue.objects.count() == 1
    assert second.articles.count() == len(ARTICLES)
    assert len(list((media_root / "articles").iterdir())) == len(ARTICLES)


def test_it_renders_the_demo_issue_to_a_file(tmp_path, capsys):
    demo_issue_ensure()
    output = tmp_path / "out" / "2018-1.html"

    call_command("render_issue", "2018-1", "--language", "sv", "-o", str(output))

    html = output.read_text(encoding="utf-8")
    assert html == issue_render(issue=Issue.objects.get(slug="2018-1")).html
    assert "Bokstart ger de minsta barnen ett försprång" in html
    assert output.with_suffix(".txt").exists()
    assert " s" in capsys.readouterr().out  # the render time


def test_it_refuses_an_unknown_issue():
    with pytest.raises(CommandError, match="Inget nummer med kortnamnet '1999-1'"):
        call_command("render_issue", "1999-1")

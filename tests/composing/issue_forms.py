"""The issue's admin change form as an editor posts it: every field as stored, the articles
inline, with the changes a test makes."""

from django.test import Client
from django.urls import reverse

from newsletter.models import Issue

ISSUE_FIELDS = ("title", "year", "number", "slug", "subject", "preheader", "intro", "language",
                "cover_image_alt")  # fmt: skip
ARTICLE_FIELDS = ("position", "kicker", "heading", "slug", "lead", "body", "image_alt",
                  "image_credit", "cta_label", "cta_url", "channel")  # fmt: skip


def issue_form_data(issue: Issue, *, articles: dict[int, dict] | None = None, **changes) -> dict:
    """The POST of the change form: `changes` to the issue, `articles` {article id: changes}."""
    data = {name: getattr(issue, name) for name in ISSUE_FIELDS}
    data["publication_date"] = issue.publication_date.isoformat() if issue.publication_date else ""
    if issue.count_engagement:
        data["count_engagement"] = "on"
    data.update(changes)
    rows = list(issue.articles.order_by("position", "id"))
    data.update(
        {
            "articles-TOTAL_FORMS": len(rows),
            "articles-INITIAL_FORMS": len(rows),
            "articles-MIN_NUM_FORMS": 0,
            "articles-MAX_NUM_FORMS": 1000,
        }
    )
    for index, article in enumerate(rows):
        prefix = f"articles-{index}-"
        data[prefix + "id"] = article.pk
        data[prefix + "issue"] = issue.pk
        for name in ARTICLE_FIELDS:
            data[prefix + name] = getattr(article, name)
        for name, value in (articles or {}).get(article.pk, {}).items():
            data[prefix + name] = value
    return data


def issue_form_post(client: Client, issue: Issue, **kwargs):
    return client.post(
        reverse("admin:newsletter_issue_change", args=[issue.pk]), issue_form_data(issue, **kwargs)
    )


def form_errors(response) -> str:
    context = getattr(response, "context", None)
    if not context or "adminform" not in context:
        return f"status {response.status_code}"
    errors = [str(context["adminform"].form.errors)]
    errors += [str(f.formset.non_form_errors()) for f in context["inline_admin_formsets"]]
    errors += [str(f.formset.errors) for f in context["inline_admin_formsets"]]
    return " ".join(errors)

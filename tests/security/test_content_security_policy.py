"""Every answer carries a Content-Security-Policy that runs scripts only from our origin (or
with the request's nonce), never inline, loads no plugins and cannot be framed; the email
preview, which shows the email's own HTML, gets a stricter one of its own. Every answer that
can hold personal data (a signed-in user's, a signed link's) tells caches not to store it.
The routes come from the URLconf, so a page added later is covered."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.security.headers import policy, route_answer
from tests.security.pages import routes

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
EMAIL_PREVIEW = "admin:newsletter_issue_preview_email"
UNSAFE = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:"}


def _personal(route) -> bool:
    return route.staff or "token" in route.parameters


@pytest.mark.parametrize("route", [r for r in routes() if r.label != EMAIL_PREVIEW], ids=str)
def test_it_sends_the_site_policy_and_cache_rule_on(route, world):
    response = route_answer(route, world)
    directives = policy(response)

    scripts = directives.get("script-src", directives["default-src"])
    assert "'self'" in scripts
    assert not UNSAFE & set(scripts), scripts
    assert all(source == "'self'" or source.startswith("'nonce-") for source in scripts)
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    if _personal(route):
        assert "no-store" in response.get("Cache-Control", ""), response.status_code


def test_it_gives_the_email_preview_a_sandbox_without_scripts(world):
    (route,) = [r for r in routes() if r.label == EMAIL_PREVIEW]
    response = route_answer(route, world)

    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == ["'none'"]
    assert "script-src" not in directives  # falls back to 'none'
    assert directives["sandbox"] == []
    assert directives["frame-ancestors"] == ["'self'"]
    assert directives["style-src"] == ["'unsafe-inline'"]  # every email styles itself inline
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "no-store" in response["Cache-Control"]


def test_it_knows_the_personal_pages():
    labels = {route.label for route in routes() if _personal(route)}

    assert {
        "printing:print_run",
        "printing:print_run_download",
        "admin:newsletter_issue_preview",
        "admin:newsletter_issue_preview_email",
        "admin:subscribers_subscriber_changelist",
        "subscribers:preferences",
        "subscribers:export",
        "subscribers:unsubscribe",
    } <= labels


@pytest.mark.parametrize("download", ["csv", "xlsx", "pdf"])
def test_it_tells_caches_not_to_store_a_print_list(download, world, client):
    client.force_login(world["staff"])

    response = client.get(f"/personal/tryck/2018-1/ladda-ner/{download}/?kalla=utkast")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "no-store" in response["Cache-Control"]


def test_it_tells_caches_not_to_store_the_admins_privacy_export(world, client):
    client.force_login(world["staff"])

    response = client.post(
        "/admin/subscribers/subscriber/",
        {"action": "subscriber_export_action", "_selected_action": [world["subscriber"].pk]},
    )

    assert response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"]


def test_it_tells_caches_not_to_store_a_subscribers_own_export(world, client):
    from subscribers.tokens import privacy_token_make

    subscriber = world["subscriber"]
    # The export is handed out only through the one-time link mailed to the address.
    token = privacy_token_make(
        privacy_request_id=world["privacy_request"].pk,
        subscriber_id=subscriber.pk,
        email=subscriber.email,
    )

    response = client.post(f"/mina-uppgifter/{token}/", {"file_format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    assert "no-store" in response["Cache-Control"]


def test_it_tells_caches_not_to_store_what_staff_get_refused_or_not_found(world, client):
    client.force_login(world["staff"])

    refused = client.get("/admin/worker/delivery/add/")
    missing = client.get("/admin/finns-inte/")

    assert (refused.status_code, missing.status_code) == (403, 404)
    assert "no-store" in refused["Cache-Control"] and "no-store" in missing["Cache-Control"]


def test_it_lets_a_visitor_cache_the_archive_but_not_a_signed_in_editor(world, client):
    visitor = client.get("/arkiv/2018-1/")
    client.force_login(world["staff"])
    editor = client.get("/arkiv/2018-1/")

    assert visitor.status_code == editor.status_code == 200
    assert "no-store" not in visitor.get("Cache-Control", "")
    assert "no-store" in editor["Cache-Control"]


def test_it_has_no_inline_script_or_event_handler_in_any_template():
    offenders = []
    for template in sorted(ROOT.glob("**/templates/**/*.html")):
        if {".venv", "bench", "var"} & set(template.relative_to(ROOT).parts):
            continue
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b([^>]*)>", text):
            if "src=" not in match.group(1) and "nonce=" not in match.group(1):
                offenders.append(f"{template.relative_to(ROOT)}: inline <script>")
        if re.search(r"<[^>]+\son[a-z]+\s*=", text):
            offenders.append(f"{template.relative_to(ROOT)}: inline event handler")
    assert offenders == []


def test_it_lets_uploaded_images_and_forms_reach_the_site_url():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]

    assert settings.SITE_ORIGIN in directives["img-src"]
    assert settings.SITE_ORIGIN in directives["form-action"]

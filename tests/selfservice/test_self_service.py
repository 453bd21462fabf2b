"""A reader's whole journey in a real browser: subscribe, confirm from the mail, change
preferences, download their data through the one-time link, unsubscribe. Screenshots at
375 px; axe-core finds nothing on any page."""

import re
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache

from subscribers.models import ConsentAction, Subscriber, SubscriberStatus
from tests.browsing import axe_violations, csp_violations
from tests.factories import segment_make

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized rollback restores the reference data
    # (regions, municipalities) that the flush after a transactional test would remove.
    pytest.mark.django_db(transaction=True),
]


def _check_page(page, artefacts_dir, name: str) -> None:
    page.screenshot(path=str(artefacts_dir / f"self-service-{name}.png"), full_page=True)
    assert axe_violations(page) == [], name
    assert csp_violations(page) == [], name


def test_it_walks_subscribe_confirm_preferences_and_unsubscribe(
    live_server, page, smtp_server, settings, artefacts_dir
):
    for name, value in smtp_server.django_settings().items():
        setattr(settings, name, value)
    settings.SITE_URL = live_server.url
    cache.clear()
    segment_make(slug="nyheter", name="Nyheter från länet", public=True)
    segment_make(slug="kurser", name="Kurser och konferenser", public=True)

    page.goto(f"{live_server.url}/prenumerera/")
    _check_page(page, artefacts_dir, "1-subscribe")
    # A mistake first: the errors are announced and tied to their fields.
    page.get_by_label("Namn").fill("Sara Holm")
    page.get_by_label("E-postadress").fill("sara.holm@vaxholm.se")
    page.get_by_label("Tryckt", exact=True).check()
    page.get_by_role("button", name="Anmäl mig").click()
    assert page.locator("#id_street").get_attribute("aria-invalid") == "true"
    _check_page(page, artefacts_dir, "2-subscribe-errors")

    page.get_by_label("E-post", exact=True).check()
    page.get_by_label("Kurser och konferenser").check()
    page.get_by_role("button", name="Anmäl mig").click()
    page.wait_for_url(re.compile(r"/prenumerera/tack/$"))
    _check_page(page, artefacts_dir, "3-check-your-mail")

    (message,) = smtp_server.wait_for_messages(1)
    assert message["To"] == "sara.holm@vaxholm.se"
    text = message.get_body(preferencelist=("plain",)).get_content()
    confirm_link = re.search(r"http://\S+/prenumerera/bekrafta/\S+/", text).group(0)
    assert confirm_link.startswith(live_server.url)
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING

    page.goto(confirm_link)
    _check_page(page, artefacts_dir, "4-confirm")
    page.get_by_role("button", name="Bekräfta prenumerationen").click()
    page.get_by_role("heading", name="Prenumerationen är bekräftad").wait_for()
    _check_page(page, artefacts_dir, "5-confirmed")
    assert Subscriber.objects.get().status == SubscriberStatus.ACTIVE

    page.get_by_role("link", name="Ändra dina val").click()
    page.get_by_role("heading", name="Dina val för Länsnytt").wait_for()
    preferences_path = urlsplit(page.url).path
    _check_page(page, artefacts_dir, "6-preferences")
    page.get_by_label("Nyheter från länet").check()
    page.get_by_label("Språk i utskicken").select_option("en")
    page.get_by_role("button", name="Spara ändringarna").click()
    page.get_by_text("Dina ändringar är sparade.").wait_for()
    _check_page(page, artefacts_dir, "7-preferences-saved")
    subscriber = Subscriber.objects.get()
    assert set(subscriber.segments.values_list("slug", flat=True)) == {"nyheter", "kurser"}
    assert subscriber.language == "en"

    page.get_by_role("button", name="Skicka en länk för att ladda ner mina uppgifter").click()
    page.get_by_text("Vi har skickat en länk för att ladda ner dina uppgifter").wait_for()
    _check_page(page, artefacts_dir, "8-privacy-link-sent")
    # The confirmation, the welcome after confirming, then the one-time link.
    _confirmation, welcome, link_mail = smtp_server.wait_for_messages(3)
    assert welcome["Subject"] == "Välkommen till Länsnytt"
    text = link_mail.get_body(preferencelist=("plain",)).get_content()
    page.goto(re.search(r"http://\S+/mina-uppgifter/\S+/", text).group(0))
    _check_page(page, artefacts_dir, "9-download")
    with page.expect_download() as download:
        page.get_by_role("button", name="Ladda ner mina uppgifter (JSON)").click()
    assert download.value.suggested_filename == "lansnytt-mina-uppgifter.json"
    page.goto(f"{live_server.url}{preferences_path}")

    page.get_by_role("button", name="Avregistrera mig från allt").click()
    page.get_by_role("heading", name="Du är avregistrerad").wait_for()
    _check_page(page, artefacts_dir, "10-unsubscribed")
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert list(subscriber.consent_events.order_by("id").values_list("action", flat=True)) == [
        ConsentAction.SUBSCRIBE,
        ConsentAction.CONFIRM,
        ConsentAction.PREFERENCES,
        ConsentAction.EXPORT_REQUEST,
        ConsentAction.EXPORT,
        ConsentAction.UNSUBSCRIBE,
    ]


def test_it_shows_the_privacy_and_accessibility_pages_without_violations(
    live_server, page, artefacts_dir
):
    for path, name in (("/integritet/", "privacy"), ("/tillganglighet/", "accessibility")):
        page.goto(f"{live_server.url}{path}")
        _check_page(page, artefacts_dir, name)
    assert page.get_by_role("link", name="Anmäl till Digg").is_visible()

"""Shared helpers for the self-service tests: links from mails, tokens, comparable pages."""

import re
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.core import signing
from django.test import TestCase

from subscribers.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, token_make

CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+(")')


def page_without_csrf(html: str) -> str:
    """A rendered page with the per-response CSRF token masked out, for comparisons."""
    return CSRF_VALUE.sub(r"\1…\2", html)


def link_from_text(body: str, path_fragment: str) -> str:
    match = re.search(rf"https?://\S*{re.escape(path_fragment)}\S*", body)
    assert match, f"no link containing {path_fragment!r} in:\n{body}"
    return match.group(0)


def path_from_text(body: str, path_fragment: str) -> str:
    """The path of the first link in a mail body that contains `path_fragment`."""
    return urlsplit(link_from_text(body, path_fragment)).path


@contextmanager
def signed_in_the_past(seconds: float):
    """Tokens signed inside this block carry a timestamp `seconds` in the past."""
    original = signing.TimestampSigner.timestamp
    signing.TimestampSigner.timestamp = lambda self: signing.b62_encode(int(time.time() - seconds))
    try:
        yield
    finally:
        signing.TimestampSigner.timestamp = original


def confirm_path(subscriber) -> str:
    token = token_make(purpose=CONFIRM, subscriber_id=subscriber.pk, email=subscriber.email)
    return f"/prenumerera/bekrafta/{token}/"


def preferences_path(subscriber) -> str:
    token = token_make(purpose=PREFERENCES, subscriber_id=subscriber.pk, email=subscriber.email)
    return f"/prenumeration/{token}/"


def unsubscribe_path(subscriber) -> str:
    token = token_make(purpose=UNSUBSCRIBE, subscriber_id=subscriber.pk, email=subscriber.email)
    return f"/avregistrera/{token}/"


@contextmanager
def committed():
    """Run, at the end of the block, what the code under test left for after its commit
    (the tasks that send mail): the test's own transaction never commits."""
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        yield callbacks


def post_committed(client, path: str, data: dict | None = None, **extra):
    """A POST as in production: its transaction commits, so its tasks run (in-process)."""
    with committed():
        return client.post(path, data or {}, **extra)


def privacy_link_request(client, subscriber, kind: str, **extra) -> str:
    """Ask on the preference link's page for a one-time link; its path, from the mail."""
    from django.core import mail

    sent_before = len(mail.outbox)
    response = post_committed(
        client, preferences_path(subscriber) + "mina-uppgifter/", {"kind": kind}, **extra
    )
    assert response.status_code == 302, response.status_code
    assert len(mail.outbox) == sent_before + 1, "no mail with a one-time link"
    return path_from_text(mail.outbox[-1].body, "/mina-uppgifter/")

"""Signed tokens never reach the logs: Django's request and CSRF warnings, runserver's and
gunicorn's access lines all print the path, and the path of a personal link holds the token."""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from lansnytt.log_masking import MASK, SignedTokenFilter
from subscribers.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, token_make
from tests.factories import subscriber_make
from tests.security.pages import TOKEN_PURPOSES

ROOT = Path(__file__).resolve().parents[2]


def _token_routes() -> list[str]:
    """The names of every URL pattern that takes a token, from the URLconf itself."""

    def walk(patterns, namespace=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, inner)
            elif isinstance(entry, URLPattern) and "token" in entry.pattern.converters:
                yield f"{namespace}{entry.name}"

    return sorted(walk(get_resolver().url_patterns))


def _records_text(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


@pytest.mark.django_db
@pytest.mark.parametrize("route", _token_routes())
def test_it_masks_the_token_of_every_token_url_in_the_request_warning(route, caplog):
    assert route in TOKEN_PURPOSES, f"{route} takes a token: add its purpose there"
    subscriber = subscriber_make(email="anna.andersson@solna.se")
    if TOKEN_PURPOSES[route] == "privacy":
        from subscribers.models import PrivacyRequest, PrivacyRequestKind
        from subscribers.tokens import privacy_token_make

        request = PrivacyRequest.objects.create(
            subscriber=subscriber, kind=PrivacyRequestKind.EXPORT
        )
        token = privacy_token_make(
            privacy_request_id=request.pk, subscriber_id=subscriber.pk, email=subscriber.email
        )
    elif TOKEN_PURPOSES[route] == "tracked_link":
        from newsletter.engagement import tracked_link_make

        link = tracked_link_make(article_id=1, url="https://example.org/rapport")
        token = link.rstrip("/").rsplit("/", 1)[1]
    else:
        token = token_make(
            purpose=TOKEN_PURPOSES[route], subscriber_id=subscriber.pk, email=subscriber.email
        )
    kwargs = {"token": token, **({"file_format": "json"} if route == "subscribers:export" else {})}
    path = reverse(route, kwargs=kwargs)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = Client().put(path)  # no view takes PUT: a 405 and its warning

    assert response.status_code == 405
    logged = _records_text(caplog)
    assert f"Method Not Allowed (PUT): {path.replace(token, MASK)}" in logged
    assert token not in logged and token.split(":")[0] not in logged


@pytest.mark.django_db
def test_it_masks_the_token_in_the_not_found_warning(caplog):
    subscriber = subscriber_make(email="erik.berg@sundbyberg.se")
    token = token_make(purpose=PREFERENCES, subscriber_id=subscriber.pk, email=subscriber.email)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = Client().post(f"/prenumeration/{token}/mina-uppgifter.xml")

    assert response.status_code == 404
    assert "Not Found: /prenumeration/[token]/mina-uppgifter.xml" in _records_text(caplog)
    assert token not in _records_text(caplog)


@pytest.mark.django_db
def test_it_masks_the_token_in_the_csrf_refusal(caplog):
    subscriber = subscriber_make(email="sara.holm@vaxholm.se")
    token = token_make(purpose=PREFERENCES, subscriber_id=subscriber.pk, email=subscriber.email)

    with caplog.at_level(logging.WARNING):
        response = Client(enforce_csrf_checks=True).post(f"/prenumeration/{token}/")

    assert response.status_code == 403
    csrf = [record for record in caplog.records if record.name == "django.security.csrf"]
    assert [record.getMessage() for record in csrf] == [
        "Forbidden (CSRF cookie not set.): /prenumeration/[token]/"
    ]
    assert token not in _records_text(caplog)


@pytest.mark.django_db
def test_it_masks_what_is_left_of_a_token_that_was_cut_off(caplog):
    token = token_make(purpose=UNSUBSCRIBE, subscriber_id=4711, email="karin@example.se")
    cut = token[:20]  # "4711.<hash prefix>": still names a subscriber

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = Client().get(f"/avregistrera/{cut}/")

    assert response.status_code == 400
    assert "Bad Request: /avregistrera/[token]/" in _records_text(caplog)
    assert "4711." not in _records_text(caplog)


@pytest.mark.parametrize(
    "line",
    [
        "GET /arkiv/?lank=https%3A%2F%2Fx.se%2Fprenumeration%2F{token}%2F HTTP/1.1",
        'Referer: "https://lansnytt.example.org/somewhere/{token}/"',
        "the link {token} in a sentence",
    ],
    ids=["percent-encoded", "another-path", "free-text"],
)
def test_it_masks_a_signed_value_wherever_it_appears_in_a_line(line):
    token = token_make(purpose=CONFIRM, subscriber_id=12, email="ola@example.no")  # timestamped
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, line, None, None)
    record.msg = line.format(token=quote(token, safe="") if "%3A" in line else token)

    assert SignedTokenFilter(token_paths=[]).filter(record) is True

    assert record.getMessage() == line.format(token=MASK)


def test_it_leaves_lines_without_tokens_alone():
    line = 'GET /arkiv/2018-1/bokstart/ HTTP/1.1" 200 5120 [::1]:8000 12:30:45'
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (line,), None)

    SignedTokenFilter(token_paths=settings.SIGNED_LINK_PATHS).filter(record)

    assert record.getMessage() == line


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _served_output(command: list[str], port: int, paths: list[str], tmp_path: Path) -> str:
    """Starts a server process, requests `paths`, stops it and returns what it printed."""
    env = {
        **{key: value for key, value in os.environ.items() if key not in {"DATABASE_URL"}},
        "DEBUG": "true",
        "VAR_DIR": str(tmp_path),
        # Another key than the test's: the tokens are refused before any database lookup.
        "SECRET_KEY": "another-key-for-the-server-process-" + "k" * 30,
    }
    output = tmp_path / "server.log"
    with output.open("wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert server.poll() is None, output.read_text()
                    assert time.monotonic() < deadline, output.read_text()
                    time.sleep(0.2)
            for path in paths:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30)
                except urllib.error.HTTPError as error:
                    assert error.code in (400, 404)
            time.sleep(0.5)  # let the access lines reach the file
        finally:
            server.terminate()
            server.wait(timeout=30)
    return output.read_text()


def _paths_with_tokens() -> tuple[str, list[str]]:
    token = token_make(purpose=PREFERENCES, subscriber_id=31, email="lena@example.se")
    wrapped = quote(f"https://lansnytt.example.org/avregistrera/{token}/", safe="")
    return token, [f"/prenumeration/{token}/", f"/finns-inte/?lank={wrapped}"]


def test_it_masks_tokens_in_the_development_servers_access_lines(tmp_path):
    token, paths = _paths_with_tokens()
    port = _free_port()

    printed = _served_output(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        port,
        paths,
        tmp_path,
    )

    assert '"GET /prenumeration/[token]/ HTTP/1.1" 400' in printed
    assert "GET /finns-inte/?lank=" in printed
    assert token not in printed and quote(token, safe="") not in printed


def test_it_masks_tokens_in_gunicorns_access_log(tmp_path):
    token, paths = _paths_with_tokens()
    port = _free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")

    printed = _served_output(
        [gunicorn, "lansnytt.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        + ["--access-logfile", "-"],
        port,
        paths,
        tmp_path,
    )

    assert '"GET /prenumeration/[token]/ HTTP/1.1" 400' in printed
    assert "GET /finns-inte/?lank=" in printed
    assert token not in printed and quote(token, safe="") not in printed


def test_it_masks_tokens_that_any_other_logger_prints(tmp_path):
    from tests.commands import manage_run

    token = token_make(purpose=UNSUBSCRIBE, subscriber_id=77, email="per@example.se")
    env = {**os.environ, "DEBUG": "true", "VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)

    result = manage_run(
        "shell",
        "-c",
        "import logging; logging.getLogger('lansnytt.anything').warning("
        f"'a reader followed https://lansnytt.example.org/avregistrera/{token}/')",
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert "followed https://lansnytt.example.org/avregistrera/[token]/" in result.stderr
    assert token not in result.stderr

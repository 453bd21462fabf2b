"""The production environment is checked loudly instead of falling back silently."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.commands import manage_run

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 64 + "-a-production-secret-key-that-is-long-and-random",
    "EMAIL_HASH_KEY": "y" * 48 + "-the-key-of-the-address-hashes",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp://127.0.0.1:2525",
    "ALLOWED_HOSTS": "lansnytt.example.org",
    "SITE_URL": "https://lansnytt.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    # The colophon: without a responsible publisher production warns (newsletter.W020).
    "RESPONSIBLE_PUBLISHER": "Karin Lindqvist",
    "ISSN_PRINT": "0317-8471",
    "ISSN_ONLINE": "2049-3630",
}


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean_env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "EMAIL_HASH_KEY",
            "REDIS_URL",
            "EMAIL_URL",
            "DATABASE_URL",
            "SITE_URL",
            # Set for the browser tests; check --deploy rightly warns about it.
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    clean_env.update(env)
    clean_env["VAR_DIR"] = str(tmp_path)
    return manage_run(*args, env=clean_env)


REQUIRED = {"SECRET_KEY", "EMAIL_HASH_KEY", "REDIS_URL", "EMAIL_URL", "SITE_URL"}


@pytest.mark.parametrize("variable", sorted(REQUIRED))
def test_it_fails_the_check_naming_the_missing_variable(variable, tmp_path):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != variable}

    result = manage("check", env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert f"The environment variable {variable} is not set" in result.stderr
    for other in REQUIRED - {variable}:
        assert f"variable {other} is not set" not in result.stderr


def test_it_passes_the_deploy_check_with_a_production_environment(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, tmp_path=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_it_accepts_the_embedded_default_while_debug_is_on(tmp_path):
    result = manage("check", env={"DEBUG": "true"}, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("key", "check_id"),
    [
        (PRODUCTION_ENV["SECRET_KEY"], "subscribers.E002"),
        ("django-insecure-lansnytt-embedded-default-only-for-debug", "subscribers.E002"),
        ("kort-nyckel", "subscribers.E003"),
    ],
    ids=["same-as-secret-key", "secret-key-default", "too-short"],
)
def test_it_refuses_an_email_hash_key_that_is_no_key_of_its_own(key, check_id, tmp_path):
    result = manage("check", env={**PRODUCTION_ENV, "EMAIL_HASH_KEY": key}, tmp_path=tmp_path)

    assert result.returncode != 0
    assert check_id in result.stderr
    assert "EMAIL_HASH_KEY" in result.stderr


@pytest.mark.parametrize(
    "site_url",
    [
        "http://lansnytt.example.org",
        # Ways around a check that only looks for "https" somewhere:
        "HTTP://lansnytt.example.org",
        "http://https.lansnytt.example.org",
        "lansnytt.example.org",
        "//lansnytt.example.org",
        "https://",
        "https:///lansnytt",
        "https://user:password@lansnytt.example.org",
        " https://lansnytt.example.org",
        "https://lansnytt.example.org/?utm=1",
        "javascript:alert(1)//https://lansnytt.example.org",
    ],
)
def test_it_refuses_a_site_url_that_is_not_a_plain_https_address(site_url, tmp_path):
    result = manage(
        "check", "--deploy", env={**PRODUCTION_ENV, "SITE_URL": site_url}, tmp_path=tmp_path
    )

    assert result.returncode != 0
    assert "newsletter.E002" in result.stderr
    assert repr(site_url) in result.stderr


def test_it_accepts_an_https_site_url_in_any_case_with_a_port_and_a_path(tmp_path):
    env = {**PRODUCTION_ENV, "SITE_URL": "HTTPS://lansnytt.example.org:8443/lansnytt/"}

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr


def test_it_allows_an_http_site_url_while_debug_is_on(tmp_path):
    result = manage(
        "check", env={"DEBUG": "true", "SITE_URL": "http://localhost:8000"}, tmp_path=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "newsletter.E002" not in result.stderr


def test_it_refuses_to_start_with_a_mistyped_issn(tmp_path):
    env = {**PRODUCTION_ENV, "ISSN_ONLINE": "2049-3631"}

    result = manage("check", "--deploy", env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "newsletter.E020" in result.stderr and "ISSN_ONLINE" in result.stderr

"""Passwords of staff accounts: at least 12 characters, not common (Django's list and a Swedish
one with the region's places, seasons and years), not built from the username or email."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import User
from tests.accounts.staff import STRONG_PASSWORD, staff_make

pytestmark = pytest.mark.django_db


def _refusals(password: str, *, user: User | None = None) -> set[str]:
    user = user or User(
        username="karin.lindqvist",
        first_name="Karin",
        last_name="Lindqvist",
        email="k.lindqvist@regionbibliotek.example.se",
    )
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        return {item.code for item in error.error_list}
    return set()


@pytest.mark.parametrize(
    "password",
    [
        "biblioteket",
        "Lansnytt1",
        "Länsnytt2026!",
        "Sommar2026",
        "hösten2025!!",
        "Sollentuna2026",
        "Upplands-Väsby1",
        "Region Uppsala 2025",
        "Stockholm!!2026##",
    ],
)
def test_it_refuses_a_swedish_word_name_or_place_with_digits(password):
    assert "password_swedish_common" in _refusals(password)


@pytest.mark.parametrize(
    "password",
    ["B1bl10tek2026!", "SommarBibliotek2026", "Bibliotek-Sollentuna-1", "2026Värmdö2026"],
    ids=["leetspeak", "two-words", "word-and-place", "digits-on-both-ends"],
)
def test_it_refuses_the_usual_ways_around_the_swedish_list(password):
    assert "password_swedish_common" in _refusals(password)


def test_it_refuses_a_password_shorter_than_twelve_characters():
    assert _refusals("Xq7#vB2!pLm") == {"password_too_short"}


def test_it_refuses_a_password_like_the_username():
    assert "password_too_similar" in _refusals("karin.lindqvist99")


def test_it_refuses_a_password_like_the_email_address():
    assert "password_too_similar" in _refusals("k.lindqvist@regionbiblioteket")


def test_it_refuses_a_password_that_contains_the_name_in_another_order():
    refusals = _refusals("Lindqvist-Karin-2026")

    assert "password_personal" in refusals


def test_it_refuses_a_password_from_djangos_common_list():
    assert "password_too_common" in _refusals("password1234")


@pytest.mark.parametrize(
    "password", [STRONG_PASSWORD, "korrekt häst batteri häftstift", "Gx9!v2#Lq0zR"]
)
def test_it_accepts_a_long_passphrase_or_a_random_password(password):
    assert _refusals(password) == set()


def test_it_explains_the_refusal_in_swedish_in_the_admin(client):
    client.force_login(staff_make(username="admin", superuser=True))

    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "tryck",
            "password1": "Sommar2026",
            "password2": "Sommar2026",
            "usable_password": "true",
        },
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "Lösenordet består av vanliga svenska ord, namn eller ortnamn" in content
    assert "Det här lösenordet är för kort. Det måste innehålla minst 12 tecken." in content
    assert not User.objects.filter(username="tryck").exists()

"""Staff accounts for the account tests, and logging in through the admin's own login form."""

from django.test import Client
from django.urls import reverse

from accounts.models import User

# A password every rule accepts: four unrelated words.
STRONG_PASSWORD = "tranor dansar vid kanalen i gryningen"


def staff_make(*, username: str = "redaktor", superuser: bool = False, **fields) -> User:
    fields.setdefault("email", f"{username}@regionbibliotek.example.se")
    if superuser:
        return User.objects.create_superuser(username=username, password=STRONG_PASSWORD, **fields)
    return User.objects.create_user(
        username=username, password=STRONG_PASSWORD, is_staff=True, **fields
    )


def admin_login(client: Client, *, username: str, password: str, **headers):
    """POST the admin login form as a browser does; returns the response (not followed)."""
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        **headers,
    )


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session

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


def totp_code(device, *, steps_ahead: int = 0) -> str:
    """The code the person's app shows now (or `steps_ahead` 30-second steps later), computed
    with django-otp's own RFC 6238 implementation from the device's key."""
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def totp_enrol(user) -> "tuple[object, list[str]]":
    """A confirmed app and recovery codes for `user`, as enrolment leaves them."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.twofactor.services import recovery_codes_replace

    device = TOTPDevice.objects.create(user=user, name="Autentiseringsapp", confirmed=True)
    return device, recovery_codes_replace(user=user)

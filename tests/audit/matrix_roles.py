"""The seven roles of the role-by-action matrix, logged in as production has them: with
STAFF_REQUIRE_2FA on and, for staff, a session in which their app's code was accepted.

Also what every matrix cell checks about the trail: the entries it made, and that none of them
holds an email address."""

from __future__ import annotations

import re

from django.contrib.auth.models import Group
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import User
from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS
from audit.models import AuditEntry
from tests.accounts.staff import totp_enrol

ROLES = (
    "anonymous",
    "non_staff",
    "staff_no_group",
    "editor",
    "distribution",
    "administrator",
    "superuser",
)
STAFF_ROLES = ROLES[2:]
_GROUPS = {"editor": EDITORS, "distribution": DISTRIBUTION_STAFF, "administrator": ADMINISTRATORS}

# Anything that looks like an address, with or without a dot in the domain.
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)*", re.UNICODE)


def role_user_make(role: str):
    """The account of a role (None for anonymous), with a confirmed app for staff."""
    if role == "anonymous":
        return None
    # The role groups are there: the migrations made them (and tests/conftest.py sees to it).
    username = role.replace("_", "-")
    # No password: hashing one at the default cost for every cell would dominate the run.
    if role == "superuser":
        user = User.objects.create_superuser(username=username, email="", password=None)
    else:
        user = User.objects.create_user(username=username, is_staff=role != "non_staff")
    if role in _GROUPS:
        user.groups.add(Group.objects.get(name=_GROUPS[role]))
    if user.is_staff:
        totp_enrol(user)
    return user


def role_client(role: str, settings) -> tuple[Client, object]:
    """A client logged in as the role, past the second step as a code at login leaves it.

    force_login skips the password form (its own tests are in tests/accounts/); the session
    then gets the device id django-otp's login stores, which OTPMiddleware reads back."""
    settings.STAFF_REQUIRE_2FA = True
    client = Client()
    user = role_user_make(role)
    if user is not None:
        client.force_login(user)
        device = user.totpdevice_set.first() if user.is_staff else None
        if device is not None:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
    return client, user


def entries_since(last_id: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=last_id).order_by("id"))


def last_entry_id() -> int:
    entry = AuditEntry.objects.order_by("-id").first()
    return entry.id if entry else 0


def assert_no_address(entries: list[AuditEntry]) -> None:
    """No entry names anyone by address: not the actor, the object or the details."""
    for entry in entries:
        text = " ".join(
            [entry.actor_label, entry.object_type, entry.object_id, entry.object_label]
            + [entry.detail_text]
        )
        found = EMAIL_PATTERN.search(text)
        assert found is None, f"{entry.action} entry holds an address: {found.group()!r}"


def assert_sent_to_login(role: str, response) -> None:
    """A 302 refusal leads to the login: the admin's for a visitor, the second step for an
    account without staff status (which has a session but no verified app)."""
    from urllib.parse import urlsplit

    from django.urls import reverse

    where = urlsplit(response["Location"]).path
    if role == "anonymous":
        assert where == reverse("admin:login"), where
    elif role == "non_staff":
        assert where in (reverse("twofactor:verify"), reverse("twofactor:setup")), where

"""Enrolling a TOTP app, making recovery codes and checking a code at login."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record

TOTP_DEVICE_NAME = "Autentiseringsapp"
RECOVERY_DEVICE_NAME = "Reservkoder"


class CodeRefused(Exception):
    """A code was not accepted; the message says why, for the person at the form."""


def totp_device_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed TOTP device for `user` to scan; it counts for nothing until a code
    from it is confirmed. Refused once the user has a confirmed device: with only a password,
    nobody may add an app to an account that already has one."""
    if user_has_device(user):
        raise CodeRefused(_("Kontot har redan tvåstegsverifiering."))
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def totp_device_resume_or_start(*, user: User, device_id: int | None) -> TOTPDevice:
    """The enrolment in progress (so a reload or a wrong code keeps the key already scanned),
    or a new one."""
    device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
    return device or totp_device_start(user=user)


def totp_device_confirm(*, user: User, device_id: int, token: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the unconfirmed device with a code from the app; returns it and the new recovery
    codes (shown once, stored only in django-otp's static device)."""
    if user_has_device(user):
        raise CodeRefused(_("Kontot har redan tvåstegsverifiering."))
    device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
    if device is None:
        raise CodeRefused(_("Koden hör inte till någon påbörjad aktivering. Börja om."))
    # Outside a transaction that the refusal would roll back: a wrong code must count.
    _device_verify(device=device, token=token)
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return device, recovery_codes_replace(user=user)


def recovery_codes_replace(*, user: User) -> list[str]:
    """New recovery codes for `user`; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.STAFF_RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def second_factor_check(*, user: User, token: str) -> Device:
    """The device that accepts `token` (a code from the app or a recovery code, each usable
    once); CodeRefused otherwise. Every wrong code makes each device wait longer before it
    checks the next one (django-otp's throttling: 1, 2, 4, 8 … seconds)."""
    token = "".join(token.split()).lower()
    refusal = CodeRefused(_("Koden stämmer inte. Försök igen med en ny kod."))
    # The refusal is raised after the transaction commits: the failure counts and the used
    # recovery code must be stored, not rolled back with the error.
    # Only the kind of device the code is for is asked, so that a recovery code does not
    # count as a wrong app code (and make the app wait) or the other way round.
    kind = TOTPDevice if token.isdigit() and len(token) == 6 else StaticDevice
    with transaction.atomic():
        devices = [
            device for device in devices_for_user(user, for_verify=True) if isinstance(device, kind)
        ]
        accepted = None
        for device in devices:
            try:
                _device_verify(device=device, token=token)
            except CodeRefused as error:
                refusal = error if isinstance(error, _Throttled) else refusal
                continue
            accepted = device
            break
    if accepted is None:
        # A wrong second factor is a failed login as much as a wrong password is.
        audit_record(
            action=AuditAction.LOGIN_FAILED,
            actor=user,
            target=user,
            label=user.get_username(),
            detail={"step": "second_factor"},
        )
        raise refusal
    return accepted


def _device_verify(*, device: Device, token: str) -> None:
    allowed, details = device.verify_is_allowed()
    if not allowed:
        until = details.get("locked_until") if details else None
        when = formats.time_format(timezone.localtime(until), "H:i:s") if until else ""
        raise _Throttled(
            _("För många felaktiga koder. Vänta till %(time)s och försök igen.") % {"time": when}
        )
    if not device.verify_token(token):
        raise CodeRefused(_("Koden stämmer inte. Försök igen med en ny kod."))


class _Throttled(CodeRefused):
    pass

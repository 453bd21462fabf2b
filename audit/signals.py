"""Logins, failed logins and changes of staff rights, recorded from Django's signals."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from django.dispatch import receiver

from .context import current_actor
from .models import AuditAction
from .services import audit_record

User = get_user_model()
_CHANGES = {"post_add": "add", "post_remove": "remove", "post_clear": "clear"}


@receiver(user_logged_in, dispatch_uid="audit_login")
def _login(sender, request, user, **kwargs) -> None:
    # A login path may say more about itself (single sign-on: the provider, the roles given).
    detail = getattr(user, "audit_login_detail", None)
    audit_record(action=AuditAction.LOGIN, actor=user, target=user, detail=detail)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django has already masked the password in `credentials`; only the name typed is kept.
    username = str(credentials.get(User.USERNAME_FIELD) or credentials.get("username") or "")
    if not username and "nonce" in credentials:
        # Single sign-on's callback (accounts.sso) records its own failures, with the reason;
        # no name is typed there.
        return
    audit_record(
        action=AuditAction.LOGIN_FAILED,
        object_type=User._meta.label_lower,
        label=username[:150],
    )


def _names(model, pk_set) -> list[str]:
    if not pk_set:
        return []
    if model is Group:
        return sorted(model.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    if model is User:  # changed from the group's side: group.user_set.add(user)
        return sorted(model.objects.filter(pk__in=pk_set).values_list("username", flat=True))
    return sorted(
        f"{app}.{codename}"
        for app, codename in model.objects.filter(pk__in=pk_set).values_list(
            "content_type__app_label", "codename"
        )
    )


def _rights_changed(*, instance, action, model, pk_set, audit_action) -> None:
    if action not in _CHANGES:
        return
    if action != "post_clear" and not pk_set:
        # add() of rights already held (the role sync after every migrate) changes nothing;
        # Django still sends the signal, with an empty set.
        return
    detail = {"change": _CHANGES[action], "names": _names(model, pk_set)}
    audit_record(action=audit_action, actor=current_actor.get(), target=instance, detail=detail)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="audit_user_groups")
def _user_groups(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    _rights_changed(
        instance=instance,
        action=action,
        model=model,
        pk_set=pk_set,
        audit_action=AuditAction.ROLE_CHANGE,
    )


@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="audit_user_perms")
@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="audit_group_perms")
def _permissions(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    _rights_changed(
        instance=instance,
        action=action,
        model=model,
        pk_set=pk_set,
        audit_action=AuditAction.PERMISSION_CHANGE,
    )


_FLAGS = ("is_staff", "is_superuser")


@receiver(pre_save, sender=User, dispatch_uid="audit_user_flags_before")
def _status_flags_before(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    # Remembered before the save, recorded after it: a save that fails leaves no entry.
    if raw or (update_fields is not None and not set(update_fields) & set(_FLAGS)):
        return  # loaddata, or a save of other fields (the login's last_login)
    before = User.objects.filter(pk=instance.pk).values(*_FLAGS).first() if instance.pk else None
    instance._audit_flags_before = before or dict.fromkeys(_FLAGS, False)


@receiver(post_save, sender=User, dispatch_uid="audit_user_flags")
def _status_flags(sender, instance, raw=False, **kwargs) -> None:
    before = instance.__dict__.pop("_audit_flags_before", None)
    if raw or before is None:
        return
    changed = {
        flag: {"before": before[flag], "after": getattr(instance, flag)}
        for flag in _FLAGS
        if before[flag] != getattr(instance, flag)
    }
    if changed:
        audit_record(
            action=AuditAction.STATUS_FLAGS_CHANGE,
            actor=current_actor.get(),
            target=instance,
            label=instance.get_username(),
            detail=changed,
        )


# Deleting an account or a group takes its memberships with it without any m2m_changed:
# each is one change of roles, recorded (inside the deletion's transaction) before it goes.
@receiver(pre_delete, sender=User, dispatch_uid="audit_user_deleted")
def _user_deleted(sender, instance, **kwargs) -> None:
    audit_record(
        action=AuditAction.ROLE_CHANGE,
        actor=current_actor.get(),
        target=instance,
        label=instance.get_username(),
        detail={
            "change": "account_deleted",
            "names": sorted(instance.groups.values_list("name", flat=True)),
        },
    )


@receiver(pre_delete, sender=Group, dispatch_uid="audit_group_deleted")
def _group_deleted(sender, instance, **kwargs) -> None:
    audit_record(
        action=AuditAction.ROLE_CHANGE,
        actor=current_actor.get(),
        target=instance,
        detail={
            "change": "group_deleted",
            "names": sorted(instance.user_set.values_list("username", flat=True)),
        },
    )

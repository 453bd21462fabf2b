"""Who may hand out which staff rights: nobody more than they hold themselves.

Administrators manage staff accounts within the role groups. Only a superuser may make or
change a superuser, give a permission directly (outside the groups) or change what a group
grants; and a user may only be put into or taken out of a group by someone who holds every
permission that group grants. Otherwise whoever may change users could make themselves
anything.
"""

from collections.abc import Iterable

from django.contrib.auth.models import Group

# Fields of the user and group forms that only a superuser may set: each of them can grant
# any right at all.
SUPERUSER_ONLY_USER_FIELDS = ("is_superuser", "user_permissions")
SUPERUSER_ONLY_GROUP_FIELDS = ("permissions",)


def user_changeable(*, actor, target) -> bool:
    """Whether actor may change (or delete) the target account at all.

    A superuser's account is the superuser's: whoever could set its password, address or
    staff status could take it over.
    """
    return actor.is_superuser or not target.is_superuser


def group_grantable(*, actor, group: Group) -> bool:
    """Whether actor holds every permission the group grants."""
    if actor.is_superuser:
        return True
    granted = {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }
    return granted <= actor.get_all_permissions()


def groups_refused(*, actor, before: Iterable[Group], after: Iterable[Group]) -> list[Group]:
    """The groups of a membership change (added or removed) that actor may not hand out."""
    changed = set(before) ^ set(after)
    return sorted(
        (group for group in changed if not group_grantable(actor=actor, group=group)),
        key=lambda group: group.name,
    )

"""Reading the audit trail in tests: the entries of one action, and the check that the trail
holds no subscriber's address."""

from audit.models import AuditEntry


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def the_entry(action: str) -> AuditEntry:
    """The one entry of the action; fails when there is none or more than one."""
    found = entries(action)
    assert len(found) == 1, f"expected one {action} entry, found {len(found)}: {found}"
    return found[0]


def trail_text() -> str:
    return "\n".join(
        f"{entry.actor_label} {entry.object_label} {entry.detail_text}"
        for entry in AuditEntry.objects.all()
    )

"""Every management command of the project's apps, in the role-by-action matrix.

Commands have no roles: they are for operators, and whoever may run `manage.py` on the server
may do anything (they hold the database's credentials). So no command takes an option naming
a user to act as (a claimed user would be a lie the trail believed), and the trail names the
command line and the operating-system user instead: an explicit `command_line()` in the
command, or, for whatever a command changes without naming an actor (Django's own commands,
a signal), the process's own command line (audit.services.command_of_this_process).

Exhaustive by construction: `test_it_lists_every_command` fails for a command the project's
apps have and COMMANDS does not list.
"""

from __future__ import annotations

import getpass
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.utils import timezone

from audit.models import ActorKind, AuditAction
from tests.audit.matrix_objects import READER_EMAIL
from tests.audit.matrix_roles import assert_no_address, entries_since, last_entry_id
from tests.factories import segment_make, sendable_issue_make, subscriber_make
from tests.print_scenario import print_scenario_make

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("accounts", "audit", "subscribers", "newsletter", "printing", "worker")


@dataclass(frozen=True)
class Command:
    records: str | None  # the one audit action a run that changes something leaves
    arrange: Callable[[object], list[str]] | None  # (tmp_path) -> the command's arguments
    why_not_recorded: str = ""
    why_not_run: str = ""


def _published_issue() -> object:
    from newsletter.models import IssueStatus

    subscriber_make(email=READER_EMAIL, segments=[segment_make(slug="lasare")])
    return sendable_issue_make(status=IssueStatus.PUBLISHED)


def _dispatch(status: str = "planned") -> object:
    from worker.models import Dispatch

    return Dispatch.objects.create(issue=_published_issue(), status=status)


def _due_scheduled(tmp_path) -> list[str]:
    from worker.models import Dispatch

    Dispatch.objects.create(
        issue=_published_issue(), scheduled_at=timezone.now() - timedelta(minutes=1)
    )
    return []


def _csv(tmp_path) -> list[str]:
    path = tmp_path / "kontakter.csv"
    path.write_text(f"e-post;namn\n{READER_EMAIL};Maja Ek\n", encoding="utf-8")
    return [str(path)]


def _bounce(tmp_path) -> list[str]:
    from tests.sending.test_sending_bounces import _dsn
    from worker.models import Delivery, DeliveryStatus

    dispatch = _dispatch("done")
    reader = subscriber_make(email="karin.lind@example.se")
    delivery = Delivery.objects.create(
        dispatch=dispatch,
        issue=dispatch.issue,
        subscriber=reader,
        email=reader.email,
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
    )
    path = tmp_path / "studs.eml"
    path.write_bytes(
        _dsn(
            recipient=reader.email,
            message_id=f"lansnytt.d{delivery.pk}@lansnytt.example.org",
        )
    )
    return [str(path)]


def _stale_signup(tmp_path) -> list[str]:
    from subscribers.models import Subscriber, SubscriberStatus

    reader = subscriber_make(email=READER_EMAIL, status=SubscriberStatus.PENDING)
    Subscriber.objects.filter(pk=reader.pk).update(created_at=timezone.now() - timedelta(days=90))
    return []


def _old_dispatch(tmp_path) -> list[str]:
    from worker.models import Delivery, DeliveryStatus

    dispatch = _dispatch("done")
    long_ago = timezone.now() - timedelta(days=400)
    type(dispatch).objects.filter(pk=dispatch.pk).update(finished_at=long_ago)
    reader = subscriber_make(email="karin.lind@example.se")
    Delivery.objects.create(
        dispatch=dispatch,
        issue=dispatch.issue,
        subscriber=reader,
        email=reader.email,
        status=DeliveryStatus.SENT,
        sent_at=long_ago,
    )
    return []


def _print_export(tmp_path) -> list[str]:
    issue = print_scenario_make()["issue"]
    output = tmp_path / "tryck.csv"
    return [issue.slug, "--format", "csv", "--output", str(output), "--allow-incomplete"]


# Every command, and what a run that changes something leaves in the trail.
COMMANDS: dict[str, Command] = {
    "dispatch_control": Command(
        records=AuditAction.DISPATCH_START,
        arrange=lambda tmp_path: [str(_dispatch().pk), "start"],
    ),
    "send_issue": Command(
        records=AuditAction.DISPATCH_CREATE,
        arrange=lambda tmp_path: [_published_issue().slug, "--all-segments"],
    ),
    "import_subscribers": Command(records=AuditAction.IMPORT, arrange=_csv),
    "export_print": Command(records=AuditAction.PRINT_EXPORT, arrange=_print_export),
    "process_bounces": Command(records=AuditAction.SUPPRESSION_ADD, arrange=_bounce),
    "purge_pending_signups": Command(records=AuditAction.ERASURE, arrange=_stale_signup),
    # One entry per run with its counts (also a run that found nothing: the rule was applied).
    "purge_records": Command(records=AuditAction.RETENTION_PURGE, arrange=_old_dispatch),
    # The sweep itself hands rows of crashed workers back: the rows' own state, no decision
    # of anyone's and up to every 10 s, so not in the trail; the scheduled start it does is.
    "deliveries_sweep": Command(records=AuditAction.DISPATCH_START, arrange=_due_scheduled),
    "dispatch_status": Command(
        records=None,
        why_not_recorded="reads a dispatch's counters",
        arrange=lambda tmp_path: [str(_dispatch().pk)],
    ),
    "render_issue": Command(
        records=None,
        why_not_recorded="renders an issue to a file; nothing personal, nothing changed",
        arrange=lambda tmp_path: [
            _published_issue().slug,
            "--output",
            str(tmp_path / "nummer.html"),
        ],
    ),
    "legal_deposit_export": Command(
        records=None,
        why_not_recorded="writes a published issue's PDF edition and its metadata; nothing "
        "personal, nothing changed",
        arrange=lambda tmp_path: [_published_issue().slug, "--output", str(tmp_path / "plikt")],
    ),
    "seed_demo": Command(
        records=None,
        arrange=None,
        why_not_run="fills an empty demo database (tests/project/ runs it); its users and "
        "roles are recorded like any others",
    ),
    "oidc_discover": Command(
        records=None,
        arrange=None,
        why_not_run="reads the identity provider's discovery document and prints settings; "
        "changes nothing (tests/accounts/ runs it against the loopback provider)",
    ),
    "demo": Command(
        records=None,
        arrange=None,
        why_not_run="seed_demo plus a real send of the demo issue (tests/project/ runs it); "
        "its dispatch is recorded as `manage.py demo`",
    ),
}


def _project_commands() -> dict[str, str]:
    return {name: app for name, app in get_commands().items() if app in PROJECT_APPS}


def test_it_lists_every_command():
    assert set(_project_commands()) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(_project_commands()))
def test_it_lets_no_command_claim_to_act_as_a_user(name):
    """No option names a user to act as: the actor of a command is its command line."""
    parser = load_command_class(_project_commands()[name], name).create_parser("manage.py", name)
    options = {option for action in parser._actions for option in action.option_strings}
    assert not {option for option in options if "user" in option or "actor" in option}


@pytest.mark.parametrize("name", sorted(name for name, c in COMMANDS.items() if c.arrange))
def test_it_records_what_each_command_changes_once_naming_the_command_line(
    name, tmp_path, monkeypatch, settings
):
    settings.EMAIL_URL = ""  # nothing is sent anywhere: tasks are not run here
    command = COMMANDS[name]
    arguments = command.arrange(tmp_path)
    # What the process looks like when an operator runs it.
    monkeypatch.setattr(sys, "argv", ["manage.py", name, *arguments])
    before = last_entry_id()

    call_command(name, *arguments, stdout=io.StringIO(), stderr=io.StringIO())

    made = entries_since(before)
    assert_no_address(made)
    if command.records is None:
        assert command.why_not_recorded
        assert made == []
        return
    assert [entry.action for entry in made] == [command.records], made
    entry = made[0]
    assert entry.actor_kind == ActorKind.COMMAND
    assert entry.actor_id is None
    assert entry.actor_label.startswith(f"manage.py {name}")
    assert entry.actor_label.endswith(f"(OS-användare {getpass.getuser()})")


def test_it_says_why_each_command_not_run_here_is_left_out():
    for name, command in COMMANDS.items():
        assert command.arrange is not None or command.why_not_run, name


def test_it_names_the_command_line_for_a_superuser_made_with_createsuperuser(monkeypatch):
    """Django's own commands name no actor; the process's command line is the one."""
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "tranor dansar vid kanalen i gryningen")
    monkeypatch.setattr(sys, "argv", ["manage.py", "createsuperuser", "--noinput"])
    before = last_entry_id()

    call_command("createsuperuser", username="chef", email="", interactive=False)

    (entry,) = entries_since(before)
    assert entry.action == AuditAction.STATUS_FLAGS_CHANGE
    assert entry.actor_kind == ActorKind.COMMAND
    assert entry.actor_label == f"manage.py createsuperuser (OS-användare {getpass.getuser()})"

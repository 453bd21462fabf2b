"""Every staff page, role by role: the status each of the seven roles gets for a GET of every
URL under /admin/ and /personal/ that the URLconf has.

Exhaustive by construction: the URL resolver, the admin's registry and the tables below must
name the same pages, so a new page, model admin or custom admin view fails
`test_it_lists_every_staff_page` until someone writes down who may see it. What the pages
that change something do when posted is in test_role_matrix.py, the admin actions in
test_role_matrix_actions.py, the commands in test_role_matrix_commands.py.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from audit.models import AuditAction
from tests.audit.matrix_objects import MAKERS
from tests.audit.matrix_roles import (
    ROLES,
    assert_no_address,
    assert_sent_to_login,
    entries_since,
    last_entry_id,
    role_client,
)
from tests.factories import sendable_issue_make

pytestmark = pytest.mark.django_db

# The model admins, as the README's role tables put it: what each role holds on the model in
# the admin, v view (the list, the read-only form, the history), a add, c change, d delete;
# "-" nothing (403). Neither anonymous visitors nor accounts without staff status get into the
# admin at all (302 to its login). These are the rights the pages honour, after each model
# admin's own limits (a read-only log, dispatches that are cancelled rather than deleted).
#                                   staff  editor  distrib.  admin.  superuser
ADMIN_MODELS: dict[str, tuple[str, str, str, str, str]] = {
    "axes.accessattempt":            ("-",  "-",    "-",      "-",    "vd"),
    "axes.accesslog":                ("-",  "-",    "-",      "-",    "vd"),
    "axes.accessfailurelog":         ("-",  "-",    "-",      "-",    "vd"),
    "otp_totp.totpdevice":           ("-",  "-",    "-",      "-",    "vacd"),
    "otp_static.staticdevice":       ("-",  "-",    "-",      "-",    "vacd"),
    "accounts.user":                 ("-",  "-",    "-",      "vacd", "vacd"),
    "auth.group":                    ("-",  "-",    "-",      "-",    "vacd"),
    "audit.auditentry":              ("-",  "-",    "-",      "v",    "v"),
    "subscribers.copychangerequest": ("-",  "-",    "-",      "vcd",  "vcd"),
    "subscribers.region":            ("-",  "-",    "-",      "v",    "v"),
    "subscribers.municipality":      ("-",  "-",    "-",      "v",    "v"),
    "subscribers.organisation":      ("-",  "v",    "vacd",   "vacd", "vacd"),
    "subscribers.subscriber":        ("-",  "v",    "vc",     "vacd", "vacd"),
    "subscribers.segment":           ("-",  "v",    "v",      "vacd", "vacd"),
    "subscribers.consentevent":      ("-",  "-",    "-",      "v",    "v"),
    "subscribers.suppression":       ("-",  "-",    "-",      "vacd", "vacd"),
    "newsletter.issue":              ("-",  "vacd", "v",      "vacd", "vacd"),
    "newsletter.article":            ("-",  "vacd", "-",      "vacd", "vacd"),
    "printing.printextraline":       ("-",  "-",    "vacd",   "vacd", "vacd"),
    "printing.printrun":             ("-",  "-",    "vd",     "vd",   "vd"),
    "worker.dispatch":               ("-",  "vac",  "-",      "vac",  "vac"),
    "worker.delivery":               ("-",  "v",    "-",      "v",    "v"),
    # Tokens are made and revoked, never changed or deleted (accounts/admin_tokens.py).
    "accounts.apitoken":             ("-",  "-",    "-",      "va",   "va"),
    "webhooks.webhookendpoint":      ("-",  "-",    "-",      "vacd", "vacd"),
    # The delivery log: read, and "send again" (a change); never added or deleted by hand.
    "webhooks.webhookdelivery":      ("-",  "-",    "-",      "vc",   "vc"),
    # What the bounce mailbox could do nothing with: read, and deleted once dealt with.
    "worker.keptbouncemessage":      ("-",  "-",    "-",      "vd",   "vd"),
}  # fmt: skip

# The page of a model admin and the right it needs; "object" is the bare /<id>/ address,
# which sends any staff member on to the change page (which then decides).
MODEL_PAGES = {
    "changelist": "vc",
    "add": "a",
    "change": "vc",
    "history": "vc",
    "delete": "d",
    "object": "",
}

LOGIN = 302  # to the admin's login page (login_required uses it too: LOGIN_URL)
NO_STAFF = (LOGIN, LOGIN)

# Every other staff page, GET, in the order of ROLES:
#   anonymous  non-staff  staff  editor  distribution  administrator  superuser
# 405: the address takes only POST (what it does when posted is in test_role_matrix.py).
# An account without staff status that has a session anyway is sent to the second step
# (302; with no app yet, to enrolment, which is the one page it sees) and never further.
# The staff pages outside the admin send anonymous visitors to the login (302), except that
# a POST-only one answers a GET with 405 before asking who is there.
PAGES: dict[str, tuple[int, ...]] = {
    "admin:index":                                (*NO_STAFF, 200, 200, 200, 200, 200),
    "admin:login":                                (200, 302, 302, 302, 302, 302, 302),
    "admin:logout":                               (*NO_STAFF, 405, 405, 405, 405, 405),
    "admin:password_change":                      (*NO_STAFF, 200, 200, 200, 200, 200),
    "admin:password_change_done":                 (*NO_STAFF, 200, 200, 200, 200, 200),
    "admin:autocomplete":                         (*NO_STAFF, 403, 200, 200, 200, 200),
    "admin:jsi18n":                               (*NO_STAFF, 200, 200, 200, 200, 200),
    "admin:view_on_site":                         (*NO_STAFF, 302, 302, 302, 302, 302),
    "admin:app_list":                             (*NO_STAFF, 404, 200, 200, 200, 200),
    "admin/(?P<url>.*)$":                         (*NO_STAFF, 404, 404, 404, 404, 404),
    "admin:otp_totp_totpdevice_config":           (*NO_STAFF, 403, 403, 403, 403, 200),
    "admin:otp_totp_totpdevice_qrcode":           (*NO_STAFF, 403, 403, 403, 403, 200),
    "admin:auth_user_password_change":            (*NO_STAFF, 403, 403, 403, 200, 200),
    "admin:subscribers_subscriber_import":        (*NO_STAFF, 403, 403, 403, 200, 200),
    "admin:subscribers_subscriber_import_job":    (*NO_STAFF, 403, 403, 403, 200, 200),
    "admin:subscribers_subscriber_import_progress": (*NO_STAFF, 403, 403, 403, 200, 200),
    "admin:newsletter_issue_preview":             (*NO_STAFF, 403, 200, 200, 200, 200),
    "admin:newsletter_issue_preview_email":       (*NO_STAFF, 403, 200, 200, 200, 200),
    "admin:newsletter_issue_send_test":           (*NO_STAFF, 405, 405, 405, 405, 405),
    "admin:newsletter_issue_transition":          (*NO_STAFF, 405, 405, 405, 405, 405),
    "admin:newsletter_issue_link_check":          (*NO_STAFF, 405, 405, 405, 405, 405),
    "admin:newsletter_issue_link_check_progress": (*NO_STAFF, 403, 200, 200, 200, 200),
    "admin:newsletter_issue_move_article":        (*NO_STAFF, 405, 405, 405, 405, 405),
    # One revision in the history (django-simple-history's restore form): who may view.
    "admin:newsletter_issue_simple_history":      (*NO_STAFF, 403, 200, 200, 200, 200),
    "admin:newsletter_article_simple_history":    (*NO_STAFF, 403, 200, 403, 200, 200),
    "admin:worker_dispatch_progress":             (*NO_STAFF, 403, 200, 403, 200, 200),
    "admin:worker_dispatch_control":              (*NO_STAFF, 405, 405, 405, 405, 405),
    "admin:worker_dispatch_emergency":            (*NO_STAFF, 403, 200, 403, 200, 200),
    "twofactor:verify":                           (LOGIN, 302, 302, 302, 302, 302, 302),
    "twofactor:setup":                            (LOGIN, 200, 302, 302, 302, 302, 302),
    "twofactor:logout":                           (405, 405, 405, 405, 405, 405, 405),
    "printing:print_run":                         (LOGIN, 302, 403, 403, 200, 200, 200),
    "printing:print_run_finalise":                (405, 302, 405, 405, 405, 405, 405),
    "printing:print_run_download":                (LOGIN, 302, 403, 403, 200, 200, 200),
    "printing:print_proof":                       (LOGIN, 302, 403, 403, 200, 200, 200),
    "reports:dispatch_report":                    (LOGIN, 302, 403, 200, 403, 200, 200),
    "reports:dispatch_report_csv":                (LOGIN, 302, 403, 200, 403, 200, 200),
    "reports:issue_report":                       (LOGIN, 302, 403, 200, 403, 200, 200),
    "reports:issue_report_csv":                   (LOGIN, 302, 403, 200, 403, 200, 200),
    "reports:list_hygiene":                       (LOGIN, 302, 403, 403, 200, 200, 200),
}  # fmt: skip

STAFF_PREFIXES = ("admin/", "personal/")


def _routes(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            name = f"{namespace}:{pattern.name}" if pattern.name else None
            yield route, name


def _model_page_keys() -> dict[str, tuple[str, str]]:
    """The URL key of each model admin page -> (model label, page)."""
    keys = {}
    for label in ADMIN_MODELS:
        app_label, model_name = label.split(".")
        for page in MODEL_PAGES:
            if page == "object":
                keys[f"admin/{app_label}/{model_name}/<path:object_id>/"] = (label, page)
            else:
                keys[f"admin:{app_label}_{model_name}_{page}"] = (label, page)
    return keys


MODEL_PAGE_KEYS = _model_page_keys()


def staff_url_keys() -> set[str]:
    """Every staff URL of the URLconf, by name, or by route where it has none."""
    return {
        name or route
        for route, name in _routes(get_resolver().url_patterns)
        if route.startswith(STAFF_PREFIXES)
    }


def test_it_lists_every_staff_page():
    listed = set(PAGES) | set(MODEL_PAGE_KEYS)
    found = staff_url_keys()
    assert found - listed == set(), "staff pages nobody has put in the matrix"
    assert listed - found == set(), "pages in the matrix that no longer exist"


def test_it_lists_every_model_admin():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(ADMIN_MODELS)
    assert set(MAKERS) == set(ADMIN_MODELS)


def _model_expected(label: str, page: str) -> tuple[int, ...]:
    needed = MODEL_PAGES[page]
    staff = []
    for rights in ADMIN_MODELS[label]:
        if page == "object":
            staff.append(302)
        else:
            staff.append(200 if rights != "-" and set(needed) & set(rights) else 403)
    return (*NO_STAFF, *staff)


def _model_url(label: str, page: str, target) -> str:
    app_label, model_name = label.split(".")
    if page in ("changelist", "add"):
        return reverse(f"admin:{app_label}_{model_name}_{page}")
    if page == "object":
        return f"/admin/{app_label}/{model_name}/{target.pk}/"
    return reverse(f"admin:{app_label}_{model_name}_{page}", args=[target.pk])


def _page_url(name: str, users: dict) -> str:
    """A real address for the page: its object exists and the user may be asked about it."""
    from subscribers.importing.jobs import import_job_create

    if name in ("admin:index", "admin:login", "admin:logout", "admin:jsi18n"):
        return reverse(name)
    if name in ("admin:password_change", "admin:password_change_done"):
        return reverse(name)
    if name == "admin:autocomplete":
        # The subscriber form's organisation field: the one autocomplete the admin has.
        return reverse(name) + (
            "?app_label=subscribers&model_name=subscriber&field_name=organisation&term=Nacka"
        )
    if name == "admin:view_on_site":
        issue = sendable_issue_make()
        content_type = ContentType.objects.get_for_model(issue)
        return reverse(name, args=[content_type.pk, issue.pk])
    if name == "admin:app_list":
        return reverse(name, kwargs={"app_label": "subscribers"})
    if name == "admin/(?P<url>.*)$":
        return "/admin/finns-inte/"
    if name.startswith("admin:otp_totp_totpdevice_"):
        return reverse(name, args=[MAKERS["otp_totp.totpdevice"]().pk])
    if name == "admin:auth_user_password_change":
        return reverse(name, args=[MAKERS["accounts.user"]().pk])
    if name == "admin:subscribers_subscriber_import":
        return reverse(name)
    if name.startswith("admin:subscribers_subscriber_import_"):
        job = import_job_create(
            content=b"e-post;namn\nmaja.ek@jarfalla.se;Maja Ek\n",
            filename="kontakter.csv",
            segment_slugs=[],
            update=False,
            dry_run=True,
            staff_user=users["administrator"],
            language="sv",
        )
        return reverse(name, args=[job.pk])
    if name in ("admin:newsletter_issue_simple_history", "admin:newsletter_article_simple_history"):
        issue = sendable_issue_make()
        target = issue if "issue" in name else issue.articles.first()
        revision = type(target).history.filter(id=target.pk).latest()
        return reverse(name, args=[target.pk, revision.history_id])
    if name.startswith("admin:newsletter_issue_"):
        issue = sendable_issue_make()
        if name == "admin:newsletter_issue_move_article":
            return reverse(name, args=[issue.pk, issue.articles.first().pk])
        return reverse(name, args=[issue.pk])
    if name == "admin:worker_dispatch_emergency":
        return reverse(name)
    if name.startswith("admin:worker_dispatch_"):
        dispatch = MAKERS["worker.dispatch"]()
        if name == "admin:worker_dispatch_control":
            return reverse(name, args=[dispatch.pk, "pause"])
        return reverse(name, args=[dispatch.pk])
    if name.startswith("twofactor:"):
        return reverse(name)
    if name.startswith("printing:"):
        from tests.print_scenario import print_scenario_make

        issue = print_scenario_make()["issue"]
        kwargs = {"issue_slug": issue.slug}
        if name == "printing:print_run_download":
            kwargs["export_format"] = "csv"
        return reverse(name, kwargs=kwargs)
    if name.startswith("reports:dispatch_report"):
        kwargs = {"dispatch_id": MAKERS["worker.dispatch"]().pk}
        if name.endswith("_csv"):
            kwargs["table"] = "summa"
        return reverse(name, kwargs=kwargs)
    if name.startswith("reports:issue_report"):
        kwargs = {"issue_slug": sendable_issue_make().slug}
        if name.endswith("_csv"):
            kwargs["table"] = "summa"
        return reverse(name, kwargs=kwargs)
    if name == "reports:list_hygiene":
        return reverse(name)
    raise AssertionError(f"no address for {name}: add it to _page_url")


# The one GET that hands something out: each role it is allowed to leaves one entry.
PAGE_RECORDS = {
    "printing:print_run_download": AuditAction.PRINT_EXPORT,
    "reports:dispatch_report_csv": AuditAction.REPORT_EXPORT,
    "reports:issue_report_csv": AuditAction.REPORT_EXPORT,
}


_LOGIN_PAGES = {"/admin/login/", "/admin/logout/", "/personal/tvastegs/"}


def _visit(url: str, clients: dict, users: dict, *, records: str | None = None):
    """Each role's status; checks that a role's GET recorded what it should and no more."""
    statuses = []
    for role in ROLES:
        before = last_entry_id()
        response = clients[role].get(url)
        status = response.status_code
        # (The login pages themselves send a visitor on: to the admin's index, to enrolment.)
        if status == 302 and role in ("anonymous", "non_staff") and url not in _LOGIN_PAGES:
            assert_sent_to_login(role, response)
        made = entries_since(before)
        assert_no_address(made)
        wanted = [records] if records and status == 200 else []
        assert [entry.action for entry in made] == wanted, f"{role}: {made}"
        if wanted:
            assert made[0].actor_id == users[role].pk
        statuses.append(status)
    return tuple(statuses)


@pytest.fixture
def role_clients(settings):
    clients, users = {}, {}
    for role in ROLES:
        clients[role], users[role] = role_client(role, settings)
    return clients, users


def _readable(expected, actual) -> str:
    return "\n".join(
        f"  {role:15} expected {want}, got {got}"
        for role, want, got in zip(ROLES, expected, actual, strict=True)
        if want != got
    )


@pytest.mark.parametrize("key", sorted(MODEL_PAGE_KEYS))
def test_it_gives_each_role_its_status_on_the_model_admin_pages(key, role_clients):
    clients, users = role_clients
    label, page = MODEL_PAGE_KEYS[key]
    target = MAKERS[label]()
    expected = _model_expected(label, page)

    # Looking is not doing: no GET of these pages leaves anything in the trail.
    actual = _visit(_model_url(label, page, target), clients, users)

    assert actual == expected, f"{key}:\n{_readable(expected, actual)}"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_it_gives_each_role_its_status_on_the_other_staff_pages(name, role_clients):
    clients, users = role_clients
    url = _page_url(name, users)

    actual = _visit(url, clients, users, records=PAGE_RECORDS.get(name))

    assert actual == PAGES[name], f"{name} ({url}):\n{_readable(PAGES[name], actual)}"


def test_it_posts_every_post_only_page_in_the_changing_matrix():
    """A page that answers GET with 405 does its work when posted: test_role_matrix.py must
    post it for every role."""
    from tests.audit.test_role_matrix import POST_PAGES

    post_only = {name for name, statuses in PAGES.items() if 405 in statuses[2:]}
    post_only.discard("admin:logout")  # ends one's own session; changes nobody's rights
    post_only.discard("twofactor:logout")
    assert post_only - POST_PAGES == set()

"""System checks of the newsletter app: every link in every email is built from SITE_URL, and
the external link check goes out through the outbound guard, whose test-only opening must not
reach production."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from lansnytt.checks import environment_variable_required
from lansnytt.outbound import outbound_settings_check

from .colophon import issn_normalise

# The guard is project-level; its first user registers its check (registering is idempotent,
# so a later user such as webhooks may register it too).
register(outbound_settings_check, Tags.security)


@register(Tags.compatibility)
def site_url_check(app_configs, **kwargs):
    return environment_variable_required(
        variable="SITE_URL",
        setting="SITE_URL_FROM_ENV",
        hint="Set SITE_URL to the public https address: every link in every email is built "
        "from it.",
        check_id="newsletter.E001",
    )


@register(Tags.security)
def site_url_https_check(app_configs, **kwargs):
    """SITE_URL must be https in production: the preference and unsubscribe links in every
    email carry the reader's signed token, and over http anyone on the path can read it."""
    # Unset is newsletter.E001's error; this one is about a value that was given.
    if settings.DEBUG or not settings.SITE_URL_FROM_ENV:
        return []
    problem = site_url_problem(settings.SITE_URL_FROM_ENV)
    if problem is None:
        return []
    return [
        Error(
            f"SITE_URL {settings.SITE_URL_FROM_ENV!r} {problem} and DEBUG is off.",
            hint="Set SITE_URL to the public https address, e.g. https://lansnytt.example.org: "
            "the links in every email carry the reader's signed token.",
            id="newsletter.E002",
        )
    ]


def site_url_problem(site_url: str) -> str | None:
    """What is wrong with SITE_URL as the base of links in email, or None when nothing is."""
    if site_url != site_url.strip():
        return "has spaces around it"
    try:
        parts = urlsplit(site_url)
    except ValueError:
        return "is not a URL"
    if parts.scheme.lower() != "https":
        return "is not an https address"
    if not parts.hostname:
        return "has no host name"
    if parts.username is not None or parts.password is not None:
        return "contains a user name or password"
    if parts.query or parts.fragment:
        return "has a query or fragment"
    return None


@register(Tags.compatibility)
def colophon_check(app_configs, **kwargs):
    """The ISSNs go into every issue's colophon and its legal deposit metadata: a mistyped
    number would be printed and delivered to Kungliga biblioteket, so refuse it at start."""
    problems = []
    for variable in ("ISSN_PRINT", "ISSN_ONLINE"):
        value = getattr(settings, variable)
        if value and issn_normalise(value) is None:
            problems.append(
                Error(
                    f"{variable} {value!r} is not a valid ISSN (the check digit does not match "
                    "or it is not of the form NNNN-NNNC).",
                    hint="Copy the ISSN from the ISSN centre's decision, e.g. 1234-5679.",
                    id="newsletter.E020",
                )
            )
    printed, online = issn_normalise(settings.ISSN_PRINT), issn_normalise(settings.ISSN_ONLINE)
    if printed and printed == online:
        problems.append(
            Error(
                f"ISSN_PRINT and ISSN_ONLINE are the same number ({printed}).",
                hint="The printed and the online edition each have an ISSN of their own; "
                "leave ISSN_PRINT or ISSN_ONLINE unset if there is only one.",
                id="newsletter.E021",
            )
        )
    if not settings.DEBUG and not settings.RESPONSIBLE_PUBLISHER.strip():
        problems.append(
            Warning(
                "RESPONSIBLE_PUBLISHER is not set and DEBUG is off: the colophon names no "
                "responsible publisher (ansvarig utgivare).",
                hint="Set RESPONSIBLE_PUBLISHER to the name of the magazine's ansvarig utgivare.",
                id="newsletter.W020",
            )
        )
    return problems

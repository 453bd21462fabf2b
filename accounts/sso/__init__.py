"""Single sign-on with the region's identity provider: OpenID Connect through
mozilla-django-oidc, configured by the OIDC_* settings and off without them.

The provider is the source of truth for the accounts it signs in: each login sets their roles
from its group claim (accounts.sso.services), and never makes anyone a superuser. Local
password logins (with lockout and TOTP) stay for the break-glass administrator.
"""

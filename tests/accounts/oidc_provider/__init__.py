"""A small OpenID Connect provider (django-oauth-toolkit) standing in for the region's identity
provider in the single sign-on tests: its own Django project, process and SQLite database,
started on loopback by tests/accounts/oidc.py."""

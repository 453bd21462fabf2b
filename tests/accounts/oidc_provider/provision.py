"""Set up the stand-in provider: `python -m tests.accounts.oidc_provider.provision JSON`.

JSON: {"clients": [{"client_id", "client_secret", "redirect_uri"}],
       "users": [{"username", "password", "email", "first_name", "last_name", "groups",
                  "email_verified"}]}
Idempotent: users get exactly the groups given, so a test can change them between logins."""

import json
import os
import sys

import django


def main(spec: dict) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.accounts.oidc_provider.settings")
    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    for client in spec.get("clients", []):
        Application.objects.filter(client_id=client["client_id"]).delete()
        Application.objects.create(
            name=client["client_id"],
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=client["redirect_uri"],
            algorithm=Application.RS256_ALGORITHM,
            # The consent page is shown and answered, as at a first login at a real provider.
            skip_authorization=False,
        )
    for person in spec.get("users", []):
        user, _ = User.objects.get_or_create(username=person["username"])
        user.set_password(person["password"])
        user.email = person.get("email", "")
        user.first_name = person.get("first_name", "")
        user.last_name = person.get("last_name", "")
        if not person.get("email_verified", True):
            user.last_name += " (overifierad)"
        user.save()
        user.groups.set(Group.objects.get_or_create(name=name)[0] for name in person["groups"])


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))

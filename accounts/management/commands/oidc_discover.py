from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.sso.discovery import DiscoveryFailed, provider_settings_discover


class Command(BaseCommand):
    help = (
        "Läser identitetsleverantörens discovery-dokument och skriver ut OIDC_*-variablerna för "
        "inloggning med regionens konto, och den redirect-URI som ska registreras hos den."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("issuer", help="leverantörens issuer, t.ex. https://login.region.se")

    def handle(self, *args, issuer: str, **options) -> None:
        try:
            found = provider_settings_discover(issuer=issuer)
        except DiscoveryFailed as error:
            raise CommandError(str(error)) from error
        for name, value in found.items():
            self.stdout.write(f"{name}={value}")
        self.stdout.write(
            f"# Redirect URI to register at the provider: {settings.SITE_URL}/oidc/callback/"
        )
        self.stdout.write(
            "# Also set OIDC_RP_CLIENT_ID, OIDC_RP_CLIENT_SECRET and OIDC_ROLE_MAPPING "
            "(README, Security → Single sign-on)."
        )

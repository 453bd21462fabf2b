from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A staff account: editors, distribution staff and administrators.

    Subscribers are not users; they live in subscribers.Subscriber and reach their own data
    through signed links.
    """

    email = models.EmailField(_("e-postadress"), blank=True)

    class Meta:
        verbose_name = _("användare")
        verbose_name_plural = _("användare")


class ApiScope(models.TextChoices):
    """What a personal API token may do. A token can never do more than its user may: the
    staff API checks the scope and the user's own permission (api/auth.py)."""

    SUBSCRIBERS_READ = "subscribers:read", _("Läsa prenumeranter och segment")
    SUBSCRIBERS_WRITE = "subscribers:write", _("Lägga till och ändra prenumeranter")
    DISPATCHES_READ = "dispatches:read", _("Läsa utskickens status")


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret part is kept: the token is shown
    once, when an administrator creates it, and cannot be read back."""

    user = models.ForeignKey(
        User, verbose_name=_("användare"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("namn"), max_length=100, help_text=_("Vad nyckeln används till."))
    # The public part, written in the token after "lnt_", so a token is found without a scan.
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("behörigheter"), default=list)
    created_at = models.DateTimeField(_("skapad"), auto_now_add=True)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("skapad av"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    expires_at = models.DateTimeField(_("giltig till"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("senast använd"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("återkallad"), null=True, blank=True)

    class Meta:
        verbose_name = _("API-nyckel")
        verbose_name_plural = _("API-nycklar")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        # Also the throttle's key (api/auth.py): one budget per token, never the secret.
        return f"{self.name} (lnt_{self.prefix}_…)"


class SignOnIdentity(models.Model):
    """The person at the region's identity provider an account belongs to: the issuer and
    the subject ("sub") of their ID tokens, which the provider never reuses.

    Single sign-on finds the account by this pair alone, never by username or email address:
    whoever can set an address at the provider must not thereby take over the local
    break-glass administrator's account."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="sign_on_identity", verbose_name=_("konto")
    )
    issuer = models.CharField(_("utfärdare"), max_length=255)
    subject = models.CharField(_("subjekt"), max_length=255)
    created_at = models.DateTimeField(_("första inloggning"), auto_now_add=True)

    class Meta:
        verbose_name = _("konto hos regionens inloggning")
        verbose_name_plural = _("konton hos regionens inloggning")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sign_on_identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} @ {self.issuer}"

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

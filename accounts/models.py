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

"""Starting a single sign-on and taking the provider's answer (mozilla-django-oidc's views,
each refused with 404 while SSO is off, and every failure recorded with its reason)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .backend import REFUSAL_ATTRIBUTE
from .config import sso_enabled
from .services import sign_on_failure_record
from .session import SIGNED_ON_SESSION_KEY


def sign_on_start_url(*, next_url: str = "") -> str:
    url = reverse("oidc_authentication_init")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


class SignOnStartView(OIDCAuthenticationRequestView):
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not sso_enabled():
            raise Http404
        # mozilla-django-oidc keeps only a "next" on this host (url_has_allowed_host_and_scheme
        # with OIDC_REDIRECT_ALLOWED_HOSTS empty); anything else ends at the admin index.
        return super().dispatch(request, *args, **kwargs)


class SignOnCallbackView(OIDCAuthenticationCallbackView):
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not sso_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        state = request.GET.get("state")
        if request.GET.get("error"):
            # The person cancelled, or the provider refused them; mozilla-django-oidc drops
            # the state so the answer cannot be replayed.
            sign_on_failure_record(
                reason="provider_error", detail={"error": request.GET["error"][:100]}
            )
            setattr(request, REFUSAL_ATTRIBUTE, "provider_error")
            return super().get(request)
        if "code" not in request.GET or not state:
            return self._refuse("incomplete")
        if state not in request.session.get("oidc_states", {}):
            # Not a login this browser started, or one already finished: a forged or
            # replayed answer, or a code meant for another browser (login CSRF).
            return self._refuse("state")
        response = super().get(request)
        if not request.user.is_authenticated and not hasattr(request, REFUSAL_ATTRIBUTE):
            # Refused before our backend asked the provider: django-axes's lockout of this
            # address (its middleware answers with the lockout page).
            reason = "locked_out" if getattr(request, "axes_locked_out", False) else "refused"
            sign_on_failure_record(reason=reason)
        return response

    def _refuse(self, reason: str) -> HttpResponse:
        sign_on_failure_record(reason=reason)
        setattr(self.request, REFUSAL_ATTRIBUTE, reason)
        return self.login_failure()

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        self.request.session[SIGNED_ON_SESSION_KEY] = True
        return response

    def login_failure(self) -> HttpResponse:
        reason = getattr(self.request, REFUSAL_ATTRIBUTE, "")
        if reason == "no_role":
            text = _(
                "Ditt konto hos regionen ger ingen behörighet i Länsnytt. Kontakta en "
                "administratör om du behöver en roll."
            )
        elif reason in ("inactive", "email_unverified"):
            text = _("Ditt konto får inte logga in i Länsnytt. Kontakta en administratör.")
        else:
            text = _("Inloggningen med regionens konto misslyckades. Försök igen.")
        messages.error(self.request, text)
        return redirect("admin:login")

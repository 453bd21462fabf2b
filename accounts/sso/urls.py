"""The two addresses of single sign-on, under the names mozilla-django-oidc reverses. Its own
logout view is left out: the admin's logout ends the session, and a logout by GET would be a
CSRF target."""

from django.urls import path

from .views import SignOnCallbackView, SignOnStartView

urlpatterns = [
    path("callback/", SignOnCallbackView.as_view(), name="oidc_authentication_callback"),
    path("authenticate/", SignOnStartView.as_view(), name="oidc_authentication_init"),
]

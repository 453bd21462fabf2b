from django.urls import path

from . import views

app_name = "twofactor"

urlpatterns = [
    path("personal/tvastegs/", views.verify, name="verify"),
    path("personal/tvastegs/aktivera/", views.setup, name="setup"),
    path("personal/tvastegs/logga-ut/", views.logout_view, name="logout"),
]

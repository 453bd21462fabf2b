from django.urls import path

from . import views

app_name = "subscribers"
urlpatterns = [
    # Placeholders until the self-service pages exist; the URL shapes are the public interface.
    path("prenumeration/<str:token>/", views.preferences, name="preferences"),
    path("avregistrera/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

from django.urls import path

from obmin.ops import views

app_name = "ops"
urlpatterns = [
    path("health/live", views.live, name="live"),
    path("health/ready", views.ready, name="ready"),
]

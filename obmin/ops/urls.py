from django.urls import path

from obmin.ops import views
from obmin.ops.metrics import metrics_view

app_name = "ops"
urlpatterns = [
    path("health/live", views.live, name="live"),
    path("health/ready", views.ready, name="ready"),
    path("metrics", metrics_view, name="metrics"),
]

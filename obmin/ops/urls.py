from django.urls import path

from obmin.ops import overview, views
from obmin.ops.metrics import metrics_view

app_name = "ops"
urlpatterns = [
    path("health/live", views.live, name="live"),
    path("health/ready", views.ready, name="ready"),
    path("metrics", metrics_view, name="metrics"),
    path("staff/overview/", overview.overview, name="overview"),
    path("staff/overview/mark-paid/", overview.payouts_mark_paid, name="overview_mark_paid"),
    path("staff/overview/pending-payouts.csv", overview.payouts_csv,
         name="overview_payouts_csv"),
]

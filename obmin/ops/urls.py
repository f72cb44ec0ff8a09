from django.urls import path

from obmin.ops import desk, overview, views
from obmin.ops.metrics import metrics_view

app_name = "ops"
urlpatterns = [
    path("health/live", views.live, name="live"),
    path("health/ready", views.ready, name="ready"),
    path("metrics", metrics_view, name="metrics"),
    path("staff/overview/", overview.overview, name="overview"),
    path("staff/desk/", desk.desk_queue, name="desk"),
    path("staff/desk/<int:exchange_id>/", desk.desk_exchange, name="desk_exchange"),
    path("staff/desk/<int:exchange_id>/act/", desk.desk_act, name="desk_act"),
    path("staff/overview/mark-paid/", overview.payouts_mark_paid, name="overview_mark_paid"),
    path("staff/overview/pending-payouts.csv", overview.payouts_csv,
         name="overview_payouts_csv"),
]

from django.urls import path

from obmin.exchange import views

app_name = "exchange"
urlpatterns = [
    path("", views.home, name="home"),
    path("exchange/", views.exchange_form, name="form"),
    # Before the token's pattern, which "lookup" would match.
    path("exchange/lookup/", views.exchange_lookup, name="lookup"),
    path("exchange/<str:token>/", views.exchange_detail, name="detail"),
    path("exchange/<str:token>/status.json", views.exchange_status, name="status"),
    path("exchange/<str:token>/paid/", views.exchange_mark_paid, name="mark_paid"),
]

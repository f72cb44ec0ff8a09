from django.contrib.auth import views as auth_views
from django.urls import path

from obmin.cabinet import stats_views, views
from obmin.cabinet.forms import EmailLoginForm

app_name = "cabinet"
urlpatterns = [
    path("login/", auth_views.LoginView.as_view(
        template_name="cabinet/login.html", authentication_form=EmailLoginForm,
        redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="exchange:home"), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("", views.dashboard, name="dashboard"),
    path("exchanges/", stats_views.exchanges, name="exchanges"),
    path("exchanges/csv", stats_views.exchanges_csv, name="exchanges_csv"),
    path("stats/", stats_views.statistics, name="statistics"),
    path("stats/csv", stats_views.statistics_csv, name="statistics_csv"),
    path("clicks/", stats_views.clicks, name="clicks"),
    path("clicks/csv", stats_views.clicks_csv, name="clicks_csv"),
    path("ledger/", stats_views.ledger, name="ledger"),
    path("ledger/csv", stats_views.ledger_csv, name="ledger_csv"),
    path("payouts/csv", stats_views.payouts_csv, name="payouts_csv"),
    path("payouts/", views.payouts, name="payouts"),
    path("payouts/<int:payout_id>/cancel/", views.payout_cancel_view, name="payout_cancel"),
    path("api/", views.api_access, name="api_access"),
    path("api/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]

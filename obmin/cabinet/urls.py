from django.contrib.auth import views as auth_views
from django.urls import path

from obmin.cabinet import account, link_builder, stats_views, views

app_name = "cabinet"
urlpatterns = [
    path("login/", account.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="exchange:home"), name="logout"),
    path("signup/", account.signup, name="signup"),
    path("signup/sent/", account.signup_sent, name="signup_sent"),
    path("signup/confirm/<str:token>/", account.signup_confirm, name="signup_confirm"),
    path("password/reset/", account.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", account.PasswordResetDoneView.as_view(),
         name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", account.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password/reset/done/", account.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("account/", account.account, name="account"),
    path("account/password/", account.password_change, name="password_change"),
    path("account/email/", account.email_change, name="email_change"),
    path("account/email/confirm/<str:token>/", account.email_change_confirm,
         name="email_change_confirm"),
    path("account/code/", account.code_choose, name="code_choose"),
    path("links/", link_builder.link_builder, name="link_builder"),
    path("links/qr.svg", link_builder.link_qr, name="link_qr"),
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

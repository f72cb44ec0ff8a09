from django.urls import path, register_converter

from obmin.exchange import views


class ExchangeTokenConverter:
    """An exchange's token as `secrets.token_urlsafe` makes it: a path with anything else
    (a NUL, which PostgreSQL refuses in a query) is not found without asking the database."""

    regex = "[A-Za-z0-9_-]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ExchangeTokenConverter, "exchange_token")

app_name = "exchange"
urlpatterns = [
    path("", views.home, name="home"),
    path("exchange/", views.exchange_form, name="form"),
    # Before the token's pattern, which "lookup" would match.
    path("exchange/lookup/", views.exchange_lookup, name="lookup"),
    path("exchange/<exchange_token:token>/", views.exchange_detail, name="detail"),
    path("exchange/<exchange_token:token>/status.json", views.exchange_status, name="status"),
    path("exchange/<exchange_token:token>/paid/", views.exchange_mark_paid, name="mark_paid"),
]

"""Top-level URLs: each room mounts its own."""

from django.contrib import admin
from django.urls import include, path

from obmin.cabinet.program import program

# A short 503 page while the database is unreachable, Django's 500 page otherwise.
handler500 = "obmin.ops.views.server_error"

urlpatterns = [
    path("", include("obmin.exchange.urls")),
    path("", include("obmin.partners.urls")),
    path("", include("obmin.monitoring.urls")),
    path("", include("obmin.partner_api.urls")),
    # Two-factor sign-in, partners' and staff's alike (obmin.twofactor).
    path("cabinet/account/two-factor/", include("obmin.twofactor.urls")),
    # Passkeys as a second factor, added and removed on the two-factor page (obmin.passkeys).
    path("cabinet/account/two-factor/passkeys/", include("obmin.passkeys.urls")),
    path("cabinet/", include("obmin.cabinet.urls")),
    # The public partner program page, beside the API docs at partners/api/.
    path("partners/", program, name="program"),
    path("", include("obmin.ops.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

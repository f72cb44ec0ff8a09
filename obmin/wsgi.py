"""WSGI entry point for `obmin serve` (granian) or any WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "obmin.settings")
django_application = get_wsgi_application()

from obmin.monitoring.fastpath import with_export_fast_path  # noqa: E402  (needs Django set up)

application = with_export_fast_path(django_application)

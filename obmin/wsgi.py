"""WSGI entry point for `obmin serve` (granian) or any WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "obmin.settings")
django_application = get_wsgi_application()

from django.conf import settings  # noqa: E402

from obmin.lib.accesslog import AccessLog, whole_answers  # noqa: E402
from obmin.monitoring.fastpath import with_export_fast_path  # noqa: E402  (needs Django set up)
from obmin.partners.fastpath import with_ref_fast_path  # noqa: E402

# The two hot paths, monitors' polls and clicks, skip the middleware they do not need.
application = with_export_fast_path(with_ref_fast_path(whole_answers(django_application)))
if settings.ACCESS_LOG:
    application = AccessLog(application)

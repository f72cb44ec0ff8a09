"""WSGI entry point for `obmin serve` (granian) or any WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "obmin.settings")
application = get_wsgi_application()

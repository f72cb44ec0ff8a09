"""Translations (`<lang>/LC_MESSAGES/django.po`, compiled `.mo` committed) and format overrides.

A package only so that `FORMAT_MODULE_PATH = "obmin.locale"` finds `<lang>/formats.py`, the
layout Django's own `django/conf/locale` uses.
"""

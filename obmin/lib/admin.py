"""Admin helpers shared by the rooms' back-office pages."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from obmin.lib.models import SingletonModel
from obmin.lib.money import plain, quantize

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def amount_text(amount: Decimal | None, decimals: int | None = None) -> str:
    """An amount for a list column: no exponent, no trailing zeros, in `decimals` when given
    (`66.9`, `0`, `0.0000101`) rather than the column's ten places (`66.9000000000`, `0E-10`)."""
    if amount is None:
        return "-"
    if decimals is not None:
        # More digits than the context holds: shown as stored.
        with suppress(InvalidOperation):
            amount = quantize(amount, decimals)
    return plain(amount)


class PlainDecimalInput(forms.NumberInput):
    """A decimal input showing `66.9` rather than the column's `66.9000000000`, wide enough
    for a rate or a reserve (`3924066.12345678`) to be read whole (obmin/admin.css)."""

    class Media:
        css = {"all": ["obmin/admin.css"]}

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"class": "plain-decimal", **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, Decimal):
            return plain(value)
        return super().format_value(value)


# For `formfield_overrides`: every decimal of a form or an editable list without its zeros.
PLAIN_DECIMALS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.DecimalField: {"widget": PlainDecimalInput}}


def short_time(moment: datetime | None) -> str:
    """`2026-11-28 14:05` in the admin's time zone: a list column of one width at every hour,
    where the admin's own format (`Nov. 28, 2026, 10:43 a.m.`) grows with the hour and month."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


def time_column(model: type[Model], field: str,
                description: StrOrPromise | None = None) -> Callable[[Model], str]:
    """A list_display column of the datetime `field` as short_time, sorted by it, headed by
    the field's own name unless `description` is given."""

    def column(obj: Model) -> str:
        return short_time(getattr(obj, field))

    column.__name__ = field  # the column's CSS class and sort key, as for the field itself
    header = description if description is not None else cast(
        models.Field[Any, Any], model._meta.get_field(field)).verbose_name
    return admin.display(description=header, ordering=field)(column)


def zoned_time(moment: datetime | None) -> str:
    """`2026-12-03 09:07:00 UTC`: a moment on a change page, in the admin's zone (the operator's,
    obmin.ops.middleware), named as the desk names it."""
    if moment is None:
        return "-"
    local = timezone.localtime(moment)
    return f"{local:%Y-%m-%d %H:%M:%S} {timezone.get_current_timezone_name()}"


def object_column(field: str, description: StrOrPromise, ordering: str,
                  length: int = 32) -> Callable[[Model], str]:
    """A list_display column naming the related object as everywhere else (its `str`: a
    partner is `e-mail (code)` on every list, filter and page); a long name is cut before
    its `(code)`, which always stays whole."""

    def column(obj: Model) -> str:
        related = getattr(obj, field)
        if related is None:
            return "-"
        text = str(related)
        if len(text) > length and text.endswith(")") and " (" in text:
            head, code = text.rsplit(" (", 1)
            return f"{truncated(head, max(length - len(code) - 2, 8))} ({code}"
        return text

    column.__name__ = field
    return admin.display(description=description, ordering=ordering)(column)


def truncated(text: str, length: int = 40) -> str:
    """Long text (referrers, user agents) cut for a list column; the change page has it all."""
    return text if len(text) <= length else text[:length - 1] + "…"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Facts (clicks, ledger entries): the operator reads them, nobody edits them by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class SingletonAdmin(admin.ModelAdmin):
    """Settings with one row: the list page goes straight to that row's form."""

    model: type[SingletonModel]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponseRedirect:
        row = self.model.load()
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))

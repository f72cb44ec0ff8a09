"""The one error type for refused requests, and the one way it reaches a form.

A service refuses bad input by raising `Refused` (or a room's subclass of it): a message a
person can read and, when one input is at fault, the name of that field or API parameter.
Views put it on their form with `add_refusal`; the API writes it into its error envelope.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import forms


class Refused(Exception):
    """A request refused with a reason; `field` names the input at fault, "" if none;
    `retry_after`, for a refusal by a rate limit, the seconds until it may be tried again."""

    def __init__(self, message: str, field: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.retry_after = retry_after


def add_refusal(form: forms.BaseForm, error: Refused, *,
                fields: Mapping[str, str] | None = None) -> None:
    """Shows `error` on `form`: beside its field when the form has it, else above the form.

    `fields` maps a service's field names to the form's where they differ
    (`{"password": "password1"}`).
    """
    name = (fields or {}).get(error.field, error.field)
    form.add_error(name if name in form.fields else None, error.message)

"""`{% desk_waiting_count as n %}`: how many exchanges wait for the operator (the admin's
index shows it beside the link to the desk)."""

from __future__ import annotations

from django import template

from obmin.exchange.selectors import exchanges_waiting_count

register = template.Library()


@register.simple_tag
def desk_waiting_count() -> int:
    return exchanges_waiting_count()

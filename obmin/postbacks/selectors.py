"""Reads of postbacks that several places share: the partner's own (cabinet), and which
partners want click events (asked for every stored click, so kept in memory briefly)."""

from __future__ import annotations

from django.db.models import QuerySet

from obmin.lib.memo import Memo
from obmin.partners.models import Partner
from obmin.postbacks.models import Event, Postback, PostbackDelivery

CLICK_SUBSCRIBERS_KEY = "postbacks:click-subscribers"
_memo = Memo(ttl=10)


def postbacks_of(partner: Partner) -> QuerySet[Postback]:
    return Postback.objects.filter(partner=partner).order_by("id")


def deliveries_of(partner: Partner) -> QuerySet[PostbackDelivery]:
    """The partner's delivery log, newest first, each with its attempts."""
    return (PostbackDelivery.objects.filter(partner=partner).select_related("postback")
            .prefetch_related("attempt_log").order_by("-id"))


def _click_subscribers() -> frozenset[int]:
    rows = Postback.objects.filter(is_active=True).values_list("partner_id", "events")
    return frozenset(partner_id for partner_id, events in rows if Event.CLICK in events)


def click_subscribers() -> frozenset[int]:
    """Partners with an active postback that wants clicks. Asked on every stored click, so
    this costs a query only when the shared cache lost it: a change of postbacks drops it
    (services), and every process's memo follows within its 10 s."""
    return _memo.through_cache(CLICK_SUBSCRIBERS_KEY, _click_subscribers, cache_seconds=3600,
                               kind=frozenset)

"""A partner deleted while its clicks wait (in the spool, in the Redis stream, or its code still
cached by /ref/) blocks nobody: its clicks are dropped, every other partner's are written."""

from __future__ import annotations

import pytest

from obmin.partners import ingest
from obmin.partners.ingest import CLICK_GROUP, CLICK_STREAM, clicks_ingest
from obmin.partners.models import Click
from obmin.partners.selectors import partner_for_code
from obmin.partners.services import partner_code_choose
from obmin.partners.tests.test_click_ingest import (
    click_data,
    needs_redis,
    spool,  # noqa: F401 (a fixture)
    stream,  # noqa: F401 (a fixture)
)


@pytest.mark.django_db(transaction=True)
def test_spooled_clicks_of_a_deleted_partner_do_not_stop_the_replay(alice, bob,
                                                                    spool):  # noqa: F811
    ingest._spool_append(click_data(bob))
    ingest._spool_append(click_data(alice, "a" * 16))
    bob.user.delete()
    assert clicks_ingest() == 1
    assert clicks_ingest() == 0
    assert not list(spool.iterdir())  # the file is done with, not replayed every round
    ingest._spool_append(click_data(alice, "b" * 16))
    assert clicks_ingest() == 1
    assert sorted(Click.objects.values_list("partner_id", "user_hash")) == [
        (alice.pk, "a" * 16), (alice.pk, "b" * 16)]


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_streamed_clicks_of_a_deleted_partner_do_not_stop_the_stream(alice, bob,
                                                                     stream):  # noqa: F811
    assert ingest.click_submit(click_data(bob)) == "stream"
    bob.user.delete()
    assert clicks_ingest() == 0
    assert clicks_ingest() == 0
    assert ingest.click_submit(click_data(alice)) == "stream"
    assert clicks_ingest() == 1
    assert Click.objects.get().partner_id == alice.pk
    assert stream.xlen(CLICK_STREAM) == 0
    assert stream.xpending(CLICK_STREAM, CLICK_GROUP)["pending"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_deleted_partners_codes_leave_the_code_cache(bob):
    old_code = bob.ref_code
    partner_code_choose(partner=bob, code="bobnew03")
    assert partner_for_code(old_code) is not None  # cached, the old code as the new
    assert partner_for_code("bobnew03") is not None
    bob.user.delete()  # not through partners.services: the user goes, and the partner with it
    assert partner_for_code(old_code) is None
    assert partner_for_code("bobnew03") is None

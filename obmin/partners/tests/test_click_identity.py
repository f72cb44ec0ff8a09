"""Behind the shipped nginx a click's id and time come from the proxy's request id and arrival
time, so a request nginx tries again on a second app server (the first died after queuing the
click) is one row; without the proxy setting, or with headers that do not fit, each request is
its own click."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from obmin.partners.ingest import click_identity, clicks_ingest
from obmin.partners.models import Click
from obmin.partners.tests.conftest import CHROME

REQUEST_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def proxied_click(client, *, request_id: str = REQUEST_ID, start: float | None = None):
    return client.get("/ref/alice001/", QUERY_STRING="cur_from=PMUSD&cur_to=BTC",
                      HTTP_USER_AGENT=CHROME, HTTP_X_REQUEST_ID=request_id,
                      HTTP_X_REQUEST_START=f"t={time.time() if start is None else start:.3f}")


@pytest.mark.django_db(transaction=True)
def test_a_retried_request_is_one_click(client, alice, pm_btc, settings):
    settings.BEHIND_PROXY = True
    start = time.time()
    # The first server queued the click and died; nginx sent the same request to the next.
    assert proxied_click(client, start=start).status_code == 302
    assert proxied_click(client, start=start).status_code == 302
    clicks_ingest()  # the second, refused by the database as a duplicate, went to the spool
    [row] = Click.objects.all()
    assert row.created_at == datetime.fromtimestamp(round(start * 1000) / 1000, tz=UTC)
    assert row.uid.version == 7
    # Another request (another id) is another click.
    proxied_click(client, request_id="f" * 32, start=start)
    clicks_ingest()
    assert Click.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("behind_proxy,request_id,start_offset", [
    (False, REQUEST_ID, 0),  # not behind a proxy of ours: the headers are anyone's
    (True, "not-hex-" + "0" * 24, 0),
    (True, REQUEST_ID[:16], 0),
    (True, REQUEST_ID, -3600),  # the proxy's clock (or a forged header) an hour off
])
def test_headers_that_do_not_fit_leave_each_request_its_own_click(
        client, alice, pm_btc, settings, behind_proxy, request_id, start_offset):
    settings.BEHIND_PROXY = behind_proxy
    start = time.time() + start_offset
    proxied_click(client, request_id=request_id, start=start)
    proxied_click(client, request_id=request_id, start=start)
    clicks_ingest()
    rows = list(Click.objects.all())
    assert len(rows) == 2
    assert all(abs(row.created_at.timestamp() - time.time()) < 60 for row in rows)


@given(request_id=st.text("0123456789abcdef", min_size=32, max_size=32),
       offset=st.floats(-59, 59))
@override_settings(BEHIND_PROXY=True)
def test_the_uid_is_a_uuid7_of_the_proxys_time(request_id, offset):
    now = datetime.now(UTC)
    meta = {"HTTP_X_REQUEST_ID": request_id,
            "HTTP_X_REQUEST_START": f"t={now.timestamp() + offset:.3f}"}
    uid, moment = click_identity(meta, now)
    assert click_identity(meta, now) == (uid, moment)  # the same for every try
    value = uuid.UUID(uid)
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert value.int >> 80 == round(moment.timestamp() * 1000)

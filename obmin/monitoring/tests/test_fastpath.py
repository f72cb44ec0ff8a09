"""The WSGI fast path answers polls exactly as the Django view does, without the middleware."""

from __future__ import annotations

import pytest

from obmin.testing.wsgi import wsgi_request

pytestmark = pytest.mark.django_db


def wsgi(path: str, method: str = "GET", **meta: str) -> tuple[int, dict[str, str], bytes]:
    """Through obmin.wsgi; headers named as in Django's META (HTTP_IF_NONE_MATCH...)."""
    answer = wsgi_request(path, method=method,
                          headers={name[5:].replace("_", "-"): value
                                   for name, value in meta.items()})
    return answer.status, dict(answer.headers), answer.body


SAME = ["Content-Type", "Content-Encoding", "ETag", "Last-Modified", "Cache-Control"]


@pytest.mark.parametrize(("path", "headers"), [
    ("/service/export/xml/bestmon1", {}),
    ("/service/export/json/BESTMON1", {}),
    ("/service/export/txt/bestmon1/", {}),
    ("/service/export/xml/bestmon1", {"HTTP_ACCEPT_ENCODING": "gzip, br"}),
    ("/service/export/xml/nobody", {}),
])
def test_same_answer_as_the_django_view(client, monitor, directions, path, headers):
    status, fast_headers, body = wsgi(path, **headers)
    view = client.get(path, **headers)
    assert status == view.status_code == 200
    assert body == view.content and body
    assert {h: fast_headers.get(h) for h in SAME} == {h: view.headers.get(h) for h in SAME}
    assert fast_headers["Content-Length"] == str(len(body))
    # The view's Vary also names Accept-Language (the locale middleware); the body never varies
    # by it.
    varies = "Accept-Encoding" in view.headers.get("Vary", "")
    assert fast_headers.get("Vary") == ("Accept-Encoding" if varies else None)


def test_conditional_polls_get_304_without_a_body(client, monitor, directions):
    _status, headers, _body = wsgi("/service/export/xml/bestmon1")
    status, again, body = wsgi("/service/export/xml/bestmon1", HTTP_IF_NONE_MATCH=headers["ETag"])
    assert (status, body) == (304, b"")
    assert again["ETag"] == headers["ETag"] and "Content-Type" not in again
    status, _h, body = wsgi("/service/export/xml/bestmon1",
                            HTTP_IF_MODIFIED_SINCE=headers["Last-Modified"])
    assert (status, body) == (304, b"")


def test_head_has_headers_and_no_body(monitor, directions):
    status, headers, body = wsgi("/service/export/xml/bestmon1", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 100


def test_a_cached_poll_costs_no_query_and_is_counted(monitor, directions,
                                                    django_assert_num_queries):
    from obmin.monitoring import polls

    wsgi("/service/export/xml/bestmon1")  # builds the snapshot
    before = sum(polls._counts.values())
    with django_assert_num_queries(0):
        status, _h, _b = wsgi("/service/export/xml/bestmon1")
    assert status == 200
    # Counted in this process (pushed to the cache every few seconds, unless just pushed).
    assert sum(polls._counts.values()) in (before + 1, 0)


def test_other_methods_and_paths_go_to_django(monitor, directions):
    status, _h, _b = wsgi("/service/export/xml/bestmon1", method="POST")
    assert status == 405
    status, _h, body = wsgi("/health/live")
    assert (status, body) == (200, b"ok")

"""API keys never reach the logs, whatever the request looks like."""

from __future__ import annotations

import io
import logging

import pytest

from obmin.partner_api.tests.conftest import URL


@pytest.fixture
def log_output():
    """What the project's configured console handler writes, at every level."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if "scrub_secrets" in str(
        [getattr(f, "name", f) for f in h.filters]) or any(
        f.__class__.__name__ == "ScrubSecretsFilter" for f in h.filters))
    stream = io.StringIO()
    old_stream, old_level = handler.setStream(stream), root.level
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        handler.setStream(old_stream)
        root.setLevel(old_level)


def test_key_not_in_logs(client, alice_key, log_output):
    wrong = alice_key[:-4] + "abcd"
    client.get(URL, {"api_action": "pp", "api_key": alice_key, "method": "get_info"})
    client.get("/service/partner/nothing.php", {"api_key": alice_key})
    client.put(URL + f"?api_key={alice_key}")
    client.post(URL, {"api_action": "pp", "api_key": wrong, "method": "get_links"})
    client.get(URL, {"api_action": "pp", "method": "nope"},
               headers={"Authorization": f"Bearer {alice_key}"})
    # Whatever else logs a request, in whatever shape.
    logging.getLogger("django.request").warning("GET %s?api_key=%s", URL, alice_key)
    logging.getLogger("obmin").error("params %s", {"api_key": wrong, "method": "get_info"})
    logging.getLogger("obmin").info("Authorization: Bearer %s", alice_key)
    output = log_output.getvalue()
    assert "Not Found" in output and "Method Not Allowed" in output
    assert alice_key not in output and wrong not in output
    assert alice_key[9:20] not in output and "obm_live_****" in output

"""`obmin demo --bind HOST:PORT` makes SITE_URL the address a browser opens for it (the walk in
test_program_walk_browser.py shows every link naming it)."""

from __future__ import annotations

import pytest

from obmin.ops.management.commands.demo import demo_site_url


@pytest.mark.parametrize(("bind", "url"), [("127.0.0.1:18200", "http://127.0.0.1:18200"),
                                           ("0.0.0.0:8000", "http://127.0.0.1:8000"),
                                           ("localhost:9000", "http://localhost:9000")])
def test_demo_site_url(bind, url):
    assert demo_site_url(bind) == url

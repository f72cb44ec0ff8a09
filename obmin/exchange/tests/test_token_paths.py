"""An exchange's own pages answer only paths shaped like its token (`secrets.token_urlsafe`):
anything else, a NUL above all (PostgreSQL refuses it in a query: a 500 before), is not found
without asking the database."""

from __future__ import annotations

import pytest
from django.urls import Resolver404, resolve

from obmin.exchange.models import new_token

PATHS = ["/exchange/{token}/", "/exchange/{token}/status.json", "/exchange/{token}/paid/"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("token", ["a\x00b", "a b", "é", "a.b", "a%b"])
def test_only_token_shaped_paths_resolve(path, token):
    with pytest.raises(Resolver404):
        resolve(path.format(token=token))
    assert resolve(path.format(token=new_token())).kwargs["token"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_a_nul_in_the_token_is_not_found(client, path):
    url = path.format(token="a%00b")
    response = client.post(url) if url.endswith("/paid/") else client.get(url)
    assert response.status_code == 404

"""The request as API v1's handlers receive it."""

from __future__ import annotations

from obmin.partner_api.decorators import ApiRequest


class V1Request(ApiRequest):
    """api.php's ApiRequest (client_ip, api_key, partner, api_params) and the caller's
    `API-LANG` (`en_US` when it sent none)."""

    locale: str

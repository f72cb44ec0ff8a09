"""Python client for the Obmin / ObminMe partner API (`/service/partner/api.php`).

    from obmin_client import PartnerClient
    client = PartnerClient("https://exchanger.example", api_key="obm_live_...")
    info = client.get_info()
    for exchange in client.get_exchanges(start_time=1700000000).values(): ...

The key travels in an `Authorization: Bearer` header, never in the URL.
"""

from __future__ import annotations

from obmin_client.client import ObminAPIError, PartnerClient, RateLimited

__all__ = ["ObminAPIError", "PartnerClient", "RateLimited"]

"""The HTTP client (httpx) for the partner API's methods and error envelope."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx

API_PATH = "/service/partner/api.php"


class ObminAPIError(Exception):
    """The API answered with `status: "error"`; `code` is the envelope's `error` number."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"error {code}: {text}")
        self.code = code
        self.text = text


class RateLimited(ObminAPIError):
    def __init__(self, text: str, retry_after: float) -> None:
        super().__init__(5, text)
        self.retry_after = retry_after


class PartnerClient:
    """One partner's access to the API. Numbers come back as Decimal, never float."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0,
                 retries_on_rate_limit: int = 2,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries_on_rate_limit = retries_on_rate_limit
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {api_key}",
                                           "User-Agent": "obmin-client/0.1"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PartnerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, **params: Any) -> Any:
        """Calls `method` and returns the envelope's `data`, or raises ObminAPIError."""
        query = {"api_action": "pp", "method": method}
        query.update({k: str(v) for k, v in params.items() if v is not None})
        for attempt in range(self.retries_on_rate_limit + 1):
            response = self._http.post(API_PATH, data=query)
            if response.status_code == 429:
                wait = float(response.headers.get("Retry-After", "1"))
                if attempt < self.retries_on_rate_limit:
                    time.sleep(wait)
                    continue
                raise RateLimited(_envelope(response).get("error_text", "rate limited"), wait)
            response.raise_for_status()
            envelope = _envelope(response)
            if envelope.get("status") != "success":
                raise ObminAPIError(int(envelope.get("error", -1)),
                                    str(envelope.get("error_text", "")))
            return envelope["data"]
        raise AssertionError("unreachable")

    def get_info(self) -> dict[str, Any]:
        return self.call("get_info")

    def get_exchanges(self, start_time: int | None = None,
                      end_time: int | None = None) -> dict[str, dict[str, Any]]:
        return self.call("get_exchanges", start_time=start_time, end_time=end_time)["items"]

    def get_links(self, start_time: int | None = None, end_time: int | None = None,
                  ip: str | None = None) -> dict[str, dict[str, Any]]:
        return self.call("get_links", start_time=start_time, end_time=end_time, ip=ip)["items"]

    def get_payouts(self, start_time: int | None = None,
                    end_time: int | None = None) -> dict[str, dict[str, Any]]:
        return self.call("get_payouts", start_time=start_time, end_time=end_time)["items"]

    def add_payout(self, method_id: int, account: str) -> int:
        return int(self.call("add_payout", method_id=method_id, account=account)["payout_id"])


def _envelope(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise ObminAPIError(-1, f"not JSON (HTTP {response.status_code})") from None
    if not isinstance(data, dict):
        raise ObminAPIError(-1, "not an API envelope")
    return data

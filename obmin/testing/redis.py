"""Where the test suite's Redis is: `OBMIN_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`),
so the tests run against any Redis, not only one on the default port. Tests that need Redis are
skipped when none answers there."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

TEST_REDIS = os.environ.get("OBMIN_TEST_REDIS_URL", "").strip() or "redis://127.0.0.1:6379"


def redis_test_url(db: int = 0) -> str:
    """The test Redis's database `db` (a URL with a database of its own is replaced)."""
    parts = urlsplit(TEST_REDIS)
    return f"{parts.scheme}://{parts.netloc}/{db}"


def redis_test_answers(timeout: float = 0.5) -> bool:
    """Whether something listens at the test Redis's address."""
    parts = urlsplit(TEST_REDIS)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379),
                                      timeout=timeout):
            return True
    except OSError:
        return False

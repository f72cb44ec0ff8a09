"""The SDK is tested against the real server, with the project's personas and fixtures."""

from obmin.conftest import *  # noqa: F403

# `import *` leaves out underscored names, and these run for every test: without them the
# client's tests shared the real data directory's file cache between tests and runs (a
# partner's code cached with another test's partner id).
from obmin.conftest import (  # noqa: F401
    _fast_password_hashing,
    _isolated_cache,
    _tasks_run_at_once,
)

"""The SDK is tested against the real server, with the project's personas and fixtures."""

from obmin.conftest import *  # noqa: F403

"""What a click's User-Agent says: the browser (family and major version) and whether it is a
crawler. Both parsers are regex-heavy and the same strings come back all day, so results are
memoised per process.
"""

from __future__ import annotations

from functools import lru_cache

from crawlerdetect import CrawlerDetect
from ua_parser import parse_user_agent

# Real browsers' User-Agents are well under this; parsing a 100 kB header costs regex time.
MAX_PARSED = 512
UNKNOWN_BROWSER = "Unknown"

_detector = CrawlerDetect()


@lru_cache(maxsize=4096)
def browser_of(user_agent: str) -> str:
    """`Chrome 120`, `Firefox 121`, `Mobile Safari 17`, or `Unknown`."""
    parsed = parse_user_agent(user_agent[:MAX_PARSED]) if user_agent else None
    if parsed is None or not parsed.family or parsed.family == "Other":
        return UNKNOWN_BROWSER
    name = f"{parsed.family} {parsed.major}" if parsed.major else parsed.family
    return name[:64]


@lru_cache(maxsize=4096)
def is_crawler(user_agent: str) -> bool:
    """True for search engines, link previewers, monitoring robots and HTTP libraries.

    An empty User-Agent counts as a robot too: every browser sends one.
    """
    agent = user_agent[:MAX_PARSED].strip()
    if not agent:
        return True
    return _detector.is_crawler(agent)

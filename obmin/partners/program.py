"""The operator's referral-program settings, cached for the /ref/ hot path.

Every worker process reads them from the shared cache (and keeps them a few seconds in its own
memo); saving them in the admin drops both, so a change applies at once in the process that
saved and within `MEMO_SECONDS` in the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from obmin.lib.memo import Memo
from obmin.partners.models import ReferralSettings

CACHE_KEY = "partners:program:v1"
CACHE_SECONDS = 3600
MEMO_SECONDS = 5
_memo = Memo(MEMO_SECONDS)


@dataclass(frozen=True)
class ProgramSettings:
    cookie_days: int = 365
    mask_ips: bool = True
    trust_forwarded_for: bool = False
    archive_after_days: int = 0

    @property
    def cookie_seconds(self) -> int:
        return self.cookie_days * 86400


def program_settings() -> ProgramSettings:
    return _memo.through_cache(CACHE_KEY, _read_settings, cache_seconds=CACHE_SECONDS,
                               kind=ProgramSettings)


def _read_settings() -> ProgramSettings:
    row = ReferralSettings.objects.filter(pk=1).first()
    if row is None:
        return ProgramSettings()
    return ProgramSettings(cookie_days=row.cookie_days, mask_ips=row.mask_ips,
                           trust_forwarded_for=row.trust_forwarded_for,
                           archive_after_days=row.archive_after_days)


def forget_program_settings(**kwargs: object) -> None:
    """Receiver of ReferralSettings' post_save/post_delete."""
    def forget() -> None:
        cache.delete(CACHE_KEY)
        _memo.clear()

    forget()
    # Again after commit: a click in between could have cached the row being replaced.
    transaction.on_commit(forget)

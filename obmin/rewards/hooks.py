"""Where higher rooms attach to the partner ledger, each in its own `AppConfig.ready`.

- `ledger_entry_posted` (postbacks: reward.credited, reward.reversed, payout.paid) is sent by
  `services._post` for every entry it inserts, inside the transaction that moves the money, so
  a receiver commits or rolls back with it. kwargs: entry (a `LedgerEntry`; its `exchange` or
  `payout` is the object the service holds).
"""

from __future__ import annotations

from django.dispatch import Signal

ledger_entry_posted = Signal()

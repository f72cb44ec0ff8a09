"""Hooks other rooms attach to.

`exchange_status_changed` is sent inside the status change's transaction, with the exchange row
locked, so a receiver (reward accrual) commits or rolls back together with the change.
`rates_changed` is sent after rates, reserves or directions change (the export rebuilds).
"""

from django.dispatch import Signal

# kwargs: exchange, previous_status, status, actor
exchange_status_changed = Signal()
# kwargs: none
rates_changed = Signal()

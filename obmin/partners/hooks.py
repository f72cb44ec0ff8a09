"""Where higher rooms attach to the click writer, each in its own `AppConfig.ready`.

- `clicks_stored` (postbacks: the `click` event) is sent after clicks are stored: by the
  worker's writer (`ingest.clicks_write`, inside its transaction) and by the direct INSERT of a
  click when there is no stream. kwargs: clicks (the new clicks: `Click` rows or the writer's
  `ClickData`, both with `partner_id`, `uid`, `created_at`, `user_hash` and the sub-IDs). A
  receiver must be cheap: it runs for every click.
"""

from __future__ import annotations

from django.dispatch import Signal

clicks_stored = Signal()

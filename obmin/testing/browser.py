"""What the browser tests share: user agents a visitor's browser sends, a desktop page, a
signed-in session, and screenshots kept where a reviewer can look at what a run saw
(`test-artifacts/screenshots/`, or `$OBMIN_SCREENSHOTS`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Headless Chromium says "HeadlessChrome", which the crawler check rightly refuses a cookie:
# a visitor's context sends an ordinary Chrome's user agent.
DESKTOP_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36")
SCREENSHOTS = Path(os.environ.get("OBMIN_SCREENSHOTS")
                   or Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots")


def session_cookie(base_url: str, user: Any) -> dict[str, str]:
    """A browser cookie of a session signed in as `user` (made by Django's test client), for a
    test whose subject is not the login form."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME,
            "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": base_url}


def desktop_page(browser: Any, **options: Any) -> Any:
    """A page in a new browser context at 1280 x 900 with an ordinary Chrome's user agent and
    a 15 s timeout; `options` go to `browser.new_context` (base_url, timezone_id...). Close it
    with `page.context.close()`."""
    page = browser.new_context(**{"viewport": {"width": 1280, "height": 900},
                                  "user_agent": DESKTOP_UA, **options}).new_page()
    page.set_default_timeout(15_000)
    return page


def shoot(page: Any, name: str) -> Path:
    """The whole page as `<name>-<viewport width>.png` in SCREENSHOTS."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{page.viewport_size['width']}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Every word of every visible table cell in <main>, outside `code` and `.wrap` (addresses and
# keys, which break anywhere on purpose): one broken over two lines, or sticking out of its
# cell, means the cell is narrower than its longest word ("p e n d i n g").
_BROKEN_WORDS = """() => {
  const found = [];
  for (const cell of document.querySelectorAll("main td, main th")) {
    if (!cell.getClientRects().length) continue;
    const box = cell.getBoundingClientRect();
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.parentElement.closest("code, .wrap, .visually-hidden")) continue;
      const re = /\\S+/g;
      let m;
      while ((m = re.exec(node.textContent)) !== null) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
        const tops = new Set(rects.map(r => Math.round(r.top)));
        const right = Math.max(...rects.map(r => r.right));
        if (tops.size > 1 || right > box.right + 1) {
          found.push(m[0] + " in " + (cell.closest("table").id || "a table"));
        }
      }
    }
  }
  return found.slice(0, 10);
}"""


def broken_words(page: Any) -> list[str]:
    """Words of table cells on the page that do not fit their cell whole (see above)."""
    return page.evaluate(_BROKEN_WORDS)

"""Demo clicks for the demo partners: a month of plausible traffic, some of it robots.

A step of `obmin.ops.demo.DEMO_STEPS`. Idempotent: the clicks are
made from a fixed seed, and a partner that already has clicks is left alone.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from obmin.lib.ipmask import mask_ip
from obmin.partners.models import Click, Partner
from obmin.partners.useragent import browser_of, is_crawler

DEMO_CODES = ("alice001", "bob00002")
CLICKS_PER_PARTNER = {"alice001": 260, "bob00002": 140}

USER_AGENTS = [
    # weight, User-Agent
    (30, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Safari/537.36"),
    (18, "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/121.0.6167.101 Mobile Safari/537.36"),
    (14, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"),
    (8, "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"),
    (7, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"),
    (5, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.1 Safari/605.1.15"),
    (4, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/119.0.0.0 YaBrowser/24.1.0.0 Safari/537.36"),
    (3, "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36 OPR/79.0.4195.76556"),
    (4, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    (3, "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)"),
    (2, "TelegramBot (like TwitterBot)"),
    (2, "python-requests/2.31.0"),
]
REFERRERS = ["https://www.bestchange.ru/", "https://www.bestchange.com/",
             "https://exchangesumo.com/", "https://kurs.expert/", "https://t.me/", "", "",
             "https://www.google.com/"]
DIRECTIONS = [("PMUSD", "BTC"), ("PMUSD", "USDTTRC20"), ("USDTTRC20", "P24UAH"),
              ("BTC", "USDTTRC20"), ("ETH", "USDTTRC20"), ("USDTTRC20", "MONOBUAH")]


def load_clicks() -> None:
    rng = random.Random(3)  # the same demo every time
    now = timezone.now()
    weights = [weight for weight, _ua in USER_AGENTS]
    for code in DEMO_CODES:
        partner = Partner.objects.filter(ref_code=code).first()
        if partner is None or partner.clicks.exists() or partner.click_days.exists():
            continue
        visitors = [f"{rng.getrandbits(64):016x}" for _ in range(CLICKS_PER_PARTNER[code] // 3)]
        clicks = []
        for _n in range(CLICKS_PER_PARTNER[code]):
            created = now - timedelta(days=30) + timedelta(seconds=rng.randint(0, 30 * 86400))
            user_agent = rng.choices([ua for _w, ua in USER_AGENTS], weights)[0]
            bot = is_crawler(user_agent)
            visitor = "" if bot else rng.choice(visitors)
            cur_from, cur_to = rng.choice(DIRECTIONS)
            ip = f"{rng.choice([31, 46, 77, 91, 176, 185, 193])}.{rng.randint(0, 255)}." \
                 f"{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            clicks.append(Click(
                partner=partner, created_at=created, browser=browser_of(user_agent),
                ip=mask_ip(ip), referrer=rng.choice(REFERRERS), user_hash=visitor,
                query_string=f"cur_from={cur_from}&cur_to={cur_to}", user_agent=user_agent,
                is_bot=bot))
        # Uniqueness is decided in time order, as the redirect decides it.
        clicks.sort(key=lambda click: click.created_at)
        seen: set[tuple[str, object]] = set()
        for click in clicks:
            key = (click.user_hash, click.created_at.date())
            click.is_unique = not click.is_bot and key not in seen
            seen.add(key)
        Click.objects.bulk_create(clicks)

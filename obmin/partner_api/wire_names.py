"""Records in, api.php's items and data out, with the original API's field names and types.

The wire names `course_give`, `course_get`, `comission` and `totalReceived` (and the rest of the
original's spelling) are kept for compatibility with partners' existing scripts; they appear
only in this module. Inside, the code says rate, commission, total paid.
"""

from __future__ import annotations

from typing import Any

from obmin.exchange.models import ExchangeStatus
from obmin.lib.money import plain
from obmin.partner_api.envelope import number, string, time_fields
from obmin.partner_api.records import ClickRow, ExchangeRow, Info, PayoutRow

SUCCESS = ExchangeStatus.SUCCESS.value


def info_data(info: Info) -> dict[str, Any]:
    return {
        "balance": info.balance,
        "balance_pending": info.pending,
        "totalReceived": info.total_paid,
        "link": info.link,
        "min_payout": info.min_payout,
        "items": {
            str(m.id): {"id": m.id, "title": m.title,
                        "comission": f"{plain(m.commission_percent)}%", "amount": m.amount}
            for m in info.methods
        },
    }


# The item writers run once per streamed item, up to a million times an answer: one f-string
# each, no intermediate dict.

# The writers unpack rows in their fields' order: a field added or moved must be written here.
assert ClickRow._fields == ("id", "created", "browser", "ip", "referrer", "user_hash",
                            "query_string", "sub1", "sub2", "sub3", "sub4", "sub5", "country")
assert ExchangeRow._fields == (
    "id", "created", "rate_give", "rate_get", "amount_give", "amount_get", "status",
    "reward_accrued", "partner_reward", "user_hash", "currency_give_code", "currency_get_code",
    "history", "sub1", "sub2", "sub3", "sub4", "sub5", "country", "updated", "user_ip")
# sub1..sub5 and country when an item has none of them, as most have.
_NO_SOURCE = "".join(f',"{name}":""' for name in ("sub1", "sub2", "sub3", "sub4", "sub5",
                                                   "country"))


def _source(sub1: str, sub2: str, sub3: str, sub4: str, sub5: str, country: str) -> str:
    if not (sub1 or sub2 or sub3 or sub4 or sub5 or country):
        return _NO_SOURCE
    return (f',"sub1":{string(sub1)},"sub2":{string(sub2)},"sub3":{string(sub3)},'
            f'"sub4":{string(sub4)},"sub5":{string(sub5)},"country":{string(country)}')


def click_item(click: ClickRow) -> str:
    # One unpacking by name rather than an attribute look-up per field: half the writer's
    # own cost, on a path that runs a million times an answer.
    (id_, created, browser, ip, referrer, user_hash, query_string,
     sub1, sub2, sub3, sub4, sub5, country) = click
    return (
        f'"{id_}":{{"id":{id_},{time_fields(created)},'
        f'"browser":{string(browser)},"ip":{string(ip)},'
        f'"referrer":{string(referrer)},"user_hash":{string(user_hash)},'
        f'"query_string":{string(query_string)}'
        f'{_source(sub1, sub2, sub3, sub4, sub5, country)}}}'
    )


def exchange_item(exchange: ExchangeRow) -> str:
    # Unpacked once by name, as click_item.
    (id_, created, rate_give, rate_get, amount_give, amount_get, status, accrued, reward,
     user_hash, give_code, get_code, history, sub1, sub2, sub3, sub4, sub5, country,
     updated, _user_ip) = exchange
    statuses = ",".join(f'{{{time_fields(moment)},"status":{string(change)}}}'
                        for moment, change in history)
    return (
        f'"{id_}":{{"id":{id_},{time_fields(created)},'
        f'"course_give":{number(rate_give)},"course_get":{number(rate_get)},'
        f'"amount_give":{number(amount_give)},"amount_get":{number(amount_get)},'
        f'"exchange_success":{1 if status == SUCCESS else 0},'
        f'"accrued":{1 if accrued else 0},"partner_reward":{number(reward)},'
        f'"user_hash":{string(user_hash)},'
        f'"currency_code_give":{string(give_code)},"currency_code_get":{string(get_code)},'
        f'"status":{string(status)},"statuses":[{statuses}]'
        f'{_source(sub1, sub2, sub3, sub4, sub5, country)},"updated_time":{int(updated)}}}'
    )


def payout_item(payout: PayoutRow) -> str:
    return (
        f'"{payout.id}":{{"id":{payout.id},{time_fields(payout.created)},'
        f'"method_id":{payout.method_id},"account":{string(payout.account)},'
        f'"pay_amount":{number(payout.amount)},'
        f'"pay_currency_code":{string(payout.currency_code)},'
        f'"original_amount":{number(payout.original_amount)},'
        f'"original_currency_code":{string(payout.original_currency_code)},'
        f'"status":{int(payout.status)}}}'
    )


def add_payout_data(payout_id: int) -> dict[str, Any]:
    return {"payout_id": payout_id}

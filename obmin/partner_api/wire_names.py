"""Records in, api.php's items and data out, with the original API's field names and types.

The wire names `course_give`, `course_get`, `comission` and `totalReceived` (and the rest of the
original's spelling) are kept for compatibility with partners' existing scripts; they appear
only in this module. Inside, the code says rate, commission, total paid.
"""

from __future__ import annotations

from operator import itemgetter
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

# sub1..sub5 and country, in this order in both row types; most items have none of them.
_SOURCE_NAMES = ("sub1", "sub2", "sub3", "sub4", "sub5", "country")
_CLICK_SOURCE = slice(ClickRow._fields.index("sub1"), ClickRow._fields.index("country") + 1)
_EXCHANGE_SOURCE = slice(ExchangeRow._fields.index("sub1"),
                         ExchangeRow._fields.index("country") + 1)
assert ClickRow._fields[_CLICK_SOURCE] == ExchangeRow._fields[_EXCHANGE_SOURCE] == _SOURCE_NAMES
# The six values as one tuple, in C.
_click_source = itemgetter(_CLICK_SOURCE)
_exchange_source = itemgetter(_EXCHANGE_SOURCE)
_NO_SOURCE_VALUES = ("",) * len(_SOURCE_NAMES)
_NO_SOURCE = "".join(f',"{name}":""' for name in _SOURCE_NAMES)


def _source(values: tuple[str, str, str, str, str, str]) -> str:
    if values == _NO_SOURCE_VALUES:
        return _NO_SOURCE
    sub1, sub2, sub3, sub4, sub5, country = values
    return (f',"sub1":{string(sub1)},"sub2":{string(sub2)},"sub3":{string(sub3)},'
            f'"sub4":{string(sub4)},"sub5":{string(sub5)},"country":{string(country)}')



def click_item(click: ClickRow) -> str:
    return (
        f'"{click.id}":{{"id":{click.id},{time_fields(click.created)},'
        f'"browser":{string(click.browser)},"ip":{string(click.ip)},'
        f'"referrer":{string(click.referrer)},"user_hash":{string(click.user_hash)},'
        f'"query_string":{string(click.query_string)}{_source(_click_source(click))}}}'
    )


def exchange_item(exchange: ExchangeRow) -> str:
    statuses = ",".join(f'{{{time_fields(moment)},"status":{string(status)}}}'
                        for moment, status in exchange.history)
    return (
        f'"{exchange.id}":{{"id":{exchange.id},{time_fields(exchange.created)},'
        f'"course_give":{number(exchange.rate_give)},"course_get":{number(exchange.rate_get)},'
        f'"amount_give":{number(exchange.amount_give)},'
        f'"amount_get":{number(exchange.amount_get)},'
        f'"exchange_success":{1 if exchange.status == SUCCESS else 0},'
        f'"accrued":{1 if exchange.reward_accrued else 0},'
        f'"partner_reward":{number(exchange.partner_reward)},'
        f'"user_hash":{string(exchange.user_hash)},'
        f'"currency_code_give":{string(exchange.currency_give_code)},'
        f'"currency_code_get":{string(exchange.currency_get_code)},'
        f'"status":{string(exchange.status)},"statuses":[{statuses}]'
        f'{_source(_exchange_source(exchange))},"updated_time":{int(exchange.updated)}}}'
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

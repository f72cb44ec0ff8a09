"""The wire skin of api.php: internal records in, the original's field names and types out.

The wire names `course_give`, `course_get`, `comission` and `totalReceived` (and the rest of the
original's spelling) are kept for compatibility with partners' existing scripts; they appear
only in this module. Inside, the code says rate, commission, total paid.
"""

from __future__ import annotations

from typing import Any

from obmin.exchange.models import ExchangeStatus
from obmin.lib.money import plain
from obmin.partner_api.sources import ClickRow, ExchangeRow, Info, PayoutRow
from obmin.partner_api.wire import number, string, time_fields

SUCCESS = ExchangeStatus.SUCCESS.value


def info_data(info: Info) -> dict[str, Any]:
    return {
        "balance": info.balance,
        "totalReceived": info.total_paid,
        "link": info.link,
        "min_payout": info.min_payout,
        "items": {
            str(m.id): {"id": m.id, "title": m.title,
                        "comission": f"{plain(m.commission_percent)}%", "amount": m.amount}
            for m in info.methods
        },
    }


def click_item(row: ClickRow) -> str:
    id_, created_at, browser, ip, referrer, user_hash, query_string = row
    return (
        f'"{id_}":{{"id":{id_},{time_fields(created_at)},"browser":{string(browser)},'
        f'"ip":{string(ip)},"referrer":{string(referrer)},"user_hash":{string(user_hash)},'
        f'"query_string":{string(query_string)}}}'
    )


def exchange_item(row: ExchangeRow) -> str:
    (id_, created_at, rate_give, rate_get, amount_give, amount_get, status, accrued, reward,
     user_hash, code_give, code_get, history) = row
    statuses = ",".join(
        f'{{{time_fields(moment)},"status":{string(change)}}}' for moment, change in history)
    return (
        f'"{id_}":{{"id":{id_},{time_fields(created_at)},'
        f'"course_give":{number(rate_give)},"course_get":{number(rate_get)},'
        f'"amount_give":{number(amount_give)},"amount_get":{number(amount_get)},'
        f'"exchange_success":{1 if status == SUCCESS else 0},"accrued":{1 if accrued else 0},'
        f'"partner_reward":{number(reward)},"user_hash":{string(user_hash)},'
        f'"currency_code_give":{string(code_give)},"currency_code_get":{string(code_get)},'
        f'"status":{string(status)},"statuses":[{statuses}]}}'
    )


def payout_item(row: PayoutRow) -> str:
    (id_, created_at, method_id, account, amount, currency_code, original_amount,
     original_currency_code, status) = row
    return (
        f'"{id_}":{{"id":{id_},{time_fields(created_at)},"method_id":{method_id},'
        f'"account":{string(account)},"pay_amount":{number(amount)},'
        f'"pay_currency_code":{string(currency_code)},'
        f'"original_amount":{number(original_amount)},'
        f'"original_currency_code":{string(original_currency_code)},"status":{int(status)}}}'
    )


def add_payout_data(payout_id: int) -> dict[str, Any]:
    return {"payout_id": payout_id}

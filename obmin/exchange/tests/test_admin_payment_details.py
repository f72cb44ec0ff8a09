"""carol's currency and direction pages: the address customers are told to pay to, its memo and
the payment instructions are refused with the reason when they hold an invisible or
text-direction character (a zero-width space pasted with an address would tell every customer
a wrong one), or, in the address and memo, a letter of another script among Latin ones."""

from __future__ import annotations

import pytest

from obmin.exchange.models import Currency, Direction

pytestmark = pytest.mark.django_db
ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


@pytest.fixture
def operator(client, carol):
    client.force_login(carol)
    return client


def change_data(client, url: str) -> dict[str, object]:
    """The change form as the page shows it, to post back with some fields changed."""
    context = client.get(url).context
    forms = [context["adminform"].form]
    for inline in context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data: dict[str, object] = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value is not None and value is not False:
                data[form.add_prefix(name)] = value
    return data


def url_of(obj) -> str:
    return f"/admin/exchange/{obj._meta.model_name}/{obj.pk}/change/"


@pytest.mark.parametrize(("field", "value", "named"), [
    ("pay_to", ADDRESS[:8] + "\u200b" + ADDRESS[8:], "U+200B"),
    ("pay_to", "\u202e" + ADDRESS, "U+202E"),
    ("pay_to", ADDRESS.replace("a", "\u0430", 1), "U+0430"),
    ("pay_memo", "12\u200d345", "U+200D"),
    ("pay_instructions", "Pay to the card\n4111\u200b 1111 1111 1111", "U+200B"),
    ("pay_instructions", "Pay to the card\u20284111 1111 1111 1111", "U+2028"),
    ("pay_instructions_uk", "Оплатіть на картку\r\n4111 1111\u2066 1111 1111", "U+2066"),
])
@pytest.mark.parametrize("model", ["currency", "direction"])
def test_hidden_characters_in_payment_details_are_refused(operator, pm_btc, model, field,
                                                          value, named):
    obj = pm_btc.currency_give if model == "currency" else pm_btc
    data = change_data(operator, url_of(obj))
    response = operator.post(url_of(obj), {**data, field: value})
    assert response.status_code == 200, "not refused"
    errors = response.context["adminform"].form.errors
    assert named in " ".join(errors.get(field, [])), errors
    obj.refresh_from_db()
    assert getattr(obj, field) == ""


@pytest.mark.parametrize("model", ["currency", "direction"])
def test_payment_details_are_kept_trimmed_and_instructions_in_any_script(operator, pm_btc,
                                                                        model):
    obj = pm_btc.currency_give if model == "currency" else pm_btc
    data = change_data(operator, url_of(obj))
    response = operator.post(url_of(obj), {
        **data, "pay_to": f"\u00a0{ADDRESS}\u00a0", "pay_memo": " 12345 ",
        "pay_instructions": "Pay to the card\r\n\t4111 1111 1111 1111",
        "pay_instructions_uk": "Оплатіть на картку Monobank\r\n4111\u00a01111 1111 1111"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    model_class = Currency if model == "currency" else Direction
    kept = model_class.objects.get(pk=obj.pk)
    assert (kept.pay_to, kept.pay_memo) == (ADDRESS, "12345")
    assert kept.pay_instructions_uk.startswith("Оплатіть на картку Monobank")

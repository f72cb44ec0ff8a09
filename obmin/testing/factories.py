"""factory-boy factories shared by every room's tests and the benchmarks' data builders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from obmin.exchange.models import Currency, Direction
from obmin.partners.models import Partner, new_partner_code
from obmin.rewards.models import Payout, PayoutWallet
from obmin.rewards.services import payout_request

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.SelfAttribute("email")
    password = factory.django.Password(PASSWORD)


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    user = factory.SubFactory(UserFactory)
    ref_code = factory.LazyFunction(new_partner_code)
    export_code = factory.SelfAttribute("ref_code")


class CurrencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Currency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CUR{n}")
    title = factory.LazyAttribute(lambda o: f"Currency {o.code}")
    decimals = 2
    reserve = Decimal("100000")
    usd_price = Decimal("1")


class DirectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Direction

    currency_give = factory.SubFactory(CurrencyFactory)
    currency_get = factory.SubFactory(CurrencyFactory)
    rate_give = Decimal(1)
    rate_get = Decimal(1)
    min_amount = Decimal(10)
    max_amount = Decimal(5000)


def usable_wallet(partner: Partner, method_id: int, account: str) -> PayoutWallet:
    """The partner's saved payout wallet for the method, its cooling-off over: for tests and
    demos about something else than wallets (`rewards.services.wallet_save` is the real way)."""
    wallet, _created = PayoutWallet.objects.update_or_create(
        partner=partner, method_id=method_id, removed_at=None,
        defaults={"account": account.strip(), "usable_from": timezone.now() - timedelta(days=1)})
    return wallet


def payout_to(*, partner: Partner, method_id: int, account: str) -> Payout:
    """`payout_request` to `account`, saved first as the partner's usable wallet."""
    usable_wallet(partner, method_id, account)
    return payout_request(partner=partner, method_id=method_id, account=account)

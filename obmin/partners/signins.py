"""Partners' sign-ins: the network and device each came from, kept for the risk rules.

Recorded on Django's `user_logged_in` (connected in `PartnersConfig.ready`), whichever page
signed the partner in; staff without a partner account are not recorded.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from obmin.lib.ipmask import client_address_of, mask_ip
from obmin.lib.visitor import user_hash_of
from obmin.partners.models import Partner, PartnerSignIn


def partner_sign_in_record(*, partner_id: int, address: str, user_hash: str) -> PartnerSignIn:
    return PartnerSignIn.objects.create(partner_id=partner_id, network=mask_ip(address),
                                        user_hash=user_hash[:32])


def record_sign_in(sender: object, *, request: HttpRequest | None, user: Any,
                   **kwargs: object) -> None:
    """Receiver of `user_logged_in`."""
    if request is None:
        return
    partner_id = Partner.objects.filter(user_id=user.pk).values_list("pk", flat=True).first()
    if partner_id is not None:
        partner_sign_in_record(partner_id=partner_id, address=client_address_of(request),
                               user_hash=user_hash_of(request))

"""Partner accounts: creating them and keeping their codes unique across both kinds."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from obmin.partners.models import Partner, new_partner_code


class PartnerError(Exception):
    pass


def code_taken(code: str, *, exclude_partner_id: int | None = None) -> bool:
    """Referral and export codes share one namespace: a code names one partner only."""
    others = Partner.objects.filter(Q(ref_code__iexact=code) | Q(export_code__iexact=code))
    if exclude_partner_id is not None:
        others = others.exclude(pk=exclude_partner_id)
    return others.exists()


def unused_code() -> str:
    while True:
        code = new_partner_code()
        if not code_taken(code):
            return code


def partner_create(*, email: str, password: str | None, check_password: bool = True) -> Partner:
    """Creates the user (username = e-mail, lower-cased) and its partner account."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise PartnerError(_("%(email)s is not a valid e-mail address.") % {"email": email}) \
            from None
    User = get_user_model()
    if User.objects.filter(username__iexact=email).exists():
        raise PartnerError(_("A user with e-mail %(email)s exists already.") % {"email": email})
    if password and check_password:
        try:
            validate_password(password)
        except ValidationError as error:
            raise PartnerError(" ".join(error.messages)) from None
    with transaction.atomic():
        user = User.objects.create_user(username=email, email=email, password=password or None)
        code = unused_code()
        return Partner.objects.create(user=user, ref_code=code, export_code=code)

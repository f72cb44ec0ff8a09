"""The link builder: a referral link for a direction with the partner's sub-IDs, its QR code
(SVG, for print), and for monitors their rate export links."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import segno
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe

from obmin.cabinet.decorators import PartnerRequest, partner_required
from obmin.cabinet.forms import LinkBuilderForm
from obmin.exchange.selectors import DirectionTable, active_directions
from obmin.lib.site import public_url
from obmin.partners.models import Partner

EXPORT_FORMATS = ("xml", "json", "txt")


def build_link(partner: Partner, params: dict[str, str]) -> str:
    """The partner's referral link with the non-empty parameters, in the form's order."""
    query = urlencode([(name, value) for name, value in params.items() if value])
    return partner.referral_link + (f"?{query}" if query else "")


def _form(request: PartnerRequest) -> LinkBuilderForm:
    return LinkBuilderForm(request.GET or None, table=DirectionTable.of(active_directions()))


def _link(request: PartnerRequest, form: LinkBuilderForm) -> str:
    if not request.GET:
        return request.partner.referral_link
    if not form.is_valid():
        return ""
    names = ("cur_from", "cur_to", *LinkBuilderForm.SUBS)
    return build_link(request.partner, {name: form.cleaned_data[name].strip() for name in names})


def _qr(link: str, scale: int) -> str:
    return segno.make(link, error="m").svg_inline(scale=scale)


@partner_required
def link_builder(request: PartnerRequest) -> HttpResponse:
    form = _form(request)
    link = _link(request, form)
    partner = request.partner
    exports = ([public_url(f"/service/export/{kind}/{partner.export_code}")
                for kind in EXPORT_FORMATS]
               if partner.is_monitor and partner.export_enabled else [])
    return render(request, "cabinet/link_builder.html", {
        "partner": partner,
        "form": form,
        "link": link,
        # segno's SVG holds the code as path geometry only: no text of ours reaches it.
        "qr": mark_safe(_qr(link, 4)) if link else "",  # noqa: S308
        "qr_download": (reverse("cabinet:link_qr") + "?" + request.GET.urlencode()
                        if link else ""),
        "exports": exports,
    }, status=400 if form.errors else 200)


@partner_required
def link_qr(request: PartnerRequest) -> HttpResponse:
    """The QR code of the built link as an SVG file, large enough to print."""
    form = _form(request)
    link = _link(request, form)
    if not link:
        return HttpResponse(status=400)
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="svg", scale=10, border=4)
    response = HttpResponse(out.getvalue(), content_type="image/svg+xml")
    # The code is [A-Za-z0-9_-] only (code_validator): safe in a header.
    response["Content-Disposition"] = (
        f'attachment; filename="obmin-{request.partner.ref_code}.svg"')
    return response

"""The partner's Postbacks page: up to five URLs called on its events, the signing secret, a
test event, and the delivery log with resend. Every read and change starts from
`request.partner`, so a partner reaches only its own postbacks and deliveries."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from obmin.cabinet.decorators import PartnerRequest, partner_required
from obmin.lib.errors import add_refusal
from obmin.postbacks.models import DEFAULT_EVENTS, MAX_PER_PARTNER, Event, Method
from obmin.postbacks.payloads import MACROS
from obmin.postbacks.selectors import deliveries_of, postbacks_of
from obmin.postbacks.services import (
    PostbackError,
    delivery_resend,
    postback_create,
    postback_delete,
    postback_secret,
    postback_secret_rotate,
    postback_send_test,
    postback_update,
)

LOG_ROWS = 50


class PostbackForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("URL"), max_length=2000,
                          widget=forms.TextInput(attrs={
                              "placeholder": "https://tracker.example/postback?subid={sub1}"
                                             "&payout={reward}&status={status}",
                              "inputmode": "url", "autocomplete": "off"}))
    method = forms.ChoiceField(label=gettext_lazy("Method"), choices=Method.choices,
                               initial=Method.GET, widget=forms.RadioSelect)
    events = forms.MultipleChoiceField(label=gettext_lazy("Events"), choices=Event.choices,
                                       initial=DEFAULT_EVENTS,
                                       widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)


def _page(request: PartnerRequest, form: PostbackForm, *, editing: int | None = None,
          status: int = 200) -> HttpResponse:
    partner = request.partner
    postbacks = list(postbacks_of(partner))
    response = render(request, "cabinet/postbacks.html", {
        "form": form, "editing": editing, "postbacks": postbacks,
        "can_add": len(postbacks) < MAX_PER_PARTNER, "max_postbacks": MAX_PER_PARTNER,
        "secret": postback_secret(partner=partner),
        "deliveries": deliveries_of(partner)[:LOG_ROWS],
        "macros": ["{" + name + "}" for name in MACROS],
    }, status=status)
    response["Cache-Control"] = "no-store"  # the page shows the signing secret
    return response


@partner_required
def postbacks(request: PartnerRequest) -> HttpResponse:
    """The list, the form to add one, the secret and the delivery log."""
    form = PostbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            postback_create(partner=request.partner, url=form.cleaned_data["url"],
                            method=form.cleaned_data["method"],
                            events=form.cleaned_data["events"])
        except PostbackError as error:
            add_refusal(form, error)
        else:
            messages.success(request, _("Postback added."))
            return redirect("cabinet:postbacks")
    return _page(request, form, status=400 if form.errors else 200)


@partner_required
def postback_edit(request: PartnerRequest, postback_id: int) -> HttpResponse:
    postback = postbacks_of(request.partner).filter(pk=postback_id).first()
    if postback is None:
        messages.error(request, _("No such postback."))
        return redirect("cabinet:postbacks")
    form = PostbackForm(request.POST or None, initial={
        "url": postback.url, "method": postback.method, "events": postback.events,
        "is_active": postback.is_active})
    if request.method == "POST" and form.is_valid():
        try:
            postback_update(partner=request.partner, postback_id=postback.pk,
                            url=form.cleaned_data["url"], method=form.cleaned_data["method"],
                            events=form.cleaned_data["events"],
                            is_active=form.cleaned_data["is_active"])
        except PostbackError as error:
            add_refusal(form, error)
        else:
            messages.success(request, _("Postback saved."))
            return redirect("cabinet:postbacks")
    return _page(request, form, editing=postback.pk, status=400 if form.errors else 200)


def _act(request: PartnerRequest, done: str, action: Callable[[], object]) -> HttpResponse:
    try:
        action()
    except PostbackError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("cabinet:postbacks")


@require_POST
@partner_required
def postback_remove(request: PartnerRequest, postback_id: int) -> HttpResponse:
    return _act(request, _("Postback deleted."),
                lambda: postback_delete(partner=request.partner, postback_id=postback_id))


@require_POST
@partner_required
def postback_test(request: PartnerRequest, postback_id: int) -> HttpResponse:
    return _act(request, _("Test event queued: it is sent within seconds; see the delivery "
                           "log below."),
                lambda: postback_send_test(partner=request.partner, postback_id=postback_id))


@require_POST
@partner_required
def postback_resend(request: PartnerRequest, delivery_id: int) -> HttpResponse:
    return _act(request, _("Delivery queued again."),
                lambda: delivery_resend(partner=request.partner, delivery_id=delivery_id))


@require_POST
@partner_required
def postback_secret_new(request: PartnerRequest) -> HttpResponse:
    return _act(request, _("New signing secret made: deliveries are signed with it from now "
                           "on."), lambda: postback_secret_rotate(partner=request.partner))

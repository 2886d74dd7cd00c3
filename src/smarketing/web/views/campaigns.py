"""Campaigns: everyone sees the list; marketing roles create and edit them."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from smarketing.core.choices import Capability
from smarketing.crm.actions import do_create_campaign, do_update_campaign
from smarketing.crm.models import Campaign
from smarketing.web.forms import CampaignForm
from smarketing.web.rendering import done, form_page, page, render_page
from smarketing.web.views.contacts import web_actor


@page()
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.annotate(contact_count=Count("first_contacts")).order_by(
        "-starts_on", "name"
    )
    return render_page(request, "web/campaigns/list.html", {"campaigns": campaigns})


def campaign_form_view(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    form = CampaignForm(request.POST or None, campaign=campaign)

    def save() -> HttpResponse:
        if campaign is None:
            saved = do_create_campaign(form.cleaned_data, actor=web_actor(request))
            message = _("Campaign %(name)s created.")
        else:
            saved = do_update_campaign(campaign, form.cleaned_data, actor=web_actor(request))
            message = _("Campaign %(name)s saved.")
        messages.success(request, message % {"name": saved.name})
        return done(request, reverse("web:campaigns"))

    return form_page(
        request,
        form,
        save,
        "web/campaigns/form.html",
        partial="web/campaigns/_form.html",
        context={"campaign": campaign},
    )


@page(Capability.MANAGE_CAMPAIGNS)
def campaign_create(request: HttpRequest) -> HttpResponse:
    return campaign_form_view(request, None)


@page(Capability.MANAGE_CAMPAIGNS)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return campaign_form_view(request, get_object_or_404(Campaign, pk=pk))

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
from smarketing.web.rendering import done, page, problems_on, render_page
from smarketing.web.views.contacts import web_actor


@page()
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.annotate(contact_count=Count("first_contacts")).order_by(
        "-starts_on", "name"
    )
    return render_page(request, "web/campaigns/list.html", {"campaigns": campaigns})


def campaign_form_view(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    form = CampaignForm(request.POST or None, campaign=campaign)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            with problems_on(form) as outcome:
                if campaign is None:
                    campaign = do_create_campaign(form.cleaned_data, actor=web_actor(request))
                    message = _("Campaign %(name)s created.")
                else:
                    campaign = do_update_campaign(
                        campaign, form.cleaned_data, actor=web_actor(request)
                    )
                    message = _("Campaign %(name)s saved.")
            if outcome.failed:
                status = outcome.status
            else:
                messages.success(request, message % {"name": campaign.name})
                return done(request, reverse("web:campaigns"))
    return render_page(
        request,
        "web/campaigns/form.html",
        {"form": form, "campaign": campaign},
        partial="web/campaigns/_form.html",
        status=status,
    )


@page(Capability.MANAGE_CAMPAIGNS)
def campaign_create(request: HttpRequest) -> HttpResponse:
    return campaign_form_view(request, None)


@page(Capability.MANAGE_CAMPAIGNS)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return campaign_form_view(request, get_object_or_404(Campaign, pk=pk))

"""Deals: the pipeline list, the deal page (move, close won/lost) and editing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import push_url

from smarketing.core.choices import Capability
from smarketing.crm.actions import do_close_deal, do_move_deal, do_update_deal
from smarketing.crm.choices import DealStage, ObjectType
from smarketing.crm.models import Deal, PropertyDefinition
from smarketing.web.forms import DealCloseForm, DealEditForm, DealFilterForm, DealMoveForm
from smarketing.web.rendering import done, form_page, page, problems_on, render_page
from smarketing.web.views.contacts import web_actor

DEALS_PER_PAGE = 25


@page()
def deal_list(request: HttpRequest) -> HttpResponse:
    form = DealFilterForm(request.GET)
    form.is_valid()
    deals = Deal.objects.select_related("owner", "company").order_by("-created_at", "-id")
    stage, owner, text = (form.cleaned_data.get(k, "") for k in ("stage", "owner", "q"))
    if stage == "open":
        deals = deals.open()
    elif stage in DealStage.values:
        deals = deals.filter(stage=stage)
    elif stage:
        form.add_error("stage", _("Choose one from the list."))
    if owner == "none":
        deals = deals.filter(owner__isnull=True)
    elif owner.isdigit():
        deals = deals.filter(owner_id=int(owner))
    elif owner:
        form.add_error("owner", _("Choose one from the list."))
    if text:
        deals = deals.filter(Q(name__icontains=text) | Q(company__name__icontains=text))
    if form.errors:
        deals = deals.none()
    deal_page = Paginator(deals, DEALS_PER_PAGE).get_page(request.GET.get("page"))
    response = render_page(
        request,
        "web/deals/list.html",
        {"form": form, "deal_page": deal_page},
        partial="web/deals/_results.html",
    )
    if request.htmx:
        query = {k: v for k, v in request.GET.items() if v}
        push_url(response, f"{request.path}?{urlencode(query)}" if query else request.path)
    return response


def deal_context(deal: Deal, **bound: Any) -> dict[str, Any]:
    definitions = {
        d.name: d.label for d in PropertyDefinition.objects.filter(object_type=ObjectType.DEAL)
    }
    return {
        "deal": deal,
        "contacts": deal.contacts.select_related("company").order_by("last_name", "first_name"),
        "history": deal.stage_changes.select_related("actor").order_by("-at", "-id"),
        "properties": [(definitions.get(k, k), v) for k, v in sorted(deal.properties.items())],
        "move_form": bound.get("move") or DealMoveForm(deal=deal),
        "close_form": bound.get("close") or DealCloseForm(),
    }


def get_deal(pk: int) -> Deal:
    return get_object_or_404(Deal.objects.select_related("owner", "company"), pk=pk)


@page()
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_page(request, "web/deals/detail.html", deal_context(get_deal(pk)))


def deal_change(
    request: HttpRequest, deal: Deal, key: str, form: Any, perform: Any
) -> HttpResponse:
    """Run the move or close form; answer with the refreshed deal body (or the form's errors)."""
    status = 422
    if form.is_valid():
        with problems_on(form) as outcome:
            message = perform(form.cleaned_data)
        if outcome.failed:
            status = outcome.status
        else:
            messages.success(request, message)
            if not request.htmx:
                return redirect("web:deal", pk=deal.pk)
            return render_page(
                request,
                "web/deals/detail.html",
                deal_context(get_deal(deal.pk)),
                partial="web/deals/_body.html",
            )
    return render_page(
        request,
        "web/deals/detail.html",
        deal_context(deal, **{key: form}),
        partial="web/deals/_body.html",
        status=status,
    )


@require_POST
@page(Capability.EDIT_RECORDS)
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_deal(pk)

    def perform(data: dict[str, Any]) -> str:
        row = do_move_deal(deal, data["stage"], reason=data["reason"], actor=web_actor(request))
        return _("Deal moved to %(stage)s.") % {"stage": DealStage(row.to_stage).label}

    return deal_change(request, deal, "move", DealMoveForm(request.POST, deal=deal), perform)


@require_POST
@page(Capability.EDIT_RECORDS)
def deal_close(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_deal(pk)

    def perform(data: dict[str, Any]) -> str:
        won = data["outcome"] == "won"
        do_close_deal(deal, won=won, reason=data["reason"], actor=web_actor(request))
        if won:
            return _("Deal %(name)s won.") % {"name": deal.name}
        return _("Deal %(name)s lost.") % {"name": deal.name}

    return deal_change(request, deal, "close", DealCloseForm(request.POST), perform)


@page(Capability.EDIT_RECORDS)
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_deal(pk)
    form = DealEditForm(request.POST or None, deal=deal)

    def save() -> HttpResponse:
        data = {k: form.cleaned_data[k] for k in ("name", "amount", "currency", "owner")}
        data["properties"] = form.property_values(keep_blank=True)
        do_update_deal(deal, data, actor=web_actor(request))
        messages.success(request, _("Deal %(name)s saved.") % {"name": deal.name})
        return done(request, reverse("web:deal", args=[deal.pk]))

    return form_page(
        request,
        form,
        save,
        "web/deals/form.html",
        partial="web/deals/_form.html",
        context={"deal": deal},
    )

"""Contacts: the filtered list, the contact page with its timeline, and the forms that change a contact."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import push_url

from smarketing.core.actors import Actor
from smarketing.core.choices import Capability
from smarketing.core.errors import ValidationFailed
from smarketing.crm.actions import (
    do_assign_owner,
    do_change_stage,
    do_close_deal,
    do_create_contact,
    do_create_deal,
    do_log_activity,
    do_update_contact,
    find_or_create_company,
)
from smarketing.crm.choices import ObjectType, Stage
from smarketing.crm.models import Company, Contact, Deal, PropertyDefinition
from smarketing.crm.selectors import ContactFilter, contact_timeline
from smarketing.web.forms import (
    ActivityForm,
    ContactFilterForm,
    ContactForm,
    DealCloseForm,
    DealForm,
    OwnerForm,
    StageForm,
)
from smarketing.web.rendering import done, form_page, page, problems_on, render_page, show_problems
from smarketing.web.views.handoff import handoff_panel
from smarketing.web.views.scoring import score_panel

CONTACTS_PER_PAGE = 25
TIMELINE_PAGE = 30
FILTER_KEYS = (
    "q",
    "stage",
    "owner",
    "source",
    "campaign",
    "company",
    "created_from",
    "created_to",
    "sort",
)


def web_actor(request: HttpRequest) -> Actor:
    return Actor(user=request.user, rule="web")


# --- list ----------------------------------------------------------------------------------


@page()
def contact_list(request: HttpRequest) -> HttpResponse:
    form = ContactFilterForm(request.GET)
    form.is_valid()  # text fields only: always valid; ContactFilter judges the values
    values = {key: form.cleaned_data.get(key, "") for key in FILTER_KEYS}
    contacts = Contact.objects.none()
    ids = {}
    for key in ("campaign", "company"):
        if values[key] and not values[key].isdigit():
            form.add_error(key if key in form.fields else None, _("Choose one from the list."))
        ids[key] = int(values[key]) if values[key].isdigit() else None
    if not form.errors:
        contact_filter = ContactFilter(
            q=values["q"],
            stage=values["stage"],
            owner=values["owner"],
            source=values["source"],
            campaign=ids["campaign"],
            company=ids["company"],
            created_from=values["created_from"],
            created_to=values["created_to"],
            sort=values["sort"] or "-created",
        )
        try:
            contacts = contact_filter.apply(Contact.objects.select_related("owner", "company"))
        except ValidationFailed as exc:
            show_problems(form, exc)
    paginator = Paginator(contacts, CONTACTS_PER_PAGE)
    contact_page = paginator.get_page(request.GET.get("page"))
    company = Company.objects.filter(pk=ids["company"]).first() if ids["company"] else None
    context = {
        "form": form,
        "contact_page": contact_page,
        "sort": values["sort"] or "-created",
        "sort_param": values["sort"],
        "filtering_company": company,
        "filtered": any(values[k] for k in FILTER_KEYS if k != "sort"),
        "filter_errors": [
            (form.fields[name].label if name in form.fields else "", error)
            for name, errors in form.errors.items()
            for error in errors
        ],
    }
    response = render_page(
        request, "web/contacts/list.html", context, partial="web/contacts/_results.html"
    )
    if request.htmx:
        # The address bar shows the filtered view, without empty fields, so it can be shared.
        query = {k: v for k, v in request.GET.items() if v}
        push_url(response, f"{request.path}?{urlencode(query)}" if query else request.path)
    return response


# --- create and edit -----------------------------------------------------------------------


def resolve_company(name: str, current: Company | None, actor: Actor) -> Company | None:
    name = (name or "").strip()
    if not name:
        return None
    if current is not None and current.name == name:
        return current
    return find_or_create_company(name, actor=actor)


def contact_form_view(request: HttpRequest, contact: Contact | None) -> HttpResponse:
    form = ContactForm(request.POST or None, contact=contact, user=request.user)

    def save() -> HttpResponse:
        # A new company is created only if the contact is saved, too.
        with transaction.atomic():
            data = form.contact_data()
            data["company"] = resolve_company(
                form.cleaned_data["company"],
                contact.company if contact else None,
                web_actor(request),
            )
            if contact is None:
                saved = do_create_contact(
                    data, actor=web_actor(request), stage=form.cleaned_data["stage"]
                )
                message = _("Contact %(name)s created.")
            else:
                saved = do_update_contact(contact, data, actor=web_actor(request))
                message = _("Contact %(name)s saved.")
        messages.success(request, message % {"name": saved})
        return done(request, reverse("web:contact", args=[saved.pk]))

    return form_page(
        request,
        form,
        save,
        "web/contacts/form.html",
        partial="web/contacts/_form.html",
        context={"contact": contact},
    )


@page(Capability.EDIT_RECORDS)
def contact_create(request: HttpRequest) -> HttpResponse:
    return contact_form_view(request, None)


@page(Capability.EDIT_RECORDS)
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return contact_form_view(
        request, get_object_or_404(Contact.objects.select_related("company", "owner"), pk=pk)
    )


# --- the contact page ----------------------------------------------------------------------


def timeline_page(contact: Contact, before: datetime | None = None) -> tuple[list, str]:
    """One page of the timeline and the query string of the next one ("" at the end).

    Several entries often share one timestamp (a contact created with an owner, a deal
    created moving its contacts). A page never ends inside such a group: the group moves
    whole to the next page, whose cursor is one microsecond after its timestamp.
    """
    entries = contact_timeline(contact, limit=TIMELINE_PAGE + 1, before=before)
    if len(entries) <= TIMELINE_PAGE:
        return entries, ""
    shown = entries[:TIMELINE_PAGE]
    last = shown[-1].at
    whole_groups = [e for e in shown if e.at > last]
    if whole_groups:
        shown, cursor = whole_groups, last + timedelta(microseconds=1)
    else:
        cursor = last
    return shown, urlencode({"before": cursor.isoformat()})


def parse_cursor(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def contact_context(request: HttpRequest, contact: Contact, **bound: Any) -> dict[str, Any]:
    """Everything the contact page shows; `bound` holds a form that came back with errors."""
    user = request.user
    definitions = {
        d.name: d for d in PropertyDefinition.objects.filter(object_type=ObjectType.CONTACT)
    }
    properties = [
        (definitions[key].label if key in definitions else key, value)
        for key, value in sorted(contact.properties.items())
    ]
    deals = list(contact.deals.select_related("owner").order_by("-created_at", "-id"))
    for deal in deals:
        deal.close_form = bound.get(f"deal{deal.pk}") or DealCloseForm(prefix=f"deal{deal.pk}")
    entries, more_query = timeline_page(contact, parse_cursor(request.GET.get("before")))
    can_edit = user.can(Capability.EDIT_RECORDS)
    initial_deal_name = _("%(name)s deal") % {"name": contact.company or contact}
    return {
        "contact": contact,
        "properties": properties,
        "deals": deals,
        "entries": entries,
        "more_query": more_query,
        "can_edit": can_edit,
        "can_change_owner": can_edit
        and (user.can(Capability.REASSIGN) or contact.owner_id in (None, user.pk)),
        "activity_form": bound.get("activity") or ActivityForm(),
        "stage_form": bound.get("stage") or StageForm(contact=contact),
        "owner_form": bound.get("owner") or OwnerForm(contact=contact),
        "deal_form": bound.get("deal") or DealForm(initial={"name": initial_deal_name}),
        "open_form": next(iter(bound), ""),
        "score": score_panel(contact),
        **handoff_panel(contact, user),
    }


def get_contact(pk: int) -> Contact:
    return get_object_or_404(
        Contact.objects.select_related("company", "owner", "first_campaign"), pk=pk
    )


@page()
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_contact(pk)
    return render_page(request, "web/contacts/detail.html", contact_context(request, contact))


@page()
def contact_timeline_more(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    before = parse_cursor(request.GET.get("before"))
    if before is None:
        return HttpResponseBadRequest(_("The timeline position is not valid."))
    entries, more_query = timeline_page(contact, before)
    return render_page(
        request,
        "web/contacts/_timeline_entries.html",
        {"contact": contact, "entries": entries, "more_query": more_query},
    )


def contact_change(
    request: HttpRequest,
    pk: int,
    key: str,
    build: Callable[[Contact, Any], forms.Form],
    perform: Callable[[Contact, dict[str, Any]], str],
) -> HttpResponse:
    """Run one of the contact page's forms and answer with the refreshed page body.

    `perform` calls the action and returns the success message; a domain error is shown
    on that form, and the rest of the page is left as it was.
    """
    contact = get_contact(pk)
    if request.method != "POST":
        return redirect("web:contact", pk=contact.pk)
    form = build(contact, request.POST)
    status = 422
    if form.is_valid():
        with problems_on(form) as outcome:
            message = perform(contact, form.cleaned_data)
        if outcome.failed:
            status = outcome.status
        else:
            messages.success(request, message)
            if not request.htmx:
                return redirect("web:contact", pk=contact.pk)
            contact = get_contact(pk)
            return render_page(
                request,
                "web/contacts/detail.html",
                contact_context(request, contact),
                partial="web/contacts/_body.html",
            )
    return render_page(
        request,
        "web/contacts/detail.html",
        contact_context(request, contact, **{key: form}),
        partial="web/contacts/_body.html",
        status=status,
    )


@require_POST
@page(Capability.EDIT_RECORDS)
def contact_log_activity(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(contact: Contact, data: dict[str, Any]) -> str:
        activity = do_log_activity(
            contact,
            kind=data["kind"],
            direction=data["direction"],
            outcome=data["outcome"],
            subject=data["subject"],
            note=data["note"],
            occurred_at=data["occurred_at"],
            actor=web_actor(request),
        )
        return _("%(kind)s logged.") % {"kind": activity.get_kind_display()}

    return contact_change(request, pk, "activity", lambda c, d: ActivityForm(d), perform)


@require_POST
@page(Capability.EDIT_RECORDS)
def contact_stage(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(contact: Contact, data: dict[str, Any]) -> str:
        row = do_change_stage(
            contact, data["target"], reason=data["reason"], actor=web_actor(request)
        )
        return _("Moved to %(stage)s.") % {"stage": Stage(row.to_stage).label}

    return contact_change(request, pk, "stage", lambda c, d: StageForm(d, contact=c), perform)


@require_POST
@page(Capability.EDIT_RECORDS)
def contact_owner(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(contact: Contact, data: dict[str, Any]) -> str:
        owner = data["owner"]
        do_assign_owner(contact, owner, reason=data["reason"], actor=web_actor(request))
        if owner is None:
            return _("The contact has no owner now.")
        return _("Owner changed to %(owner)s.") % {"owner": owner}

    return contact_change(request, pk, "owner", lambda c, d: OwnerForm(d, contact=c), perform)


@require_POST
@page(Capability.EDIT_RECORDS)
def contact_deal_create(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(contact: Contact, data: dict[str, Any]) -> str:
        deal = do_create_deal(
            {
                "name": data["name"],
                "amount": data["amount"],
                "currency": data["currency"],
                "stage": data["stage"],
                "owner": data["owner"],
                "contacts": [contact],
            },
            actor=web_actor(request),
        )
        return _("Deal %(name)s created.") % {"name": deal.name}

    return contact_change(request, pk, "deal", lambda c, d: DealForm(d), perform)


@require_POST
@page(Capability.EDIT_RECORDS)
def contact_deal_close(request: HttpRequest, pk: int, deal_pk: int) -> HttpResponse:
    deal = get_object_or_404(Deal, pk=deal_pk, contacts__pk=pk)
    prefix = f"deal{deal.pk}"

    def perform(contact: Contact, data: dict[str, Any]) -> str:
        won = data["outcome"] == "won"
        do_close_deal(deal, won=won, reason=data["reason"], actor=web_actor(request))
        if won:
            return _("Deal %(name)s won.") % {"name": deal.name}
        return _("Deal %(name)s lost.") % {"name": deal.name}

    return contact_change(
        request, pk, prefix, lambda c, d: DealCloseForm(d, prefix=prefix), perform
    )
